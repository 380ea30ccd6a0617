# attacks: input.data[k] with k from data: a dynamic key into input
package acgs.constitutional

exceeded contains k if {
	some k in data.acgs.config.watched
	input.data[k] > data.acgs.config.limits[k]
}

evaluate := {
	"allow": count(exceeded) == 0,
	"violations": sort(exceeded),
	"reason": sprintf("%d watched fields over their limits", [count(exceeded)]),
	"confidence_score": 0.95,
}
