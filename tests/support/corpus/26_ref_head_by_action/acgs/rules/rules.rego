package acgs.rules

by_action["execute_in_sandbox"] := {"allow": allow, "violations": [], "reason": "sandbox", "confidence_score": 1} if {
	allow := input.data.memory_mb <= 2048
}

by_action["compute.analyze"] := {"allow": true, "violations": [], "reason": "analyze", "confidence_score": 1} if {
	input.context.agent.trust_level >= 0.3
}

by_action["data.read"] := {"allow": input.data.flags.debug == false, "violations": [], "reason": "read", "confidence_score": 1}
