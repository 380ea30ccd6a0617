# attacks: the configuration (read for the actions to specialise on) holding numbers beyond a float's range
package acgs.constitutional

evaluate := {
	"allow": input.data.n < data.acgs.config.max_cost,
	"violations": [],
	"reason": sprintf("cost %v of at most %v", [input.data.n, data.acgs.config.max_cost]),
	"confidence_score": 1,
} if input.action in data.acgs.config.safe_actions

evaluate := {"allow": false, "violations": ["unsafe"], "reason": "unsafe", "confidence_score": 1} if {
	not input.action in data.acgs.config.safe_actions
}
