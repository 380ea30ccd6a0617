package acgs.lib

default verdict := "none"

verdict := "ok" if {
	input.action == "execute_in_sandbox"
	input.data.trust_level >= 0.5
}

verdict := "low" if {
	input.action == "execute_in_sandbox"
	input.data.trust_level < 0.5
}
