# attacks: integers at and beyond 2^63 and 2^64, compared exactly (a float would round them)
package acgs.constitutional

violations contains "n_over_2_64" if input.data.n > 18446744073709551616

violations contains "n_is_2_63" if input.data.n == 9223372036854775808

violations contains "n_over_2_53" if input.data.n > 9007199254740992

evaluate := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": sprintf("n is %v", [input.data.n]),
	"confidence_score": 1,
}
