# attacks: input.context[k] with k read from the input itself (input.data.x names a context field)
package acgs.constitutional

picked := input.context[input.data.x]

default evaluate := {"allow": false, "violations": ["nothing_picked"], "reason": "undefined", "confidence_score": 0}

evaluate := {
	"allow": picked == "strict",
	"violations": [],
	"reason": sprintf("picked %v", [picked]),
	"confidence_score": 1,
}
