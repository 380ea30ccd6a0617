"""The reference request trace: seeded, deterministic, API request bodies.

Everything is drawn from one random.Random(seed): the same parameters give the same trace,
byte for byte, on any machine.
"""

import bisect
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SAFE = ("data.read", "compute.analyze", "report.generate")
GENERAL = (
    "model.train",
    "data.write",
    "network.request",
    "data.process_personal",
    "decision.make_automated",
)
DANGEROUS = (
    "system.execute_shell",
    "network.access_external",
    "file.write_system",
    "process.spawn_child",
    "memory.access_kernel",
    "network.bypass_firewall",
    "system.modify_configuration",
    "auth.escalate_privileges",
    "crypto.break_encryption",
    "data.exfiltrate",
)
EVOLVE, SANDBOX, REVIEW = "evolve_agent", "execute_in_sandbox", "require_human_review"

# (weight %, actions) of the action mix, the novel 2 % apart.
MIX = ((60, SAFE), (20, GENERAL), (8, DANGEROUS), (4, (EVOLVE,)), (4, (SANDBOX,)), (2, (REVIEW,)))
TRUST_LEVELS = ((0.2, 10), (0.5, 20), (0.85, 40), (0.95, 30))
RESOURCE_PROFILES = (
    {"cpu_cores": 1, "memory_gb": 2},
    {"cpu_cores": 2, "memory_gb": 4, "disk_gb": 5},
    {"cpu_cores": 0.5, "memory_gb": 1, "network_bandwidth_mbps": 5},
    {"cpu_cores": 1, "memory_gb": 2, "max_execution_time_seconds": 120},
    {"cpu_cores": 8, "memory_gb": 16},  # exceeds the limits
)
FAVOURITE_SHARE = 0.8
ZIPF_S = 1.1
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WorkloadParams:
    seed: int = 42
    agents: int = 1000
    requests: int = 100_000
    novel_share: float = 0.02


@dataclass
class Agent:
    id: str
    trust_level: float
    sandbox_enabled: bool
    audit_enabled: bool
    responsible_party: str | None
    explanation: str | None
    resources: dict
    favourites: list[str]
    variants: dict[str, list[dict]] = field(default_factory=dict)


def _mix_action(rng: random.Random) -> str:
    weights = [w for w, _ in MIX]
    actions = rng.choices([a for _, a in MIX], weights=weights)[0]
    return rng.choice(actions)


def _explanation(rng: random.Random) -> str | None:
    if rng.random() < 0.7:
        return "This action is explained in enough detail for the people it affects to review it."
    return rng.choice([None, "short"])


def _variants(rng: random.Random) -> dict[str, list[dict]]:
    def evolve() -> dict:
        return {
            "fitness_improvement": rng.choice([0.02, 0.06, 0.1]),
            "safety_score": rng.choice([0.9, 0.96, 0.99]),
            "constitutional_compliance": rng.choice([0.98, 0.995, 1.0]),
        }

    def sandbox() -> dict:
        return {
            "memory_mb": rng.choice([512, 1024, 4096]),
            "cpu_cores": rng.choice([0.25, 0.5, 1]),
            "execution_time_seconds": rng.choice([60, 300, 600]),
            "network_access": rng.random() < 0.2,
        }

    def review() -> dict:
        return {
            "risk_score": rng.choice([0.1, 0.5, 0.9]),
            "policy_violations": rng.choice([0, 0, 1]),
            "novel_behavior": rng.random() < 0.2,
        }

    return {
        EVOLVE: [evolve() for _ in range(3)],
        SANDBOX: [sandbox() for _ in range(3)],
        REVIEW: [review() for _ in range(3)],
    }


def make_agents(rng: random.Random, count: int) -> list[Agent]:
    trust_values, trust_weights = zip(*TRUST_LEVELS, strict=True)
    return [
        Agent(
            id=f"agent-{n}",
            trust_level=rng.choices(trust_values, weights=trust_weights)[0],
            sandbox_enabled=rng.random() < 0.8,
            audit_enabled=rng.random() < 0.85,
            responsible_party=f"team-{n % 37}" if rng.random() < 0.9 else None,
            explanation=_explanation(rng),
            resources=dict(rng.choice(RESOURCE_PROFILES)),
            favourites=[_mix_action(rng) for _ in range(rng.randint(3, 6))],
            variants=_variants(rng),
        )
        for n in range(count)
    ]


def _novel_data(rng: random.Random, action: str) -> dict:
    return {
        "fitness_improvement": round(rng.random() * 0.2, 4),
        "safety_score": round(0.9 + rng.random() * 0.1, 4),
        "constitutional_compliance": round(0.97 + rng.random() * 0.03, 4),
        "memory_mb": rng.randint(1, 8192),
        "cpu_cores": round(rng.random() * 2, 3),
        "execution_time_seconds": rng.randint(1, 900),
        "risk_score": round(rng.random(), 4),
        "policy_violations": rng.randint(0, 2),
    }


def _request(rng: random.Random, agent: Agent, n: int, novel_share: float) -> dict:
    novel = rng.random() < novel_share
    if novel or rng.random() >= FAVOURITE_SHARE:
        action = _mix_action(rng)
    else:
        action = rng.choice(agent.favourites)
    resources = agent.resources
    if novel:
        input_data = _novel_data(rng, action)
        resources = {"cpu_cores": round(rng.random() * 3, 3), "memory_gb": rng.randint(1, 8)}
    else:
        input_data = dict(rng.choice(agent.variants[action])) if action in agent.variants else {}
    context: dict = {
        "agent": {
            "id": agent.id,
            "trust_level": agent.trust_level,
            "requested_resources": resources,
        },
        "environment": {
            "sandbox_enabled": agent.sandbox_enabled,
            "audit_enabled": agent.audit_enabled,
        },
        "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": (START + timedelta(milliseconds=n)).isoformat(),
    }
    if agent.responsible_party is not None:
        context["responsible_party"] = agent.responsible_party
    if agent.explanation is not None:
        context["explanation"] = agent.explanation
    return {"action": action, "agent_id": agent.id, "input_data": input_data, "context": context}


def generate(params: WorkloadParams) -> Iterator[dict]:
    """The trace's request bodies, in order."""
    rng = random.Random(params.seed)
    agents = make_agents(rng, params.agents)
    cumulative = list(itertools.accumulate(1 / (k**ZIPF_S) for k in range(1, params.agents + 1)))
    total = cumulative[-1]
    for n in range(params.requests):
        agent = agents[bisect.bisect_left(cumulative, rng.random() * total)]
        yield _request(rng, agent, n, params.novel_share)
