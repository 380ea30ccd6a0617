# attacks: input.context read whole (count, keys), so that every field of it, request ids included, matters
package acgs.constitutional

keys := sort([k | some k, _ in input.context])

evaluate := {
	"allow": count(input.context) <= 4,
	"violations": [sprintf("context_has_%d_fields", [count(input.context)])],
	"reason": concat(",", keys),
	"confidence_score": 0.4,
}
