"""Logs people can use: --log-format json is one JSON object per line (the service's and
uvicorn's), --access-log adds one line per request (off by default)."""

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import httpx
import orjson

from policy_engine.bench.opa_server import free_port, serving, stop
from policy_engine.http.logs import JsonFormatter

BODY = orjson.dumps({"action": "data.read", "context": {"trust_level": 0.9}})


@contextlib.contextmanager
def service_log(*args: str) -> Iterator[tuple[httpx.Client, list[str]]]:
    """A service at log level info; the lines it wrote (stdout and stderr) fill the list once it stopped."""
    port = free_port()
    cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PE_")} | {"LOG_LEVEL": "info"}
    lines: list[str] = []
    with serving(cmd, port, "/ready", env=env) as proc, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        yield client, lines
        stop(proc, 20)
        proc.log.seek(0)  # type: ignore[attr-defined]
        lines += [line for line in proc.log.read().decode().splitlines() if line.strip()]  # type: ignore[attr-defined]


def test_json_logs_are_one_object_per_line_with_the_access_log():
    with service_log("--log-format", "json", "--access-log") as (client, lines):
        decision = client.post("/v1/evaluate", content=BODY).json()
        client.get("/no/such/path")
    records = [orjson.loads(line) for line in lines]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "policy_engine" and "ready" in r["message"] for r in records)
    assert any(r["logger"].startswith("uvicorn") and "startup complete" in r["message"] for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access" and r["path"] != "/ready"]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [
        ("POST", "/v1/evaluate", 200),
        ("GET", "/no/such/path", 404),
    ]
    assert decision["decision_id"]


def test_there_is_no_access_log_unless_asked_for():
    with service_log() as (client, lines):
        client.post("/v1/evaluate", content=BODY)
    assert any("ready" in line for line in lines)
    assert not any("/v1/evaluate" in line for line in lines)


def test_the_text_access_log_is_uvicorns():
    with service_log("--access-log") as (client, lines):
        client.post("/v1/evaluate", content=BODY)
    assert any('"POST /v1/evaluate HTTP/1.1" 200' in line for line in lines)


def test_a_json_line_carries_the_decision_id_and_the_traceback_in_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "policy_engine.failures", logging.ERROR, __file__, 1, "decision %s failed", ("d-1",), sys.exc_info()
        )
    record.decision_id = "d-1"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["decision_id"] == "d-1"
    assert parsed["message"] == "decision d-1 failed"
    assert parsed["level"] == "error"
    assert "ValueError: boom" in parsed["exception"]
