# attacks: membership in a partial set of another package, looked up with a variable element
package acgs.constitutional

failing contains name if {
	some name in data.acgs.config.checked
	data.acgs.checks.failed[name]
}

evaluate := {"allow": count(failing) == 0, "violations": sort(failing), "reason": "checks", "confidence_score": 0.85}
