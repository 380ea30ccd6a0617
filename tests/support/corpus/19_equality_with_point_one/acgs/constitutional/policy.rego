# attacks: decimal equality: score == 0.1, score + 0.2 == 0.3 (exact in OPA, not in binary floats)
package acgs.constitutional

violations contains "score_is_a_tenth" if input.data.score == 0.1

violations contains "sum_is_three_tenths" if input.data.score + 0.2 == 0.3

violations contains "score_below_2048_exactly" if input.data.score < 2048.0000000000001

evaluate := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": "decimal checks",
	"confidence_score": 0.1,
}
