package acgs.lib

acceptable(score) if {
	score >= 0.5
	input.context.agent.trust_level >= 0.5
} else := false

problems(score) := [p | some p in ["low_score", "low_trust"]; failing(p, score)]

failing("low_score", score) if score < 0.5

failing("low_trust", _) if not input.context.agent.trust_level >= 0.5
