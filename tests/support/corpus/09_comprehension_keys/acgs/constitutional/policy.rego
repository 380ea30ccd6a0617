# attacks: comprehensions over input.data with variable keys; numbers compared across types
package acgs.constitutional

large := {k | some k, v in input.data; is_number(v); v > 100}

strings := [k | some k, v in input.data; is_string(v)]

evaluate := {
	"allow": count(large) == 0,
	"violations": sort([sprintf("large:%s", [k]) | some k in large]),
	"reason": sprintf("strings: %v", [sort(strings)]),
	"confidence_score": count(strings),
} if input.action in {"compute.analyze", "execute_in_sandbox"}

evaluate := {"allow": false, "violations": ["other"], "reason": "other", "confidence_score": 0} if {
	not input.action in {"compute.analyze", "execute_in_sandbox"}
}
