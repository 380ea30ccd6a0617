# attacks: -0, 0.0 and 0: equal numbers with different texts, echoed back and compared
package acgs.constitutional

evaluate := {
	"allow": input.data.n == 0,
	"violations": [v | input.data.n < 0; v := "negative"],
	"reason": sprintf("%v|%v", [input.data.n, input.data.n * 1]),
	"confidence_score": input.data.n,
}
