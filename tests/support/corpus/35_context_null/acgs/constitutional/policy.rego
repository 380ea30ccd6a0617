# attacks: input.context null, {} or missing fields: null-ness and emptiness of objects the key projection cuts
package acgs.constitutional

default null_context := false

null_context if is_null(input.context)

empty_environment if input.context.environment == {}

evaluate := {
	"allow": not_null,
	"violations": [v | empty_environment; v := "empty_environment"],
	"reason": sprintf("null=%v", [null_context]),
	"confidence_score": 1,
}

default not_null := false

not_null if not null_context
