# attacks: results holding numbers no float keeps: 1e400, 30-digit decimals and integers, from Rego and data.json
package acgs.constitutional

evaluate := {
	"allow": true,
	"violations": [],
	"reason": "precise",
	"confidence_score": data.acgs.config.precise,
	"huge": data.acgs.config.huge,
} if input.action in data.acgs.config.safe_actions

evaluate := {"allow": false, "violations": ["overflow"], "reason": "huge", "confidence_score": 1e400} if {
	input.action == "evolve_agent"
}

evaluate := {"allow": false, "violations": ["tiny"], "reason": "tiny", "confidence_score": 1e-400} if {
	not input.action in data.acgs.config.safe_actions
	input.action != "evolve_agent"
}
