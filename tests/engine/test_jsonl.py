"""`policy-engine eval --jsonl`: one decision per line, in order; bad lines get an error object."""

import subprocess
import sys

import orjson


def run_eval(stdin: bytes, *args: str) -> list:
    out = subprocess.run(
        [sys.executable, "-m", "policy_engine.cli", "eval", "--jsonl", *args],
        input=stdin,
        capture_output=True,
        check=True,
    ).stdout
    return [orjson.loads(line) for line in out.splitlines()]


def test_decisions_in_order_with_errors_in_place(engine):
    lines = [
        {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}},
        "not json",
        {"action": "system.execute_shell"},
    ]
    stdin = b"\n".join(orjson.dumps(x) if isinstance(x, dict) else x.encode() for x in lines) + b"\n"
    results = run_eval(stdin)
    assert len(results) == 3
    assert results[0] == engine.evaluate(lines[0])
    assert results[1]["error"]["code"] == "invalid_json"
    assert results[2]["violations"] == ["dangerous_action"]


def test_another_query_and_undefined(engine):
    results = run_eval(b"{}\n", "--query", "data.acgs.nothing")
    assert results == [{"error": {"code": "undefined", "message": "the decision is undefined"}}]
