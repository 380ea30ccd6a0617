# attacks: an evaluation error (conflicting complete rules) for some inputs, fine for others
package acgs.constitutional

evaluate := {"allow": true, "violations": [], "reason": "n over 5", "confidence_score": 1} if input.data.n > 5

evaluate := {"allow": false, "violations": ["n_over_10"], "reason": "n over 10", "confidence_score": 1} if {
	input.data.n > 10
}

evaluate := {"allow": false, "violations": ["n_small"], "reason": "small", "confidence_score": 1} if {
	input.action == "compute.analyze"
	not input.data.n > 5
}
