"""The decision path: residuals learned for actions first seen at run time."""

import asyncio

from policy_engine import snapshot as snapshot_module
from policy_engine.batching.batcher import Inline
from policy_engine.decisions import EmbeddedDecisions
from policy_engine.metrics import Metrics
from policy_engine.snapshot import PolicySnapshot


def test_an_action_partial_evaluation_cannot_specialise_is_tried_once(engine, monkeypatch):
    decisions = EmbeddedDecisions(PolicySnapshot(engine, Metrics()), Metrics(), None, Inline(Metrics()))
    tries = []

    def fails(engine, full, actions):
        tries.append(list(actions))
        return {}  # what specialise answers when partial evaluation fails for every action

    monkeypatch.setattr(snapshot_module, "specialise", fails)

    async def decide_twice():
        document = b'{"action": "never.specialised", "context": {}}'
        first = await decisions.decide(engine.entrypoint.query, document)
        await asyncio.sleep(0.2)  # the learning runs in a worker thread
        second = await decisions.decide(engine.entrypoint.query, document)
        await asyncio.sleep(0.2)
        return first, second

    first, second = asyncio.run(decide_twice())
    assert first.result == second.result
    assert tries == [["never.specialised"]]


def test_a_learned_action_is_served_by_its_residual(engine):
    metrics = Metrics()
    decisions = EmbeddedDecisions(PolicySnapshot(engine, metrics), metrics, None, Inline(metrics))
    document = b'{"action": "custom.first_seen", "context": {}}'

    async def learn():
        await decisions.decide(engine.entrypoint.query, document)
        for _ in range(100):
            if decisions.route(engine.entrypoint.query, document).prepared is not engine.entrypoint:
                return True
            await asyncio.sleep(0.05)
        return False

    assert asyncio.run(learn())
    assert decisions.metrics.residual.values[("residual",)] >= 1
