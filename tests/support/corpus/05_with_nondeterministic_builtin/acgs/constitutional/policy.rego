# attacks: `with` replacing a deterministic builtin by a non-deterministic one: upper(x) with upper as uuid.rfc4122
# oracle: nondeterministic (OPA answers a fresh token each time; a cached answer repeats one)
package acgs.constitutional

token := t if {
	t := upper(sprintf("%v", [input.agent_id])) with upper as uuid.rfc4122
}

evaluate := {"allow": input.action == "compute.analyze", "violations": [], "reason": token, "confidence_score": 1}
