# attacks: the type and presence of input.data and input.context (object, list, string, null, absent)
package acgs.constitutional

default data_type := "absent"

data_type := type_name(input.data)

default context_type := "absent"

context_type := type_name(input.context)

default size := -1

size := count(input.data)

evaluate := {
	"allow": data_type == "object",
	"violations": [v | data_type != "object"; v := sprintf("data_is_%s", [data_type])],
	"reason": sprintf("data %s of %d, context %s", [data_type, size, context_type]),
	"confidence_score": size,
}
