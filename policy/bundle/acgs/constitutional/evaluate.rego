# The constitutional policy: ../shared/spec/POLICY.md is its specification.
#
# Every rule reads input through constant paths (input.context.agent.trust_level, never
# input.context as a whole): the decision cache keys on exactly the paths read here, so a
# rule that read a whole object would put per-request noise (request ids) into every key.
package acgs.constitutional

cfg := data.acgs.config

# The decision: exactly one branch decides, the first that applies. The branches are
# mutually exclusive rules, not an else chain: OPA's rule index dispatches on input.action,
# and partial evaluation with a known action keeps only that action's branch.
evaluate := decision("evolution", evolution_violations, 0.95, evolution_reason) if is_evolution

evaluate := decision("sandbox", sandbox_violations, 1.0, sandbox_reason) if is_sandbox

evaluate := decision("human_review", review_violations, 0.9, review_reason) if is_review

evaluate := decision("dangerous", {"dangerous_action"}, 1.0, dangerous_reason) if is_dangerous

evaluate := decision("safe", safe_violations, 1.0, safe_reason) if is_safe

evaluate := decision("constitutional", constitutional_violations, constitutional_confidence, constitutional_reason) if {
	is_constitutional
}

evaluate := decision("default", {"default_deny"}, 1.0, "No matching policy found") if is_default

is_evolution if input.action == "evolve_agent"

is_sandbox if input.action == "execute_in_sandbox"

is_review if input.action == "require_human_review"

is_special if is_evolution

is_special if is_sandbox

is_special if is_review

is_dangerous if {
	input.action in cfg.dangerous_actions
	not is_special
}

is_safe if {
	input.action in cfg.safe_actions
	not is_special
	not is_dangerous
}

is_constitutional if {
	is_string(input.action)
	contains(input.action, ".")
	not is_special
	not is_dangerous
	not is_safe
}

is_default if {
	not is_special
	not is_dangerous
	not is_safe
	not is_constitutional
}

decision(rule, violations, confidence, reason) := {
	"allow": count(violations) == 0,
	"violations": sort(violations),
	"reason": reason,
	"confidence_score": confidence,
	"policy_version": cfg.policy_version,
	"rule": rule,
}

evolution_reason := sprintf("Fitness: %s, Safety: %s, Compliance: %s", [
	fixed3(fitness_improvement),
	fixed3(safety_score),
	fixed3(constitutional_compliance),
])

sandbox_reason := sprintf("Memory: %v MB, CPU: %v cores, Time: %v s, Network: %v", [
	memory_mb,
	cpu_cores,
	execution_time_seconds,
	network_access,
])

review_reason := sprintf("Risk: %s, Violations: %v, Novel: %v", [fixed3(risk_score), policy_violations, novel_behavior])

dangerous_reason := sprintf("Dangerous action blocked: %v", [input.action])

safe_reason := "Safe action permitted" if count(safe_violations) == 0

safe_reason := sprintf("Safe action denied: %s", [concat(", ", sort(safe_violations))]) if {
	count(safe_violations) > 0
}

constitutional_confidence := max([0, 1 - (0.1 * count(constitutional_violations))])

constitutional_reason := "All constitutional checks passed" if count(constitutional_violations) == 0

constitutional_reason := sprintf("Constitutional checks failed: %s", [concat(", ", sort(constitutional_violations))]) if {
	count(constitutional_violations) > 0
}

# fixed3 formats a number with three decimals; sprintf's %f rejects integer-valued numbers.
fixed3(x) := sprintf("%d.000", [floor(x)]) if floor(x) == x

fixed3(x) := sprintf("%.3f", [x]) if floor(x) != x

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
# default the specification gives. (Two exclusive rules instead of `else`, which partial
# evaluation cannot inline; `not is_number(x)` is undefined, not true, when x is undefined,
# hence the *_is_number helpers.)

fitness_improvement := x if {
	x := input.data.fitness_improvement
	is_number(x)
}

fitness_improvement := 0 if not fitness_improvement_is_number

fitness_improvement_is_number if is_number(input.data.fitness_improvement)

safety_score := x if {
	x := input.data.safety_score
	is_number(x)
}

safety_score := 0 if not safety_score_is_number

safety_score_is_number if is_number(input.data.safety_score)

constitutional_compliance := x if {
	x := input.data.constitutional_compliance
	is_number(x)
}

constitutional_compliance := 0 if not constitutional_compliance_is_number

constitutional_compliance_is_number if is_number(input.data.constitutional_compliance)

memory_mb := x if {
	x := input.data.memory_mb
	is_number(x)
}

memory_mb := 0 if not memory_mb_is_number

memory_mb_is_number if is_number(input.data.memory_mb)

cpu_cores := x if {
	x := input.data.cpu_cores
	is_number(x)
}

cpu_cores := 0 if not cpu_cores_is_number

cpu_cores_is_number if is_number(input.data.cpu_cores)

execution_time_seconds := x if {
	x := input.data.execution_time_seconds
	is_number(x)
}

execution_time_seconds := 0 if not execution_time_seconds_is_number

execution_time_seconds_is_number if is_number(input.data.execution_time_seconds)

network_access if input.data.network_access == true

network_access := false if not network_access_requested

network_access_requested if input.data.network_access == true

risk_score := x if {
	x := input.data.risk_score
	is_number(x)
}

risk_score := 0 if not risk_score_is_number

risk_score_is_number if is_number(input.data.risk_score)

policy_violations := x if {
	x := input.data.policy_violations
	is_number(x)
}

policy_violations := 0 if not policy_violations_is_number

policy_violations_is_number if is_number(input.data.policy_violations)

novel_behavior if input.data.novel_behavior == true

novel_behavior := false if not novel_behavior_reported

novel_behavior_reported if input.data.novel_behavior == true

trust_level := x if {
	x := input.context.agent.trust_level
	is_number(x)
}

trust_level := 0 if not trust_level_is_number

trust_level_is_number if is_number(input.context.agent.trust_level)

harm_risk := x if {
	x := input.context.harm_risk_assessment
	is_number(x)
}

harm_risk := 0 if not harm_risk_is_number

harm_risk_is_number if is_number(input.context.harm_risk_assessment)

benefit := x if {
	x := input.context.benefit_assessment
	is_number(x)
}

benefit := 0.5 if not benefit_is_number

benefit_is_number if is_number(input.context.benefit_assessment)

fairness := x if {
	x := input.context.fairness_assessment
	is_number(x)
}

fairness := 1.0 if not fairness_is_number

fairness_is_number if is_number(input.context.fairness_assessment)
