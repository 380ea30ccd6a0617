# attacks: object.get(input, path, default): input read whole through a builtin, with a default for absence
package acgs.constitutional

memory := object.get(input, ["data", "memory_mb"], 0)

mode := object.get(input, ["context", "mode"], "none")

evaluate := {
	"allow": memory <= 2048,
	"violations": [v | memory > 2048; v := "memory_limit_exceeded"],
	"reason": sprintf("memory %v in mode %v", [memory, mode]),
	"confidence_score": 0.99,
} if input.action == "execute_in_sandbox"

evaluate := {"allow": mode == "strict", "violations": [], "reason": mode, "confidence_score": 0.5} if {
	input.action != "execute_in_sandbox"
}
