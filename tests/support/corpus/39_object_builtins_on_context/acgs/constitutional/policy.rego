# attacks: object builtins on input objects: object.keys, object.remove, object.union
package acgs.constitutional

evaluate := {
	"allow": object.keys(input.data.flags) == {"debug", "network"},
	"violations": sort(object.keys(object.remove(input.context, ["request_id"]))),
	"reason": json.marshal(object.union(input.context.environment, {"checked": true})),
	"confidence_score": 0.5,
}
