# attacks: a threshold just above a limit (2048.0000000000001 > 2048), per action through residuals
package acgs.constitutional

violations contains "memory_limit_exceeded" if input.data.memory_mb > 2048

violations contains "trust_level_too_low" if input.context.agent.trust_level < 0.3

evaluate := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": "sandbox limits",
	"confidence_score": 1.0,
} if input.action in data.acgs.config.sandbox_actions

evaluate := {"allow": false, "violations": ["not_a_sandbox_action"], "reason": "other", "confidence_score": 1.0} if {
	not input.action in data.acgs.config.sandbox_actions
}
