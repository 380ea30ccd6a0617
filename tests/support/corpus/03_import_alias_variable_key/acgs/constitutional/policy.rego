# attacks: rules reached through an import alias and a variable key: import data.acgs.helpers as h; h[n]
package acgs.constitutional

import data.acgs.helpers as h

missing contains n if {
	some n in data.acgs.config.helper_names
	not h[n]
}

evaluate := {
	"allow": count(missing) == 0,
	"violations": sort([sprintf("not_%s", [n]) | some n in missing]),
	"reason": "environment checks",
	"confidence_score": 0.8,
}
