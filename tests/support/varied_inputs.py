"""Varied OPA input documents following POLICY.md: every branch, boundary values, wrong
types, missing fields, malformed containers. Seeded, so a failure names its input."""

import random
import uuid
from typing import Any

from policy_engine.workload.trace import DANGEROUS, EVOLVE, GENERAL, REVIEW, SAFE, SANDBOX

ACTIONS = [
    *SAFE,
    *GENERAL,
    *DANGEROUS,
    EVOLVE,
    SANDBOX,
    REVIEW,
    "policy.update_rules",
    "system.modify_behavior",
]
ODD_ACTIONS = [
    "",
    "noop",
    "evolve",
    "DATA.READ",
    "a.b.c",
    ".",
    42,
    None,
    True,
    ["data.read"],
    {"a": 1},
]
RESOURCES = [
    "cpu_cores",
    "memory_gb",
    "disk_gb",
    "network_bandwidth_mbps",
    "max_execution_time_seconds",
    "max_file_operations_per_minute",
    "max_network_requests_per_minute",
    "gpus",
]


def _wrong(rng: random.Random) -> Any:
    return rng.choice([None, "1", "abc", True, False, [], [1], {}, {"x": 1}])


def _number(rng: random.Random, boundaries: list[float]) -> Any:
    roll = rng.random()
    if roll < 0.15:
        return _wrong(rng)
    if roll < 0.55:
        b = rng.choice(boundaries)
        return rng.choice([b, b - 0.001, b + 0.001, int(b) if b == int(b) else b])
    return rng.choice([rng.random() * 2 * max(boundaries), rng.randint(-5, int(3 * max(boundaries)) + 1), 0, -1])


def _maybe(rng: random.Random, value: Any, present: float = 0.8) -> Any:
    return value if rng.random() < present else _MISSING


_MISSING = object()


def _obj(**fields: Any) -> dict:
    return {k: v for k, v in fields.items() if v is not _MISSING}


def _data(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return _wrong(rng)
    return _obj(
        fitness_improvement=_maybe(rng, _number(rng, [0.05])),
        safety_score=_maybe(rng, _number(rng, [0.95])),
        constitutional_compliance=_maybe(rng, _number(rng, [0.99])),
        memory_mb=_maybe(rng, _number(rng, [2048])),
        cpu_cores=_maybe(rng, _number(rng, [0.5])),
        execution_time_seconds=_maybe(rng, _number(rng, [300])),
        network_access=_maybe(rng, rng.choice([True, False, "true", 1, None])),
        risk_score=_maybe(rng, _number(rng, [0.8])),
        policy_violations=_maybe(rng, _number(rng, [0, 1])),
        novel_behavior=_maybe(rng, rng.choice([True, False, "yes", None])),
    )


def _resources(rng: random.Random) -> Any:
    if rng.random() < 0.1:
        return _wrong(rng)
    limits = {"cpu_cores": 2, "memory_gb": 4, "disk_gb": 10, "network_bandwidth_mbps": 10}
    names = rng.sample(RESOURCES, rng.randint(0, 4))
    return {n: _number(rng, [limits.get(n, 100)]) for n in names}


def _context(rng: random.Random) -> Any:
    if rng.random() < 0.08:
        return rng.choice([None, [], "ctx", 3, [{"agent": {}}]])
    explanation = rng.choice(["x" * 49, "x" * 50, "é" * 50, "short", 50, None])
    return _obj(
        agent=_maybe(
            rng,
            _obj(
                id=f"agent-{rng.randint(0, 9)}",
                trust_level=_maybe(rng, _number(rng, [0.3, 0.8])),
                requested_resources=_maybe(rng, _resources(rng), 0.6),
            )
            if rng.random() < 0.95
            else _wrong(rng),
        ),
        environment=_maybe(
            rng,
            _obj(
                sandbox_enabled=_maybe(rng, rng.choice([True, True, False, "true", 1])),
                audit_enabled=_maybe(rng, rng.choice([True, True, False, "true", None])),
            ),
        ),
        responsible_party=_maybe(rng, rng.choice(["ops", "", 7, None])),
        explanation=_maybe(rng, explanation, 0.5),
        harm_risk_assessment=_maybe(rng, _number(rng, [0.2]), 0.4),
        benefit_assessment=_maybe(rng, _number(rng, [0.3]), 0.4),
        affects_protected_groups=_maybe(rng, rng.choice([True, False, "true"]), 0.4),
        fairness_assessment=_maybe(rng, _number(rng, [0.9]), 0.4),
        overrides_user_preference=_maybe(rng, rng.choice([True, False, 1]), 0.3),
        user_consent=_maybe(rng, rng.choice([True, False, "yes"]), 0.3),
        request_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    )


def varied_input(rng: random.Random) -> Any:
    if rng.random() < 0.01:
        return _wrong(rng)
    action = rng.choice(ODD_ACTIONS) if rng.random() < 0.1 else rng.choice(ACTIONS)
    return _obj(
        action=_maybe(rng, action, 0.97),
        agent_id=f"agent-{rng.randint(0, 99)}",
        data=_maybe(rng, _data(rng), 0.9),
        context=_maybe(rng, _context(rng), 0.95),
        evaluation_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        timestamp="2026-01-01T00:00:00+00:00",
    )


def varied_inputs(count: int, seed: int = 7) -> list[Any]:
    rng = random.Random(seed)
    return [varied_input(rng) for _ in range(count)]
