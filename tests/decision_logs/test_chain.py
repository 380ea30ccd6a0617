"""The hash chain: `logs verify` finds the first removed, reordered or edited event, across rotations."""

from pathlib import Path

import orjson
import pytest

from policy_engine.cli import main
from policy_engine.decision_logs.chain import GENESIS, Chain, line_hash, verify
from policy_engine.decision_logs.sinks import FileSink


def write_events(path: Path, count: int, max_bytes: int = 0, keep: int = 100) -> list[Path]:
    """`count` sealed events through a FileSink (rotating past max_bytes); the files, oldest first."""
    sink = FileSink(path, max_bytes, keep)
    chain = Chain(sink.last_hash or GENESIS)
    for n in range(count):
        body = orjson.dumps({"labels": {"id": "instance-1"}, "decision_id": f"d{n}", "input": {"n": n}})
        sink.write([chain.seal(body)])
    sink.close(1)
    rotated = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return [*rotated, path]


def lines_of(files: list[Path]) -> list[tuple[Path, bytes]]:
    return [(f, line) for f in files for line in f.read_bytes().splitlines()]


def rewrite(files: list[Path], lines: list[tuple[Path, bytes]]) -> None:
    for f in files:
        f.write_bytes(b"".join(line + b"\n" for owner, line in lines if owner == f))


def test_each_event_names_the_hash_of_the_one_before(tmp_path):
    files = write_events(tmp_path / "log", 3)
    events = [orjson.loads(line) for _, line in lines_of(files)]
    raw = [line for _, line in lines_of(files)]
    assert [e["seq"] for e in events] == [0, 1, 2]
    assert events[0]["prev_hash"] == GENESIS
    assert events[1]["prev_hash"] == line_hash(raw[0])
    assert events[2]["prev_hash"] == line_hash(raw[1])


def test_a_whole_chain_across_rotations_verifies(tmp_path, capsys):
    files = write_events(tmp_path / "log", 40, max_bytes=600)
    assert len(files) > 3
    verdict = verify([str(f) for f in reversed(files)])  # any order: rotations are sorted
    assert verdict.whole and verdict.events == 40
    assert main(["logs", "verify", *map(str, files)]) == 0
    assert "chain whole: 40 events" in capsys.readouterr().out


def test_the_first_event_of_a_rotated_file_names_the_last_of_the_previous_one(tmp_path):
    files = write_events(tmp_path / "log", 20, max_bytes=600)
    last_of_first = files[0].read_bytes().splitlines()[-1]
    first_of_second = orjson.loads(files[1].read_bytes().splitlines()[0])
    assert first_of_second["prev_hash"] == line_hash(last_of_first)


def test_a_restart_appending_to_the_file_continues_its_chain(tmp_path):
    path = tmp_path / "log"
    write_events(path, 3)
    write_events(path, 3)
    assert verify([str(path)]).whole


@pytest.mark.parametrize("index", [1, 9, 10, 25])
def test_a_deleted_line_is_reported(tmp_path, index, capsys):
    files = write_events(tmp_path / "log", 30, max_bytes=600)
    lines = lines_of(files)
    del lines[index]
    rewrite(files, lines)
    verdict = verify([str(f) for f in files])
    assert not verdict.whole
    assert "removed" in verdict.message and f"seq {index}..{index}" in verdict.message
    assert main(["logs", "verify", *map(str, files)]) == 1
    assert "removed" in capsys.readouterr().out


@pytest.mark.parametrize("index", [1, 9, 10, 25])
def test_reordered_lines_are_reported(tmp_path, index):
    files = write_events(tmp_path / "log", 30, max_bytes=600)
    lines = lines_of(files)
    (f1, a), (f2, b) = lines[index], lines[index + 1]
    lines[index], lines[index + 1] = (f1, b), (f2, a)
    rewrite(files, lines)
    verdict = verify([str(f) for f in files])
    assert not verdict.whole and "reordered" in verdict.message


@pytest.mark.parametrize("index", [0, 9, 10, 25])
def test_an_edited_line_is_reported(tmp_path, index):
    files = write_events(tmp_path / "log", 30, max_bytes=600)
    lines = lines_of(files)
    owner, line = lines[index]
    lines[index] = (owner, line.replace(b'"n":', b'"n": '))  # one byte more, same meaning
    rewrite(files, lines)
    verdict = verify([str(f) for f in files])
    assert not verdict.whole and "edited" in verdict.message
    assert f"seq {index};" in verdict.message


def test_a_line_that_is_no_longer_an_event_is_reported(tmp_path):
    files = write_events(tmp_path / "log", 5)
    lines = lines_of(files)
    lines[2] = (lines[2][0], b"{not json")
    rewrite(files, lines)
    verdict = verify([str(f) for f in files])
    assert not verdict.whole and ":3: not a sealed event" in verdict.message
