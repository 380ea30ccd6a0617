# attacks: `with input as {...}`: another package's rules evaluated on an input rebuilt from fields of this one
package acgs.constitutional

verdict := v if {
	v := data.acgs.lib.verdict with input as {"action": "execute_in_sandbox", "data": input.context.agent}
}

evaluate := {"allow": verdict == "ok", "violations": [], "reason": verdict, "confidence_score": 1} if {
	input.action in {"compute.analyze", "data.read"}
}

evaluate := {"allow": false, "violations": ["other"], "reason": data.acgs.lib.verdict, "confidence_score": 1} if {
	not input.action in {"compute.analyze", "data.read"}
}
