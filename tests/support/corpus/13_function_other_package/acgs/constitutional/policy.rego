# attacks: a function in another package that reads input itself, beside its argument
package acgs.constitutional

import data.acgs.lib

evaluate := {
	"allow": lib.acceptable(input.data.score),
	"violations": lib.problems(input.data.score),
	"reason": "scored",
	"confidence_score": 0.5,
}
