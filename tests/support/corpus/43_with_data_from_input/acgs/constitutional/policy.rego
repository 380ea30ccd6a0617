# attacks: `with data.x as <input value>`: a data document replaced by a value read from the input
package acgs.constitutional

over if input.data.memory_mb > data.acgs.config.limit

over_n if over with data.acgs.config.limit as input.data.n

evaluate := {
	"allow": not_over,
	"violations": [v | over_n; v := "memory_over_n"],
	"reason": "limits",
	"confidence_score": 1,
}

default not_over := false

not_over if not over
