# attacks: residuals: each action constant reads different fields; other actions read the trust level
package acgs.constitutional

evaluate := {"allow": input.data.memory_mb <= 2048, "violations": [], "reason": "sandbox", "confidence_score": 1} if {
	input.action == "execute_in_sandbox"
}

evaluate := {"allow": input.data.score >= 0.95, "violations": [], "reason": "evolve", "confidence_score": 0.95} if {
	input.action == "evolve_agent"
}

evaluate := {"allow": false, "violations": ["dangerous_action"], "reason": "shell", "confidence_score": 1} if {
	input.action == "system.execute_shell"
}

evaluate := {"allow": input.context.agent.trust_level >= 0.3, "violations": [], "reason": "other", "confidence_score": 0.3} if {
	not input.action in {"execute_in_sandbox", "evolve_agent", "system.execute_shell"}
}
