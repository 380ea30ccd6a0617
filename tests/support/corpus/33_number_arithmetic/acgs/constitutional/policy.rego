# attacks: arithmetic on input numbers (big integers, decimals) and its results in the decision
package acgs.constitutional

evaluate := {
	"allow": (input.data.n + 1) > input.data.n,
	"violations": [sprintf("%v", [input.data.n * 3])],
	"reason": sprintf("%v %v %v", [input.data.n + 1, round(input.data.score * 100), input.data.memory_mb / 3]),
	"confidence_score": input.data.score * 2,
}
