# attacks: data.acgs[m].blocked: a variable package name, m from data.acgs.config.modules
package acgs.constitutional

blocked_by contains m if {
	some m in data.acgs.config.modules
	data.acgs[m].blocked
}

evaluate := {
	"allow": count(blocked_by) == 0,
	"violations": sort(blocked_by),
	"reason": "modules",
	"confidence_score": 0.9,
}
