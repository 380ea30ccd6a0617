# attacks: walk(input): the whole input is read, and a number anywhere in it decides
package acgs.constitutional

big contains sprintf("%v", [path]) if {
	walk(input, [path, value])
	is_number(value)
	value > 2048
}

evaluate := {
	"allow": count(big) == 0,
	"violations": sort(big),
	"reason": sprintf("%d numbers over 2048", [count(big)]),
	"confidence_score": 1,
}
