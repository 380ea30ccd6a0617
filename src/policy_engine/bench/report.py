"""BENCHMARKS.md and its plots, from the JSON of `policy-engine bench all`."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MODE_NAMES = {
    "floor": "the floor: the same server stack, a handler that does no policy work",
    "legacy": "old way (service -> OPA sidecar over HTTP)",
    "opa-server": "OPA server alone",
    "embedded": "new engine (embedded, cache, residuals, batching)",
    "embedded-no-batch": "new engine, batching off",
    "embedded-no-pe": "new engine, partial evaluation off",
}


def _rates(figures: dict) -> list[str]:
    return [k for k, v in figures.items() if isinstance(v, dict) and "p50_ms" in v]


def _finish(fig, ax, title: str, path: Path) -> None:
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency_at(result: dict, rate: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for mode, figures in result["modes"].items():
        quantiles = figures.get(rate, {}).get("quantiles_ms")
        if quantiles:
            qs = [float(q) for q in quantiles]
            ax.plot([1 / (1 - q) for q in qs], list(quantiles.values()), marker="o", label=mode)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [2, 10, 100, 1000, 10000]
    ax.set_xticks(ticks, ["p50", "p90", "p99", "p99.9", "p99.99"])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency, ms")
    _finish(fig, ax, f"Latency distribution at {rate} req/s offered (open loop, vegeta)", path)


def plot_p99_by_load(result: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for mode, figures in result["modes"].items():
        rates = [r for r in _rates(figures) if r != "max"]
        ax.plot([int(r) for r in rates], [figures[r]["p99_ms"] for r in rates], marker="o", label=mode)
    ax.set_yscale("log")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="1 ms target")
    ax.set_xlabel("offered load, req/s")
    ax.set_ylabel("p99 latency, ms (median of runs)")
    _finish(fig, ax, "p99 against offered load", path)


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table: the header, its rule, one line per row."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def _low_high(pair: list) -> str:
    return f"{pair[0]}-{pair[1]}"


def _http_table(result: dict) -> list[str]:
    rows = []
    for mode, figures in result["modes"].items():
        for rate in _rates(figures):
            f = figures[rate]
            rps = f"{f['rps']} ({_low_high(f['rps_range'])})"
            p99 = f"{f['p99_ms']} ({_low_high(f['p99_ms_range'])})"
            rows.append([mode, rate, rps, f["p50_ms"], f["p95_ms"], p99, f["p999_ms"], f["errors"], f["cpu_s_per_10k"]])
    header = [
        "mode", "offered", "achieved req/s (min-max)", "p50 ms", "p95 ms", "p99 ms (min-max)", "p99.9 ms", "errors",
        "CPU s / 10k req",
    ]  # fmt: skip
    return _table(header, rows)


def _process_table(result: dict) -> list[str]:
    rows = [
        [mode, figures["server_peak_rss_mb"], figures.get("cache_hit_rate", "-")]
        for mode, figures in result["modes"].items()
    ]
    return _table(["mode", "peak RSS MB", "cache hit rate"], rows)


def _in_process_table(result: dict) -> list[str]:
    rows = []
    for name in ("cold", "cold_no_pe", "warm"):
        f = result["in_process"][name]
        p99 = f"{f['p99_us']} ({_low_high(f['p99_us_range'])})"
        rows.append([name, f["p50_us"], f["p95_us"], p99, f["p999_us"], f["hit_rate"]])
    return _table(["path", "p50 µs", "p95 µs", "p99 µs (min-max)", "p99.9 µs", "hit rate"], rows)


ENGINE_CALLS = (
    "embedded_single",
    "embedded_single_full_input",
    "embedded_single_residual",
    "embedded_single_residual_deadline",
    "exact_key_residual",
    "embedded_batch_10",
    "embedded_batch_100",
    "opa_server_http",
)


def _engine_table(result: dict) -> list[str]:
    engine = result["engine"]
    rows = []
    for name in (c for c in ENGINE_CALLS if c in engine):
        f = engine[name]
        rate = f.get("evals_per_s") or f.get("decisions_per_s")
        per = f.get("per_decision_us", round(1e6 / rate, 1) if rate else "-")
        rows.append([name, f["p50_us"], f["p95_us"], f["p99_us"], f["p999_us"], rate, per])
    header = ["call", "p50 µs", "p95 µs", "p99 µs", "p99.9 µs", "decisions/s", "µs per decision"]
    return _table(header, rows)


def _cache_table(result: dict) -> list[str]:
    fields = ("requests", "hit_rate", "ceiling", "distinct_keys", "shadow_checks", "shadow_mismatches")
    rows = [[name, *(c[k] for k in fields), c["residual_share"]] for name, c in result["cache"].items()]
    header = [
        "residuals", "requests", "hit rate", "ceiling", "distinct keys", "shadow checks", "shadow mismatches",
        "residual share",
    ]  # fmt: skip
    return _table(header, rows)


def _l2_table(result: dict) -> list[str]:
    l2 = result["l2"]
    rows = [
        [name, *(l2[name][k] for k in ("p50_us", "p95_us", "p99_us", "p999_us"))]
        for name in ("l2_read", "evaluate_residual")
    ]
    verdict = "cheaper" if l2["l2_read_cheaper"] else "dearer"
    return [
        *_table(["on an L1 miss", "p50 µs", "p95 µs", "p99 µs", "p99.9 µs"], rows),
        "",
        f"An L2 read is {verdict} than evaluating here; the default (`--l2-read` off) was set from this measurement.",
    ]


def write_report(result: dict, report: Path, plots: Path, command: str) -> None:
    plots.mkdir(parents=True, exist_ok=True)
    rates = [r for r in _rates(next(iter(result["modes"].values()))) if r != "max"]
    focus = "10000" if "10000" in rates else rates[-1]
    plot_latency_at(result, focus, plots / f"latency-at-{focus}.png")
    plot_p99_by_load(result, plots / "p99-by-load.png")
    rel = plots.relative_to(report.parent) if plots.is_relative_to(report.parent) else plots
    plan = result["plan"]
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{command}` on {result['date']}. Machine: {result['machine']}; OPA {result['versions']['opa']}, "
        f"{result['versions']['go']}. Workload: {result['workload']} (../shared/spec/WORKLOAD.md).",
        "",
        "This machine is a shared VM and noisy: the same call measures up to 2x apart from one run to the next.",
        "Compare modes within this file (one run, one machine), not against figures from elsewhere.",
        f"HTTP figures are medians of {plan['repeats']} runs of {plan['seconds']} s per rate, with the min-max of the",
        f"runs; the system under test is pinned to CPU {plan['server_cpus']} and the load generator to CPU "
        f"{plan['load_cpus']}",
        "(taskset), so one core serves everything: HTTP, Python and the Go engine.",
        "",
        "Modes: " + "; ".join(f"`{m}`: {MODE_NAMES.get(m, m)}" for m in result["modes"]) + ".",
        "",
        "## The engine in process vs OPA as a server",
        "",
        "`policy-engine bench engine`: the bridge called directly on the workload's inputs (projected onto what",
        "the policy reads, as the service sends them; the full input; and routed to the residual of the input's",
        "action, as the service routes it), single calls and batches of the full query, against the same inputs",
        "POSTed to `opa run --server` over HTTP by a keep-alive client (the old sidecar path).",
        "",
        *_engine_table(result),
        "",
        f"OPA server over HTTP / embedded single call: {result['engine'].get('sidecar_over_embedded')}; RSS of the "
        f"benchmark process {result['engine']['rss_mb']} MB.",
        "",
        "## The service's decision function in process (no HTTP)",
        "",
        "The old plan's own baseline: sequential calls of the evaluate path, timed from the request body's bytes",
        "(parse, input building, cache, engine, response fields). `cold`: no cache, every call evaluates;",
        "`cold_no_pe`: the same without residuals;",
        "`warm`: a second pass over the same requests, all served by the L1 cache.",
        "",
        *_in_process_table(result),
        "",
        "## Cache hit rate on the reference workload",
        "",
        "`policy-engine bench cache`: every request of the trace through the decision path; the ceiling is",
        "1 - distinct decision keys / requests; shadow mode re-evaluated the share of hits it names.",
        "",
        *_cache_table(result),
        "",
        "## L2 read or evaluate?",
        "",
        "`policy-engine bench l2`: on an L1 miss, an awaited Redis read of a present key (through the",
        "service's L2 tier) against the evaluation it would save (the residual query), same keys, one process.",
        "",
        *_l2_table(result),
        "",
        "## HTTP",
        "",
        "Open loop at fixed rates (vegeta), closed-loop maximum (`max`, wrk, "
        f"{plan['connections']} connections). Errors are non-2xx answers and transport errors.",
        "",
        *_http_table(result),
        "",
        *_process_table(result),
        "",
        f"![latency at {focus} req/s]({rel}/latency-at-{focus}.png)",
        "",
        "Each curve above is one run: the middle one of the repeats, in the order they ran.",
        "",
        f"![p99 against offered load]({rel}/p99-by-load.png)",
        "",
        "## Reproduce",
        "",
        "    make bench                                   # everything above; writes this file and the plots",
        "    .venv/bin/policy-engine bench suite --quick --json   # under 2 minutes",
        "    .venv/bin/policy-engine bench engine | cache | suite --help",
        "    scripts/bench-many-core.sh                   # 1, 2 and 4 workers, on a machine with 8+ cores",
        "",
        "That last script's one run so far, on a lent 16-core machine, is in docs/bench/many-core.md.",
        "",
    ]
    report.write_text("\n".join(lines))
