# attacks: negations of unknown input under a known action (partial evaluation's support rules)
package acgs.constitutional

violations contains "sandbox_required" if not input.context.environment.sandbox_enabled == true

violations contains "audit_required" if not input.context.environment.audit_enabled == true

violations contains "debug_on" if input.data.flags.debug

evaluate := {"allow": count(violations) == 0, "violations": sort(violations), "reason": "env", "confidence_score": 1} if {
	input.action in {"compute.analyze", "execute_in_sandbox"}
}

evaluate := {"allow": false, "violations": ["other"], "reason": "other", "confidence_score": 1} if {
	not input.action in {"compute.analyze", "execute_in_sandbox"}
}
