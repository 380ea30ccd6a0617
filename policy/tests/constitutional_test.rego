package acgs.constitutional_test

import data.acgs.constitutional.evaluate

good_context := {
	"agent": {"trust_level": 0.9, "requested_resources": {"cpu_cores": 1, "memory_gb": 2}},
	"environment": {"sandbox_enabled": true, "audit_enabled": true},
	"responsible_party": "ops-team",
	"explanation": "This automated decision is explained at length for the affected user.",
}

decide(action, data_, context) := d if {
	d := evaluate with input as {"action": action, "data": data_, "context": context}
}

violations_of(action, data_, context) := decide(action, data_, context).violations

# Evolution

test_evolution_allowed if {
	d := decide("evolve_agent", {"fitness_improvement": 0.08, "safety_score": 0.97, "constitutional_compliance": 0.995}, {})
	d.allow
	d.rule == "evolution"
	d.violations == []
	d.confidence_score == 0.95
	d.reason == "Fitness: 0.080, Safety: 0.970, Compliance: 0.995"
	d.policy_version == "1.0.0"
}

test_evolution_every_threshold if {
	violations_of("evolve_agent", {"fitness_improvement": 0.04, "safety_score": 0.95, "constitutional_compliance": 0.99}, {}) == ["fitness_improvement_below_threshold"]
	violations_of("evolve_agent", {"fitness_improvement": 0.05, "safety_score": 0.94, "constitutional_compliance": 0.99}, {}) == ["safety_score_below_threshold"]
	violations_of("evolve_agent", {"fitness_improvement": 0.05, "safety_score": 0.95, "constitutional_compliance": 0.98}, {}) == ["constitutional_compliance_below_threshold"]
}

test_evolution_missing_and_wrong_types_count_as_zero if {
	d := decide("evolve_agent", {"fitness_improvement": "0.9", "safety_score": null}, {})
	not d.allow
	d.violations == ["constitutional_compliance_below_threshold", "fitness_improvement_below_threshold", "safety_score_below_threshold"]
	d.reason == "Fitness: 0.000, Safety: 0.000, Compliance: 0.000"
}

test_evolution_data_not_an_object if {
	count(violations_of("evolve_agent", [1, 2], null)) == 3
}

# Sandbox

test_sandbox_allowed if {
	d := decide("execute_in_sandbox", {"memory_mb": 2048, "cpu_cores": 0.5, "execution_time_seconds": 300}, {})
	d.allow
	d.rule == "sandbox"
	d.confidence_score == 1.0
	d.reason == "Memory: 2048 MB, CPU: 0.5 cores, Time: 300 s, Network: false"
}

test_sandbox_every_limit if {
	violations_of("execute_in_sandbox", {"memory_mb": 2049}, {}) == ["memory_limit_exceeded"]
	violations_of("execute_in_sandbox", {"cpu_cores": 0.6}, {}) == ["cpu_limit_exceeded"]
	violations_of("execute_in_sandbox", {"execution_time_seconds": 301}, {}) == ["execution_time_exceeded"]
	violations_of("execute_in_sandbox", {"network_access": true}, {}) == ["network_access_not_allowed"]
	violations_of("execute_in_sandbox", {"network_access": "true"}, {}) == []
}

test_sandbox_all_violations_sorted if {
	violations_of("execute_in_sandbox", {"memory_mb": 4096, "cpu_cores": 4, "execution_time_seconds": 900, "network_access": true}, {}) == [
		"cpu_limit_exceeded",
		"execution_time_exceeded",
		"memory_limit_exceeded",
		"network_access_not_allowed",
	]
}

# Human review

test_human_review_allowed if {
	d := decide("require_human_review", {"risk_score": 0.79, "policy_violations": 0, "novel_behavior": false}, {})
	d.allow
	d.rule == "human_review"
	d.confidence_score == 0.9
	d.reason == "Risk: 0.790, Violations: 0, Novel: false"
}

