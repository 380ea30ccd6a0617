# attacks: input.data echoed back whole, as a value and as json.marshal text (the property tests' policy)
package acgs.constitutional

evaluate := {
	"allow": input.action == "compute.analyze",
	"violations": [],
	"reason": json.marshal(input.data),
	"confidence_score": 1,
	"echo": input.data,
}
