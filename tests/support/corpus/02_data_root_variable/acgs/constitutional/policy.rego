# attacks: a variable at the root of a data ref: data[p].limits.over, p from data.acgs.config.pkg
package acgs.constitutional

over if {
	p := data.acgs.config.pkg
	data[p].limits.over
}

default verdict := {"allow": true, "violations": []}

verdict := {"allow": false, "violations": ["memory_over_limit"]} if over

evaluate := object.union(verdict, {"reason": "limits", "confidence_score": 1.0}) if input.action == "execute_in_sandbox"

evaluate := {"allow": true, "violations": [], "reason": "not sandboxed", "confidence_score": 0.5} if {
	input.action != "execute_in_sandbox"
}
