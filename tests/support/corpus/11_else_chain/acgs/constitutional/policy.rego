# attacks: an else chain reading a different input field at each step
package acgs.constitutional

level := "high" if {
	input.data.n > 10
} else := "strict" if {
	input.context.mode == "strict"
} else := "trusted" if {
	input.context.agent.trust_level >= 0.8
} else := "low"

evaluate := {
	"allow": level in {"strict", "trusted"},
	"violations": [v | not level in {"strict", "trusted"}; v := sprintf("level_%s", [level])],
	"reason": level,
	"confidence_score": 0.8,
}
