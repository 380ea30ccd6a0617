# attacks: rules reached only from inside `every`: every name in data.acgs.config.required { data.acgs.helpers[name] }
package acgs.constitutional

all_pass if {
	every name in data.acgs.config.required {
		data.acgs.helpers[name]
	}
}

default evaluate := {"allow": false, "violations": ["requirements_not_met"], "reason": "every failed", "confidence_score": 0.7}

evaluate := {"allow": true, "violations": [], "reason": "every passed", "confidence_score": 1} if {
	input.action in data.acgs.config.safe_actions
	all_pass
}