test_human_review_every_trigger if {
	violations_of("require_human_review", {"risk_score": 0.8}, {}) == ["high_risk_score"]
	violations_of("require_human_review", {"policy_violations": 1}, {}) == ["policy_violations_detected"]
	violations_of("require_human_review", {"novel_behavior": true}, {}) == ["novel_behavior_detected"]
	violations_of("require_human_review", {"risk_score": "high"}, {}) == []
}

# Dangerous

test_every_dangerous_action_is_denied if {
	every action in data.acgs.config.dangerous_actions {
		d := decide(action, {}, good_context)
		not d.allow
		d.violations == ["dangerous_action"]
		d.rule == "dangerous"
		d.confidence_score == 1.0
		d.reason == sprintf("Dangerous action blocked: %s", [action])
	}
}

# Safe

test_safe_actions_need_minimal_trust if {
	every action in data.acgs.config.safe_actions {
		decide(action, {}, {"agent": {"trust_level": 0.3}}).allow
		decide(action, {}, {"agent": {"trust_level": 0.29}}).violations == ["trust_level_too_low"]
	}
	decide("data.read", {}, {"agent": {"trust_level": 0.3}}).reason == "Safe action permitted"
}

test_safe_actions_ignore_everything_else if {
	d := decide("data.read", {"memory_mb": 1e9}, {"agent": {"trust_level": 0.5, "requested_resources": {"cpu_cores": 99}}})
	d.allow
	d.rule == "safe"
}

test_safe_action_trust_wrong_type_defaults_to_zero if {
	violations_of("data.read", {}, {"agent": {"trust_level": "0.9"}}) == ["trust_level_too_low"]
	violations_of("data.read", {}, "not an object") == ["trust_level_too_low"]
}

# Constitutional

test_constitutional_all_checks_pass if {
	d := decide("model.train", {}, good_context)
	d.allow
	d.rule == "constitutional"
	d.violations == []
	d.confidence_score == 1
	d.reason == "All constitutional checks passed"
}

test_constitutional_every_code if {
	violations_of("model.train", {}, json.patch(good_context, [{"op": "replace", "path": "/environment/sandbox_enabled", "value": "yes"}])) == ["sandbox_required"]
	violations_of("model.train", {}, json.patch(good_context, [{"op": "replace", "path": "/agent/trust_level", "value": 0.79}])) == ["trust_level_too_low"]
	violations_of("model.train", {}, json.patch(good_context, [{"op": "remove", "path": "/environment/audit_enabled"}])) == ["audit_not_enabled"]
	violations_of("model.train", {}, json.patch(good_context, [{"op": "replace", "path": "/responsible_party", "value": ""}])) == ["responsible_party_missing"]
	violations_of("model.train", {}, json.patch(good_context, [{"op": "add", "path": "/harm_risk_assessment", "value": 0.21}])) == ["harm_risk_too_high"]
	violations_of("model.train", {}, json.patch(good_context, [{"op": "add", "path": "/benefit_assessment", "value": 0.29}])) == ["benefit_too_low"]
	violations_of("model.train", {}, object.union(good_context, {"affects_protected_groups": true, "fairness_assessment": 0.89})) == ["fairness_concern"]
	violations_of("model.train", {}, object.union(good_context, {"overrides_user_preference": true})) == ["consent_required"]
	violations_of("data.process_personal", {}, object.remove(good_context, ["explanation"])) == ["explanation_required"]
}

test_constitutional_boundaries_pass if {
	ctx := object.union(good_context, {
		"harm_risk_assessment": 0.2, "benefit_assessment": 0.3,
		"affects_protected_groups": true, "fairness_assessment": 0.9,
		"overrides_user_preference": true, "user_consent": true,
	})
	decide("model.train", {}, ctx).allow
	decide("data.process_personal", {}, json.patch(good_context, [{"op": "replace", "path": "/explanation", "value": concat("", array.slice(split(good_context.explanation, ""), 0, 50))}])).allow
	violations_of("data.process_personal", {}, json.patch(good_context, [{"op": "replace", "path": "/explanation", "value": "too short"}])) == ["explanation_required"]
}

