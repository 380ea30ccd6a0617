# attacks: a non-deterministic builtin on a constant argument, which partial evaluation could fold into the residual
# oracle: nondeterministic (OPA answers a fresh token each time; a cached or folded answer repeats one)
package acgs.constitutional

evaluate := {"allow": true, "violations": [], "reason": uuid.rfc4122("seed"), "confidence_score": 1} if {
	input.action in data.acgs.config.safe_actions
	input.context.agent.trust_level >= 0.3
}

evaluate := {"allow": false, "violations": ["unsafe"], "reason": uuid.rfc4122("seed"), "confidence_score": 1} if {
	not input.action in data.acgs.config.safe_actions
}
