# attacks: json.marshal(input.data): the whole of input.data, as text, in the decision
package acgs.constitutional

evaluate := {
	"allow": input.action == "compute.analyze",
	"violations": [],
	"reason": json.marshal(input.data),
	"confidence_score": 0.25,
} if input.action in {"compute.analyze", "data.read"}

evaluate := {"allow": false, "violations": [json.marshal(input.context)], "reason": "other", "confidence_score": 0.25} if {
	not input.action in {"compute.analyze", "data.read"}
}
