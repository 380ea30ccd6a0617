# The constitutional policy: ../shared/spec/POLICY.md is its specification.
#
# Every rule reads input through constant paths (input.context.agent.trust_level, never
# input.context as a whole): the decision cache keys on exactly the paths read here, so a
# rule that read a whole object would put per-request noise (request ids) into every key.
#
# The shape also serves evaluation speed (`policy-engine bench engine` measures it; the
# previous shape was 1.1-3.7x slower per action class in `go test -bench Eval`, bridge/):
# - the three special actions are matched with `input.action == "..."`, which OPA's rule
#   index answers without evaluating the other branches;
# - each branch refers to its violation set once and hands the sorted list to functions:
#   every reference to a partial set costs a lookup, and partial evaluation copies the
#   reference into each place a function uses its argument;
# - a rule or function with `else` is one that partial evaluation keeps whole instead of
#   inlining it, so "the number, else a default", fixed3 and the allowed-or-denied
#   decisions do not multiply the residual by their cases;
# - each decision is an object literal in its branch, not the result of a shared helper
#   function: a function call costs OPA about 8 µs, a fifth of a whole safe decision;
# - the constitutional confidence comes from a table, not from arithmetic: OPA computes
#   numbers as arbitrary-precision decimals, and three steps cost about 5 µs;
# - a threshold on a number whose default passes it is checked in the rule body, not
#   through a "the number, else the default" rule (a rule costs about 4 µs); a second body
#   through that rule, guarded by "the default fails", keeps the rule whole for other data,
#   and partial evaluation drops it while the default passes.
package acgs.constitutional

import data.acgs.config

# The decision: exactly one branch decides, the first that applies. The branches are
# mutually exclusive rules, not an else chain, so that partial evaluation with a known
# action keeps only that action's branch.
evaluate := evolution_decision(sort(evolution_violations)) if input.action == "evolve_agent"

evaluate := sandbox_decision(sort(sandbox_violations)) if input.action == "execute_in_sandbox"

evaluate := review_decision(sort(review_violations)) if input.action == "require_human_review"

evaluate := listed_decision if not special_action

special_action if input.action in {"evolve_agent", "execute_in_sandbox", "require_human_review"}

listed_decision := {
	"allow": false,
	"violations": ["dangerous_action"],
	"reason": sprintf("Dangerous action blocked: %v", [input.action]),
	"confidence_score": 1.0,
	"policy_version": config.policy_version,
	"rule": "dangerous",
} if dangerous

listed_decision := safe_decision(sort(safe_violations)) if {
	not dangerous
	safe
}

listed_decision := constitutional_decision(sort(constitutional_violations)) if {
	not dangerous
	not safe
	namespaced
}

listed_decision := {
	"allow": false,
	"violations": ["default_deny"],
	"reason": "No matching policy found",
	"confidence_score": 1.0,
	"policy_version": config.policy_version,
	"rule": "default",
} if {
	not dangerous
	not safe
	not namespaced
}

dangerous if input.action in config.dangerous_actions

safe if input.action in config.safe_actions

namespaced if {
	is_string(input.action)
	contains(input.action, ".")
}

# 1. Evolution.

# violations: sorted, without duplicates (so are the other branches').
evolution_decision(violations) := {
	"allow": violations == [],
	"violations": violations,
	"reason": sprintf(
		"Fitness: %s, Safety: %s, Compliance: %s",
		[fixed3(fitness_improvement), fixed3(safety_score), fixed3(constitutional_compliance)],
	),
	"confidence_score": 0.95,
	"policy_version": config.policy_version,
	"rule": "evolution",
}

evolution_violations contains "fitness_improvement_below_threshold" if {
	fitness_improvement < config.evolution_thresholds.fitness_improvement
}

evolution_violations contains "safety_score_below_threshold" if {
	safety_score < config.evolution_thresholds.safety_score
}

evolution_violations contains "constitutional_compliance_below_threshold" if {
	constitutional_compliance < config.evolution_thresholds.constitutional_compliance
}

# fixed3 formats a number with three decimals; sprintf's %f rejects integer-valued numbers.
fixed3(x) := sprintf("%d.000", [floor(x)]) if floor(x) == x

else := sprintf("%.3f", [x])

# 2. Sandbox.

sandbox_decision(violations) := {
	"allow": violations == [],
	"violations": violations,
	"reason": sprintf(
		"Memory: %v MB, CPU: %v cores, Time: %v s, Network: %v",
		[memory_mb, cpu_cores, execution_time_seconds, network_access],
	),
	"confidence_score": 1.0,
	"policy_version": config.policy_version,
	"rule": "sandbox",
}

sandbox_violations contains "memory_limit_exceeded" if memory_mb > config.sandbox_limits.memory_mb

sandbox_violations contains "cpu_limit_exceeded" if cpu_cores > config.sandbox_limits.cpu_cores

sandbox_violations contains "execution_time_exceeded" if {
	execution_time_seconds > config.sandbox_limits.execution_time_seconds
}

sandbox_violations contains "network_access_not_allowed" if network_access

# 3. Human review.

review_decision(violations) := {
	"allow": violations == [],
	"violations": violations,
	"reason": sprintf("Risk: %s, Violations: %v, Novel: %v", [fixed3(risk_score), policy_violations, novel_behavior]),
	"confidence_score": 0.9,
	"policy_version": config.policy_version,
	"rule": "human_review",
}

