# attacks: input numbers compared with numbers from data.json that no float keeps (2^64+1, 30 digits)
package acgs.constitutional

violations contains "n_is_big" if input.data.n == data.acgs.config.big

violations contains "score_over_precise" if input.data.score > data.acgs.config.precise

violations contains "memory_over_limit" if input.data.memory_mb > data.acgs.config.memory_limit

evaluate := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": "data numbers",
	"confidence_score": data.acgs.config.precise,
}
