# attacks: `with input.x as ...`: a rule evaluated on a replaced input field, fed from another field
package acgs.constitutional

over if input.data.memory_mb > 2048

over_if_n if {
	over with input.data.memory_mb as input.data.n
}

violations contains "memory_over_limit" if over

violations contains "n_over_limit" if over_if_n

evaluate := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": "memory and n",
	"confidence_score": 1,
} if input.action == "execute_in_sandbox"

evaluate := {"allow": true, "violations": [], "reason": "not sandboxed", "confidence_score": 1} if {
	input.action != "execute_in_sandbox"
}