review_violations contains "high_risk_score" if risk_score >= config.review_thresholds.risk_score

review_violations contains "policy_violations_detected" if {
	policy_violations > config.review_thresholds.policy_violations
}

review_violations contains "novel_behavior_detected" if novel_behavior

# 4. Dangerous actions: the first case of listed_decision.

# 5. Safe actions: only the trust level matters.

safe_decision(violations) := {
	"allow": true,
	"violations": violations,
	"reason": "Safe action permitted",
	"confidence_score": 1.0,
	"policy_version": config.policy_version,
	"rule": "safe",
} if violations == []

else := {
	"allow": false,
	"violations": violations,
	"reason": sprintf("Safe action denied: %s", [concat(", ", violations)]),
	"confidence_score": 1.0,
	"policy_version": config.policy_version,
	"rule": "safe",
}

safe_violations contains "trust_level_too_low" if trust_level < config.min_trust_safe

# 6. The constitutional principles.

constitutional_decision(violations) := {
	"allow": true,
	"violations": violations,
	"reason": "All constitutional checks passed",
	"confidence_score": 1,
	"policy_version": config.policy_version,
	"rule": "constitutional",
} if violations == []

else := {
	"allow": false,
	"violations": violations,
	"reason": sprintf("Constitutional checks failed: %s", [concat(", ", violations)]),
	"confidence_score": confidence(count(violations)),
	"policy_version": config.policy_version,
	"rule": "constitutional",
}

# max(0, 1 - 0.1 * n), for n violations.
confidence(n) := c if c := [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1][n]

else := 0

constitutional_violations contains "sandbox_required" if {
	not input.context.environment.sandbox_enabled == true
}

constitutional_violations contains "trust_level_too_low" if trust_level < config.min_trust_general

constitutional_violations contains sprintf("resource_limit_exceeded:%s", [name]) if {
	some name, limit in config.resource_limits
	requested := input.context.agent.requested_resources[name]
	exceeds(requested, limit)
}

constitutional_violations contains "explanation_required" if {
	input.action in config.explanation_required
	not explanation_sufficient
}

constitutional_violations contains "audit_not_enabled" if {
	not input.context.environment.audit_enabled == true
}

constitutional_violations contains "responsible_party_missing" if not responsible_party_named

# The next three checks read a number in the body; their second body handles a value that
# is not a number, which takes the default, and only applies when that default fails the
# threshold (never with the shipped data: partial evaluation drops it).
constitutional_violations contains "harm_risk_too_high" if {
	x := input.context.harm_risk_assessment
	is_number(x)
	x > config.max_harm_risk
}

constitutional_violations contains "harm_risk_too_high" if {
	0 > config.max_harm_risk
	harm_risk > config.max_harm_risk
}

constitutional_violations contains "benefit_too_low" if {
	x := input.context.benefit_assessment
	is_number(x)
	x < config.min_benefit
}

constitutional_violations contains "benefit_too_low" if {
	0.5 < config.min_benefit
	benefit < config.min_benefit
}

constitutional_violations contains "fairness_concern" if {
	input.context.affects_protected_groups == true
	x := input.context.fairness_assessment
	is_number(x)
	x < config.min_fairness
}

constitutional_violations contains "fairness_concern" if {
	1.0 < config.min_fairness
	input.context.affects_protected_groups == true
	fairness < config.min_fairness
}

constitutional_violations contains "consent_required" if {
	input.context.overrides_user_preference == true
	not input.context.user_consent == true
}

# A requested resource that is not a number cannot be checked against its limit: deny.
exceeds(requested, limit) if {
	is_number(requested)
	requested > limit
} else if not is_number(requested)

explanation_sufficient if {
	is_string(input.context.explanation)
	count(input.context.explanation) >= config.min_explanation_chars
}

responsible_party_named if {
	is_string(input.context.responsible_party)
	input.context.responsible_party != ""
}

# The numbers and flags the branches read: the value when it has the right type, else the
# default the specification gives.

fitness_improvement := x if {
	x := input.data.fitness_improvement
	is_number(x)
} else := 0

safety_score := x if {
	x := input.data.safety_score
	is_number(x)
} else := 0

constitutional_compliance := x if {
	x := input.data.constitutional_compliance
	is_number(x)
} else := 0

memory_mb := x if {
	x := input.data.memory_mb
	is_number(x)
} else := 0

cpu_cores := x if {
	x := input.data.cpu_cores
	is_number(x)
} else := 0

execution_time_seconds := x if {
	x := input.data.execution_time_seconds
	is_number(x)
} else := 0

network_access if input.data.network_access == true

else := false

risk_score := x if {
	x := input.data.risk_score
	is_number(x)
} else := 0

policy_violations := x if {
	x := input.data.policy_violations
	is_number(x)
} else := 0

novel_behavior if input.data.novel_behavior == true

else := false

trust_level := x if {
	x := input.context.agent.trust_level
	is_number(x)
} else := 0

harm_risk := x if {
	x := input.context.harm_risk_assessment
	is_number(x)
} else := 0

benefit := x if {
	x := input.context.benefit_assessment
	is_number(x)
} else := 0.5

fairness := x if {
	x := input.context.fairness_assessment
	is_number(x)
} else := 1.0
