# attacks: a decision echoing input numbers: confidence_score is input.data.score, whatever its text
package acgs.constitutional

evaluate := {
	"allow": input.action == "compute.analyze",
	"violations": [],
	"reason": "echo",
	"confidence_score": input.data.score,
	"echo": [input.data.n, input.data.memory_mb],
}
