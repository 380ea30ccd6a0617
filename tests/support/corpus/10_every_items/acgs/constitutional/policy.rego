# attacks: every over an input array, with array elements of any type (presence and type changes)
package acgs.constitutional

small_numbers if {
	every v in input.data.items {
		is_number(v)
		v < 100
	}
}

default evaluate := {"allow": false, "violations": ["items_not_small_numbers"], "reason": "every failed", "confidence_score": 0.6}

evaluate := {"allow": true, "violations": [], "reason": "every passed", "confidence_score": 0.9} if {
	input.action == "compute.analyze"
	small_numbers
}
