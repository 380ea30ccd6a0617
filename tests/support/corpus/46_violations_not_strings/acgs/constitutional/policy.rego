# attacks: violations that are not strings (numbers, objects): the ACGS API writes each as its JSON text
package acgs.constitutional

evaluate := {
	"allow": false,
	"violations": [input.data.n, {"score": input.data.score, "x": input.data.x}, "plain"],
	"reason": "violations of every type",
	"confidence_score": 0.5,
} if input.action in {"compute.analyze", "execute_in_sandbox"}

evaluate := {"allow": false, "violations": input.context.agent, "reason": "not a list", "confidence_score": 0.5} if {
	not input.action in {"compute.analyze", "execute_in_sandbox"}
}
