# attacks: sprintf("%v") of input values: the decision's text depends on the exact number and string
package acgs.constitutional

evaluate := {
	"allow": input.data.x == "hello",
	"violations": [sprintf("%v", [input.data.n])],
	"reason": sprintf("x=%v memory=%v items=%v", [input.data.x, input.data.memory_mb, input.data.items]),
	"confidence_score": 0.5,
}
