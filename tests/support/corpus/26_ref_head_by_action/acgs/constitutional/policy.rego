# attacks: rules with ref heads looked up by the input: data.acgs.rules.by_action[input.action]
package acgs.constitutional

default evaluate := {"allow": false, "violations": ["no_rule_for_action"], "reason": "unknown", "confidence_score": 0}

evaluate := data.acgs.rules.by_action[input.action]
