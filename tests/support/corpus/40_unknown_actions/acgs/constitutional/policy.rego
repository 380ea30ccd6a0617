# attacks: actions learned at run time (not constants of the policy) and one compared constant
package acgs.constitutional

evaluate := {"allow": false, "violations": ["x_namespace"], "reason": input.action, "confidence_score": 1} if {
	startswith(input.action, "x.")
	input.action != "x.allowed"
}

evaluate := {"allow": true, "violations": [], "reason": "x.allowed", "confidence_score": 1} if input.action == "x.allowed"

evaluate := {
	"allow": input.context.agent.trust_level >= 0.5,
	"violations": [],
	"reason": sprintf("%v with %v", [input.action, input.context.environment]),
	"confidence_score": 0.5,
} if not startswith(input.action, "x.")
