# attacks: residuals for odd action names from the configuration (empty, unicode, quotes, spaces)
package acgs.constitutional

evaluate := {
	"allow": input.context.agent.trust_level >= 0.5,
	"violations": [],
	"reason": sprintf("listed %q", [input.action]),
	"confidence_score": 0.5,
} if input.action in data.acgs.config.allowed

evaluate := {"allow": false, "violations": ["unlisted"], "reason": sprintf("%q", [input.action]), "confidence_score": 0} if {
	not input.action in data.acgs.config.allowed
}
