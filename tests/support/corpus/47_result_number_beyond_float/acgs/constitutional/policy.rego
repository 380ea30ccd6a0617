# attacks: a decision with a number beyond a float's range in a field the ACGS API does not return
package acgs.constitutional

evaluate := {
	"allow": input.context.agent.trust_level >= 0.3,
	"violations": [],
	"reason": "limits attached",
	"confidence_score": 1,
	"limits": data.acgs.limits,
} if input.action in data.acgs.config.safe_actions

evaluate := {"allow": false, "violations": ["unsafe"], "reason": "unsafe", "confidence_score": 1} if {
	not input.action in data.acgs.config.safe_actions
}
