# attacks: the whole input (but the per-request ids) echoed back: every value, number and escape exactly
package acgs.constitutional

evaluate := {
	"allow": input.action == "compute.analyze",
	"violations": [],
	"reason": json.marshal(object.remove(input, ["evaluation_id", "timestamp"])),
	"confidence_score": 1,
	"echo": object.remove(input, ["evaluation_id", "timestamp"]),
}
