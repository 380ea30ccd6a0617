"""`policy-engine bench logs`: what decision logging costs, in one run.

Over HTTP, the same workload against the embedded service with logging off, to a file, and to
the file with --decision-log-sync (closed-loop maximum and fixed rates, http_bench's plan); then,
in process, the events per second the file and HTTP sinks sustain (encoding and sealing
included, as the writer thread does them).
"""

import argparse
import dataclasses
import gzip
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from policy_engine.bench.http_bench import HttpPlan, run_http
from policy_engine.bench.main import environment, workload_params
from policy_engine.bench.opa_server import free_port
from policy_engine.decision_logs.chain import Chain
from policy_engine.decision_logs.event import DecisionEvent, EventFormat
from policy_engine.decision_logs.logger import Encoder
from policy_engine.decision_logs.sinks import FileSink, HttpSink
from policy_engine.http.acgs_request import opa_input, parse_evaluate_request
from policy_engine.workload.trace import generate

MODES = ("embedded", "embedded-log-file", "embedded-log-sync")
QUICK = HttpPlan(rates=[1000, 5000], seconds=3, repeats=1, warmup_seconds=1, modes=MODES)
RESULT = b'{"allow":true,"confidence_score":1.0,"policy_version":"1.0.0","reason":"Safe action permitted","rule":"safe","violations":[]}'  # noqa: E501
BATCH = 256


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], help="offered rates, req/s")
    parser.add_argument("--seconds", type=float, help="duration of each load run")
    parser.add_argument("--repeats", type=int, help="runs per rate (medians are quoted)")
    parser.add_argument("--server-cpus", help="taskset CPU list of the system under test (default 0)")
    parser.add_argument("--load-cpus", help="taskset CPU list of the load generator (default 1)")
    parser.add_argument("--sink-events", type=int, default=50_000, help="events through each sink in process")


def events(params, count: int) -> list[DecisionEvent]:  # type: ignore[no-untyped-def]
    """Events as the ACGS endpoint makes them, from the workload's requests."""
    found = []
    for n, request in enumerate(generate(dataclasses.replace(params, requests=count))):
        body = parse_evaluate_request(orjson.dumps(request))
        identifier = f"00000000-0000-4000-8000-{n:012d}"
        found.append(
            DecisionEvent(
                identifier, "acgs/constitutional/evaluate", opa_input(body, identifier), RESULT, time.time_ns(), 1
            )
        )
    return found


def encoder() -> Encoder:
    return Encoder(EventFormat({"id": "bench", "version": "bench"}, "bundle"), Chain())


def file_sink_rate(batch: list[DecisionEvent], directory: Path) -> float:
    sink, enc = FileSink(directory / "decisions.jsonl", 1 << 30, 1), encoder()
    started = time.perf_counter()
    for i in range(0, len(batch), BATCH):
        sink.write([enc.encode(e) for e in batch[i : i + BATCH]])  # type: ignore[misc]
    sink.close(10)
    return len(batch) / (time.perf_counter() - started)


class _Receiver(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
        _Receiver.received += body.count(b'"decision_id"')
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


def http_sink_rate(batch: list[DecisionEvent]) -> float:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received = 0
    sink = HttpSink(f"http://127.0.0.1:{server.server_address[1]}", lambda reason, n: None, capacity=len(batch))
    enc = encoder()
    started = time.perf_counter()
    for i in range(0, len(batch), BATCH):
        sink.write([enc.encode(e) for e in batch[i : i + BATCH]])  # type: ignore[misc]
    while _Receiver.received < len(batch) and time.perf_counter() - started < 120:
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    sink.close(5)
    server.shutdown()
    return _Receiver.received / seconds


def run_logging_bench(args: argparse.Namespace) -> dict:
    params = workload_params(args)
    plan = QUICK if args.quick else dataclasses.replace(HttpPlan(), modes=MODES)
    overrides = {"rates": args.rates, "seconds": args.seconds, "repeats": args.repeats}
    overrides |= {"server_cpus": args.server_cpus, "load_cpus": args.load_cpus}
    plan = dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    console = Console(stderr=True)
    http = run_http(params, plan, lambda step: console.print(step))
    batch = events(params, args.sink_events)
    with tempfile.TemporaryDirectory() as tmp:
        file_rate = file_sink_rate(batch, Path(tmp))
    return {
        **environment(),
        **http,
        "sinks_events_per_s": {"file": round(file_rate), "http": round(http_sink_rate(batch))},
    }


def report(result: dict) -> None:
    console = Console()
    modes = result["modes"]
    base = modes["embedded"]["max"]["rps"]
    table = Table(title="Decision logging over HTTP (medians): closed-loop maximum and p99 at fixed rates")
    rates = [k for k in modes["embedded"] if k not in ("max",) and isinstance(modes["embedded"][k], dict)]
    for column in ("mode", "max req/s", "vs off", *(f"p99 ms @ {r}" for r in rates), "errors"):
        table.add_column(column, justify="right")
    for mode, figures in modes.items():
        rps = figures["max"]["rps"]
        errors = sum(f["errors"] for f in figures.values() if isinstance(f, dict))
        table.add_row(
            mode,
            f"{rps:.0f}",
            f"{(rps / base - 1) * 100:+.1f} %",
            *(f"{figures[r]['p99_ms']:.3f}" for r in rates),
            str(errors),
        )
    console.print(table)
    sinks = result["sinks_events_per_s"]
    console.print(
        f"sinks in process (encode, seal, write): file {sinks['file']} events/s, http {sinks['http']} events/s"
    )
