# attacks: refs through array indices (items[0], items[2].k) and through object keys taken from data
package acgs.constitutional

violations contains "first_item_large" if input.data.items[0] > 1

violations contains "third_item_k" if input.data.items[2].k == "v"

violations contains sprintf("resource:%s", [name]) if {
	some name, limit in data.acgs.config.resource_limits
	input.context.agent.requested_resources[name] > limit
}

evaluate := {"allow": count(violations) == 0, "violations": sort(violations), "reason": "paths", "confidence_score": 1}
