"""The logger: a bounded buffer that drops the oldest (counted), a writer that never stops on a
bad event, drops by policy counted, rotation that keeps what it is told to."""

import asyncio

import orjson

from policy_engine.decision_logs import mask
from policy_engine.decision_logs.chain import Chain
from policy_engine.decision_logs.event import DecisionEvent, EventFormat
from policy_engine.decision_logs.logger import DecisionLogger, Encoder
from policy_engine.decision_logs.sinks import FileSink
from policy_engine.engine.engine import Engine
from policy_engine.metrics import Metrics
from tests.support.decision_logs import bundle_with


class Collect:
    name = "collect"

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, lines: list[bytes]) -> None:
        self.lines.extend(lines)

    def close(self, timeout: float) -> None:
        pass


def event(n: int, input_json: bytes = b'{"password":"p","n":1}') -> DecisionEvent:
    return DecisionEvent(f"d{n}", "acgs/x", input_json, b'{"allow":true,"rule":"safe"}', 1_700_000_000_123_456_789, 5)


def encoder(**kwargs) -> Encoder:  # type: ignore[no-untyped-def]
    return Encoder(EventFormat({"id": "i", "version": "v"}, "bundle"), Chain(), **kwargs)


def test_past_its_capacity_the_buffer_drops_the_oldest_and_counts_them():
    async def scenario() -> tuple[Collect, Metrics]:
        metrics, sink = Metrics(), Collect()
        logger = DecisionLogger(encoder(), [sink], metrics, capacity=3)
        for n in range(5):  # the writer is not started: nothing is taken yet
            logger.log(event(n))
        logger.start()
        await asyncio.to_thread(logger.close, 5)
        return sink, metrics

    sink, metrics = asyncio.run(scenario())
    assert [orjson.loads(line)["decision_id"] for line in sink.lines] == ["d2", "d3", "d4"]
    assert metrics.decision_logs_dropped.values[("buffer_full",)] == 2


def test_an_event_that_cannot_be_written_is_counted_and_the_others_still_are():
    async def scenario() -> tuple[Collect, Metrics]:
        metrics, sink = Metrics(), Collect()
        logger = DecisionLogger(encoder(), [sink], metrics)
        logger.start()
        logger.log(event(0))
        logger.log(event(1, input_json=b'{"broken\n'))  # not JSON, and over two lines
        logger.log(event(2))
        await asyncio.to_thread(logger.close, 5)
        return sink, metrics

    sink, metrics = asyncio.run(scenario())
    assert [orjson.loads(line)["decision_id"] for line in sink.lines] == ["d0", "d2"]
    assert metrics.decision_logs_dropped.values[("encoding_error",)] == 1


def test_the_event_in_opas_format():
    line = orjson.loads(encoder().encode(event(7)))
    assert line["decision_id"] == "d7" and line["path"] == "acgs/x"
    assert line["timestamp"] == "2023-11-14T22:13:20.123456789Z"
    assert line["labels"] == {"id": "i", "version": "v"} and line["rule"] == "safe"
    assert line["input"] == {"password": "p", "n": 1} and line["result"]["allow"] is True


def test_static_masks_remove_and_record_only_what_exists():
    enc = encoder(static_masks=mask.static_rules("/input/password,/input/absent,/result/rule"))
    line = orjson.loads(enc.encode(event(1)))
    assert line["input"] == {"n": 1} and "rule" not in line["result"]
    assert line["erased"] == ["/input/password", "/result/rule"]


def test_a_file_rotates_past_its_size_and_keeps_the_newest_files(tmp_path):
    path = tmp_path / "log"
    sink = FileSink(path, max_bytes=100, keep=2)
    for n in range(10):
        sink.write([b'{"n":%d,"pad":"%s"}' % (n, b"x" * 60)])
    sink.close(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "log.1", "log.2"]
    assert b'"n":9' in path.read_bytes() and b'"n":7' in (tmp_path / "log.2").read_bytes()


def test_durable_mode_writes_the_events_of_one_tick_at_once_before_their_answers_go(tmp_path):
    class CountingFile(FileSink):
        writes: list[int]

        def write(self, lines: list[bytes]) -> None:
            self.writes.append(len(lines))
            super().write(lines)

    async def scenario() -> tuple[CountingFile, Collect]:
        file, other = CountingFile(tmp_path / "log", 0, 1), Collect()
        file.writes = []
        logger = DecisionLogger(encoder(), [file, other], Metrics(), durable=file)
        logger.start()
        waiting = [logger.log(event(n)) for n in range(10)]  # one tick's responses
        assert not any(w.done() for w in waiting)  # type: ignore[union-attr]
        await asyncio.gather(*waiting)  # type: ignore[arg-type]
        assert len((tmp_path / "log").read_bytes().splitlines()) == 10  # in the file before the answers
        await logger.aclose(5)
        return file, other

    file, other = asyncio.run(scenario())
    assert file.writes == [10]
    assert len(other.lines) == 10  # the other sinks get the same lines


def test_rules_that_read_nothing_of_the_event_are_asked_once_per_bundle(tmp_path):
    constant = 'package system.log\n\nmask contains "/input/password"\n'
    engine = Engine(bundle_with(tmp_path, "constant", {"system/log/mask.rego": constant}))
    policy = mask.LogPolicy(lambda: engine)
    line = orjson.loads(encoder(policy=policy).encode(event(1)))
    assert line["input"] == {"n": 1} and line["erased"] == ["/input/password"]
    assert policy.constant(engine) is not None  # known once, not evaluated per event


def test_a_bundle_without_log_rules_changes_nothing(tmp_path):
    engine = Engine(bundle_with(tmp_path, "plain", {}))
    line = orjson.loads(encoder(policy=mask.LogPolicy(lambda: engine)).encode(event(1)))
    assert line["input"] == {"password": "p", "n": 1} and "erased" not in line