test_constitutional_resources if {
	ctx := json.patch(good_context, [{"op": "replace", "path": "/agent/requested_resources", "value": {"cpu_cores": 3, "memory_gb": "lots", "gpus": 99, "disk_gb": 10}}])
	violations_of("model.train", {}, ctx) == ["resource_limit_exceeded:cpu_cores", "resource_limit_exceeded:memory_gb"]
	decide("model.train", {}, ctx).confidence_score == 0.8
	decide("model.train", {}, ctx).reason == "Constitutional checks failed: resource_limit_exceeded:cpu_cores, resource_limit_exceeded:memory_gb"
}

test_constitutional_resources_null_is_not_a_number if {
	ctx := json.patch(good_context, [{"op": "replace", "path": "/agent/requested_resources", "value": {"disk_gb": null}}])
	violations_of("model.train", {}, ctx) == ["resource_limit_exceeded:disk_gb"]
}

test_constitutional_context_missing_or_malformed if {
	every ctx in [null, [], "x", 3, {}] {
		violations_of("model.train", {}, ctx) == ["audit_not_enabled", "responsible_party_missing", "sandbox_required", "trust_level_too_low"]
	}
	decide("model.train", {}, null).confidence_score == 0.6
}

test_constitutional_confidence_never_negative if {
	ctx := {
		"agent": {"requested_resources": {"cpu_cores": 9, "memory_gb": 9, "disk_gb": 99, "network_bandwidth_mbps": 99, "max_execution_time_seconds": 999, "max_file_operations_per_minute": 999, "max_network_requests_per_minute": 999}},
		"harm_risk_assessment": 1, "benefit_assessment": 0,
		"affects_protected_groups": true, "fairness_assessment": 0,
		"overrides_user_preference": true,
	}
	d := decide("data.process_personal", {}, ctx)
	count(d.violations) == 16
	d.confidence_score == 0
}

# Default

test_default_deny if {
	every action in ["", "noop", 42, null, ["data.read"], {"a": 1}] {
		d := decide(action, {}, good_context)
		not d.allow
		d.violations == ["default_deny"]
		d.rule == "default"
		d.reason == "No matching policy found"
		d.confidence_score == 1.0
	}
}

test_missing_action_and_empty_input if {
	evaluate.violations == ["default_deny"] with input as {}
	evaluate.violations == ["default_deny"] with input as []
	evaluate.violations == ["default_deny"] with input as "x"
}

test_allow_iff_no_violations if {
	every action in ["evolve_agent", "execute_in_sandbox", "require_human_review", "data.read", "model.train", "x"] {
		allow_matches(decide(action, {}, good_context))
		allow_matches(decide(action, {}, {}))
	}
}

allow_matches(d) if {
	d.allow == true
	d.violations == []
}

allow_matches(d) if {
	d.allow == false
	count(d.violations) > 0
}

test_fairness_defaults_to_no_concern if {
	ctx := object.union(good_context, {"affects_protected_groups": true})
	decide("model.train", {}, ctx).allow
	violations_of("model.train", {}, object.union(ctx, {"fairness_assessment": "low"})) == []
}

test_benefit_and_harm_wrong_types_take_the_defaults if {
	ctx := object.union(good_context, {"harm_risk_assessment": "high", "benefit_assessment": null})
	decide("model.train", {}, ctx).allow
}

# The defaults above pass the shipped thresholds; with stricter data they fail, and the
# values that are not numbers take them and count as violations.
test_defaults_that_fail_stricter_thresholds_are_violations if {
	ctx := object.union(good_context, {
		"harm_risk_assessment": "high",
		"benefit_assessment": null,
		"affects_protected_groups": true,
		"fairness_assessment": "low",
	})
	violations_of("model.train", {}, ctx) == ["benefit_too_low", "fairness_concern", "harm_risk_too_high"] with data.acgs.config.max_harm_risk as -0.1
		with data.acgs.config.min_benefit as 0.6
		with data.acgs.config.min_fairness as 1.1
	numbers := object.union(ctx, {"harm_risk_assessment": -0.2, "benefit_assessment": 0.6, "fairness_assessment": 1.1})
	violations_of("model.train", {}, numbers) == [] with data.acgs.config.max_harm_risk as -0.1
		with data.acgs.config.min_benefit as 0.6
		with data.acgs.config.min_fairness as 1.1
}
