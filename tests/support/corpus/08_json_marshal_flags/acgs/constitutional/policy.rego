# attacks: json.marshal of an input object: the decision carries the input's exact text (numbers, escapes)
package acgs.constitutional

evaluate := {
	"allow": input.data.flags.network != true,
	"violations": [],
	"reason": json.marshal(input.data.flags),
	"confidence_score": 0.75,
}
