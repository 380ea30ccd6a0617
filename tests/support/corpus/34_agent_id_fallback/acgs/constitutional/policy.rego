# attacks: input.agent_id, which the service takes from context.agent.id when the body has none
package acgs.constitutional

evaluate := {
	"allow": input.agent_id == "agent-1",
	"violations": [v | input.agent_id == null; v := "no_agent"],
	"reason": sprintf("agent %v", [input.agent_id]),
	"confidence_score": 0.5,
} if input.action == "compute.analyze"

evaluate := {"allow": false, "violations": [], "reason": sprintf("%v", [input.agent_id]), "confidence_score": 0} if {
	input.action != "compute.analyze"
}
