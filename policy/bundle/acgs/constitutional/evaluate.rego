# The constitutional policy: ../shared/spec/POLICY.md is its specification.
#
# Every rule reads input through constant paths (input.context.agent.trust_level, never
# input.context as a whole): the decision cache keys on exactly the paths read here, so a
# rule that read a whole object would put per-request noise (request ids) into every key.
package acgs.constitutional

cfg := data.acgs.config

# The decision: exactly one branch decides, the first that applies. Each branch builds its
# whole document, so that evaluation walks this chain once.
evaluate := decision("evolution", evolution_violations, 0.95, reason) if {
	input.action == "evolve_agent"
	values := [fixed3(fitness_improvement), fixed3(safety_score), fixed3(constitutional_compliance)]
	reason := sprintf("Fitness: %s, Safety: %s, Compliance: %s", values)
} else := decision("sandbox", sandbox_violations, 1.0, reason) if {
	input.action == "execute_in_sandbox"
	values := [memory_mb, cpu_cores, execution_time_seconds, network_access]
	reason := sprintf("Memory: %v MB, CPU: %v cores, Time: %v s, Network: %v", values)
} else := decision("human_review", review_violations, 0.9, reason) if {
	input.action == "require_human_review"
	values := [fixed3(risk_score), policy_violations, novel_behavior]
	reason := sprintf("Risk: %s, Violations: %v, Novel: %v", values)
} else := decision("dangerous", {"dangerous_action"}, 1.0, reason) if {
	input.action in cfg.dangerous_actions
	reason := sprintf("Dangerous action blocked: %v", [input.action])
} else := decision("safe", safe_violations, 1.0, summary("Safe action permitted", "Safe action denied", safe_violations)) if {
	input.action in cfg.safe_actions
} else := decision("constitutional", constitutional_violations, confidence, reason) if {
	is_string(input.action)
	contains(input.action, ".")
	confidence := max([0, 1 - (0.1 * count(constitutional_violations))])
	reason := summary("All constitutional checks passed", "Constitutional checks failed", constitutional_violations)
} else := decision("default", {"default_deny"}, 1.0, "No matching policy found")

decision(rule, violations, confidence, reason) := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": reason,
	"confidence_score": confidence,
	"policy_version": cfg.policy_version,
	"rule": rule,
}

summary(passed, failed, violations) := passed if {
	count(violations) == 0
} else := sprintf("%s: %s", [failed, concat(", ", sort(violations))])

# fixed3 formats a number with three decimals; sprintf's %f rejects integer-valued numbers.
fixed3(x) := sprintf("%d.000", [floor(x)]) if floor(x) == x

else := sprintf("%.3f", [x])

# 1. Evolution.

evolution_violations contains "fitness_improvement_below_threshold" if {
	fitness_improvement < cfg.evolution_thresholds.fitness_improvement
}

evolution_violations contains "safety_score_below_threshold" if {
	safety_score < cfg.evolution_thresholds.safety_score
}

evolution_violations contains "constitutional_compliance_below_threshold" if {
	constitutional_compliance < cfg.evolution_thresholds.constitutional_compliance
}

# 2. Sandbox.

sandbox_violations contains "memory_limit_exceeded" if memory_mb > cfg.sandbox_limits.memory_mb

sandbox_violations contains "cpu_limit_exceeded" if cpu_cores > cfg.sandbox_limits.cpu_cores

sandbox_violations contains "execution_time_exceeded" if {
	execution_time_seconds > cfg.sandbox_limits.execution_time_seconds
}

sandbox_violations contains "network_access_not_allowed" if network_access

# 3. Human review.

review_violations contains "high_risk_score" if risk_score >= cfg.review_thresholds.risk_score

review_violations contains "policy_violations_detected" if {
	policy_violations > cfg.review_thresholds.policy_violations
}

review_violations contains "novel_behavior_detected" if novel_behavior

# 5. Safe actions: only the trust level matters.

safe_violations contains "trust_level_too_low" if trust_level < cfg.min_trust_safe

# 6. The constitutional principles.

constitutional_violations contains "sandbox_required" if {
	not input.context.environment.sandbox_enabled == true
}

constitutional_violations contains "trust_level_too_low" if trust_level < cfg.min_trust_general

constitutional_violations contains sprintf("resource_limit_exceeded:%s", [name]) if {
	some name, limit in cfg.resource_limits
	requested := input.context.agent.requested_resources[name]
	exceeds(requested, limit)
}

constitutional_violations contains "explanation_required" if {
	input.action in cfg.explanation_required
	not explanation_sufficient
}

constitutional_violations contains "audit_not_enabled" if {
	not input.context.environment.audit_enabled == true
}

constitutional_violations contains "responsible_party_missing" if not responsible_party_named

constitutional_violations contains "harm_risk_too_high" if harm_risk > cfg.max_harm_risk

constitutional_violations contains "benefit_too_low" if benefit < cfg.min_benefit

constitutional_violations contains "fairness_concern" if {
	input.context.affects_protected_groups == true
	fairness < cfg.min_fairness
}

constitutional_violations contains "consent_required" if {
	input.context.overrides_user_preference == true
	not input.context.user_consent == true
}

# A requested resource that is not a number cannot be checked against its limit: deny.
exceeds(requested, _) if not is_number(requested)

exceeds(requested, limit) if {
	is_number(requested)
	requested > limit
}

explanation_sufficient if {
	is_string(input.context.explanation)
	count(input.context.explanation) >= cfg.min_explanation_chars
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

default network_access := false

network_access if input.data.network_access == true

risk_score := x if {
	x := input.data.risk_score
	is_number(x)
} else := 0

policy_violations := x if {
	x := input.data.policy_violations
	is_number(x)
} else := 0

default novel_behavior := false

novel_behavior if input.data.novel_behavior == true

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
