# attacks: strings: unicode, escapes, lone surrogates, lengths in code points, echoed back
package acgs.constitutional

evaluate := {
	"allow": count(input.data.x) <= 5,
	"violations": [v | startswith(input.data.x, "é"); v := "starts_with_e_acute"],
	"reason": sprintf("%s/%d/%s", [input.data.x, count(input.data.x), upper(input.data.x)]),
	"confidence_score": count(input.data.x),
}
