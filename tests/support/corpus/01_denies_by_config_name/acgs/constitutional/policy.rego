# attacks: rules reached through a non-constant data ref: data.acgs.denies[name], some name in data.acgs.config.checks
package acgs.constitutional

failed contains name if {
	some name in data.acgs.config.checks
	data.acgs.denies[name]
}

evaluate := {
	"allow": count(failed) == 0,
	"violations": sort(failed),
	"reason": sprintf("%d checks failed", [count(failed)]),
	"confidence_score": 0.9,
} if input.action in data.acgs.config.safe_actions

evaluate := {"allow": false, "violations": ["unlisted"], "reason": "not listed", "confidence_score": 1} if {
	not input.action in data.acgs.config.safe_actions
}
