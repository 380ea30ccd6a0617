"""`policy-engine serve`: options, then uvicorn (uvloop, httptools) with one app per worker.

Exit status: 0 after a clean stop; 2 when an option, a variable or the bundle path is wrong
(one line on stderr, nothing started); 1 when the port is taken (checked before any bundle is
loaded); 3 (uvicorn's) when a worker could not start, e.g. the bundle was refused.
"""

import argparse
import errno
import os
import re
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.config import ENGINES, LOG_FORMATS, LOG_LEVELS, Settings, SettingsError

if TYPE_CHECKING:
    import uvicorn

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """Seconds from a Go-style duration (`500ms`, `2s`, `1m`) or a plain number of seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 1s, 500ms)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    d = Settings.from_env()
    add = parser.add_argument
    add("--host", default=d.host, help=f"address to listen on (default {d.host})")
    add("--port", type=int, default=d.port, help=f"port to listen on (default {d.port}; PORT)")
    add("--workers", type=int, default=d.workers, help="worker processes, each with its own engine (at least 1)")
    add("--bundle", default=d.bundle, help="bundle directory, .tar.gz, or http(s):// bundle server URL")
    add("--engine", choices=ENGINES, default=d.engine, help="embedded OPA, or the old path through an external OPA")
    add("--opa-url", default=d.opa_url, help="external OPA for --engine opa-http (OPA_URL)")
    add(
        "--redis-url",
        default=d.redis_url,
        help="L2 cache: redis[s]://, redis[s]+sentinel://, redis[s]+cluster:// (README); empty: L1 only (REDIS_URL)",
    )
    add("--cache-ttl", type=float, default=d.cache_ttl, help="seconds a cached decision lives (CACHE_TTL)")
    add("--no-cache", dest="cache_enabled", action="store_false", default=d.cache_enabled, help="no decision cache")
    add("--max-body-bytes", type=int, default=d.max_body_bytes, help="larger request bodies are answered 413")
    add("--warmup-file", default=d.warmup_file, help="JSON lines of requests to decide first (not ready until done)")
    add(
        "--bundle-poll-seconds",
        type=float,
        default=d.bundle_poll_seconds,
        help="reload a local bundle on change; 0: off",
    )
    bundles = parser.add_argument_group("bundles (OPA's bundle protocol and `opa run`'s verification flags)")
    bundles.add_argument(
        "--bundle-min-delay", type=float, default=d.bundle_min_delay, help="least seconds between polls"
    )
    bundles.add_argument(
        "--bundle-max-delay", type=float, default=d.bundle_max_delay, help="most seconds between polls"
    )
    bundles.add_argument(
        "--bundle-long-poll-seconds",
        type=float,
        default=d.bundle_long_poll_seconds,
        help="ask the server to hold a poll until a change, up to this long (0: off)",
    )
    bundles.add_argument("--bundle-token", default=d.bundle_token, help="bearer token for the bundle server")
    bundles.add_argument("--verification-key", default=d.verification_key, help="PEM key, secret or file")
    bundles.add_argument("--verification-key-id", default=d.verification_key_id, help="the key's id in signatures")
    bundles.add_argument("--signing-alg", default=d.signing_alg, help="RS256, ES256, HS256, ...")
    bundles.add_argument("--scope", default=d.scope, help="the scope the signature must carry")
    bundles.add_argument(
        "--exclude-files-verify", default=d.exclude_files_verify, help="comma-separated files not verified"
    )
    bundles.add_argument(
        "--v0-compatible", action="store_true", default=d.v0_compatible, help="Rego v0 unless the manifest says"
    )
    add("--l2-read", action="store_true", default=d.l2_read, help="read Redis on an L1 miss")
    add("--shadow-rate", type=float, default=d.shadow_rate, help="share of cache hits re-evaluated (0 to 1)")
    add("--batch-max-items", type=int, default=d.batch_max_items, help="items per batch API request, at most")
    add("--no-batching", dest="batching", action="store_false", default=d.batching, help="one engine call per miss")
    add("--batch-window-us", type=int, default=d.batch_window_us, help="microseconds a batch waits to fill; 0: none")
    add(
        "--no-partial-eval",
        dest="partial_eval",
        action="store_false",
        default=d.partial_eval,
        help="evaluate the whole policy, never its residual",
    )
    add("--eval-timeout-ms", type=int, default=d.eval_timeout_ms, help="an evaluation's deadline (fail closed)")
    add(
        "--disable-query-endpoints",
        action="store_true",
        default=d.disable_query_endpoints,
        help="refuse queries written by clients (/v1/compile)",
    )
    opa = parser.add_argument_group("OPA's REST API, authentication, authorization, TLS (as `opa run`)")
    opa.add_argument("--default-decision", default=d.default_decision, help="the decision POST / answers")
    opa.add_argument(
        "--authentication", choices=["off", "token", "tls"], default=d.authentication, help="bearer tokens"
    )
    opa.add_argument(
        "--authorization", choices=["off", "basic"], default=d.authorization, help="the system.authz policy"
    )
    opa.add_argument(
        "--authorization-exempt",
        default=d.authorization_exempt,
        help="comma-separated paths answered without authentication or authorization",
    )
    opa.add_argument("--tls-cert-file", default=d.tls_cert_file, help="serve HTTPS with this certificate")
    opa.add_argument("--tls-private-key-file", default=d.tls_private_key_file, help="the certificate's private key")
    opa.add_argument("--tls-ca-cert-file", default=d.tls_ca_cert_file, help="CA of client certificates (mutual TLS)")
    opa.add_argument(
        "--tls-cert-refresh-period",
        type=duration,
        default=d.tls_cert_refresh_period,
        help="how often the certificate files are checked for a change",
    )
    conns = parser.add_argument_group("connections")
    conns.add_argument("--max-header-bytes", type=int, default=d.max_header_bytes, help="else 431")
    conns.add_argument("--max-headers", type=int, default=d.max_headers, help="else 431")
    conns.add_argument("--header-timeout", type=float, default=d.header_timeout, help="seconds, else 408")
    conns.add_argument("--body-timeout", type=float, default=d.body_timeout, help="seconds, else 408")
    conns.add_argument("--keep-alive-timeout", type=float, default=d.keep_alive_timeout, help="seconds")
    conns.add_argument("--max-connections", type=int, default=d.max_connections, help="per worker; beyond it 503")
    add(
        "--cors-origins",
        default=d.cors_origins,
        help="comma-separated origins browsers may call from, or *; default none (no CORS headers)",
    )
    add(
        "--drain-seconds",
        type=float,
        default=d.drain_seconds,
        help="after SIGTERM, /ready is 503 and requests are still served this long (for load balancers)",
    )
    add("--shutdown-timeout", type=float, default=d.shutdown_timeout, help="seconds for requests in flight")
    logs = parser.add_argument_group("logs")
    logs.add_argument("--log-level", default=d.log_level, help=f"{', '.join(LOG_LEVELS)} (LOG_LEVEL)")
    logs.add_argument("--log-format", default=d.log_format, help=f"{' or '.join(LOG_FORMATS)}: one object a line")
    logs.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=d.access_log,
        help="one line per request (off by default; JSON with --log-format json)",
    )
    decision_logs = parser.add_argument_group("decision logs (OPA's format; any number of sinks at once)")
    decision_logs.add_argument(
        "--decision-log-console",
        action="store_true",
        default=d.decision_log_console,
        help="JSON lines on stdout",
    )
    decision_logs.add_argument("--decision-log-file", default=d.decision_log_file, help="JSON lines appended to PATH")
    decision_logs.add_argument(
        "--decision-log-file-max-bytes", type=int, default=d.decision_log_file_max_bytes, help="then rotate"
    )
    decision_logs.add_argument(
        "--decision-log-file-keep", type=int, default=d.decision_log_file_keep, help="rotated files kept"
    )
    decision_logs.add_argument(
        "--decision-log-url", default=d.decision_log_url, help="OPA decision log service (POST URL/logs, gzip)"
    )
    decision_logs.add_argument("--decision-log-token", default=d.decision_log_token, help="bearer token for the URL")
    decision_logs.add_argument(
        "--decision-log-upload-limit-bytes",
        type=int,
        default=d.decision_log_upload_limit_bytes,
        help="compressed bytes per upload",
    )
    decision_logs.add_argument(
        "--decision-log-retry-max-seconds",
        type=float,
        default=d.decision_log_retry_max_seconds,
        help="longest wait between upload retries",
    )
    decision_logs.add_argument(
        "--decision-log-buffer-events",
        type=int,
        default=d.decision_log_buffer_events,
        help="events held per buffer before the oldest are dropped",
    )
    decision_logs.add_argument(
        "--decision-log-sync",
        action="store_true",
        default=d.decision_log_sync,
        help="answer a request only once its event is written to the file",
    )
    decision_logs.add_argument(
        "--decision-log-mask", default=d.decision_log_mask, help="JSON pointers removed, e.g. /input/password"
    )
    decision_logs.add_argument("--decision-log-labels", default=d.decision_log_labels, help="k=v,... added to labels")
    decision_logs.add_argument(
        "--shadow-opa-url", default=d.shadow_opa_url, help="an OPA server asked the same questions (A/B)"
    )
    decision_logs.add_argument(
        "--shadow-opa-rate", type=float, default=d.shadow_opa_rate, help="share of decisions sent to it"
    )
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings under the command line's, checked (SettingsError)."""
    overrides = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
    settings = Settings(**{**Settings.from_env().__dict__, **overrides}).validated()
    if "://" not in settings.bundle and settings.engine == "embedded" and not Path(settings.bundle).exists():
        raise SettingsError(f"--bundle {settings.bundle}: no such file or directory")
    problem = tls_problem(settings) or decision_log_problem(settings)
    if problem:
        raise SettingsError(problem)
    if settings.redis_url:
        from policy_engine.cache.redis_client import RedisUrlError, redis_client

        try:
            redis_client(settings.redis_url, settings.redis_timeout)  # parses the URL; connects to nothing
        except (RedisUrlError, ValueError) as exc:
            raise SettingsError(f"--redis-url (REDIS_URL): {exc}") from None
    return settings


def port_taken(host: str, port: int) -> str | None:
    """Why (host, port) cannot be listened on, or None. Bound and released as uvicorn binds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def tls_problem(settings: Settings) -> str:
    """What is missing for the TLS and authentication flags given, as `opa run` refuses it."""
    if bool(settings.tls_cert_file) != bool(settings.tls_private_key_file):
        return "--tls-cert-file and --tls-private-key-file go together"
    if settings.authentication == "tls" and not (settings.tls_cert_file and settings.tls_ca_cert_file):
        return "--authentication tls needs --tls-cert-file, --tls-private-key-file and --tls-ca-cert-file"
    if settings.tls_ca_cert_file and not settings.tls_cert_file:
        return "--tls-ca-cert-file needs --tls-cert-file and --tls-private-key-file"
    return ""


def decision_log_problem(settings: Settings) -> str | None:
    """What is wrong with the decision log options, said before any worker starts."""
    from policy_engine.decision_logs.mask import static_rules

    if settings.decision_log_sync and not settings.decision_log_file:
        return "--decision-log-sync needs --decision-log-file"
    try:
        static_rules(settings.decision_log_mask)
    except ValueError as exc:
        return f"--decision-log-mask: {exc} (pointers under /input or /result, e.g. /input/password)"
    if not 0 <= settings.shadow_opa_rate <= 1:
        return "--shadow-opa-rate is a share between 0 and 1"
    return None


def serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    taken = port_taken(settings.host, settings.port)
    if taken is not None:
        print(f"policy-engine serve: error: {taken}", file=sys.stderr)
        return 1

    import uvicorn

    from policy_engine.http.logs import logging_config
    from policy_engine.http.protocol import BoundedHttpToolsProtocol
    from policy_engine.shared_metrics import shared_metrics_dir

    os.environ.update(settings.to_env())
    options = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "uvloop",
        "http": BoundedHttpToolsProtocol,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections,
        "lifespan": "on",
        "access_log": settings.access_log,
        "log_config": logging_config(settings.log_format, settings.log_level),
        "log_level": None,  # the levels are logging_config's
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout)),
    }
    if settings.tls_cert_file:
        from policy_engine.http.tls import context_factory

        options |= {"ssl_certfile": settings.tls_cert_file, "ssl_context_factory": context_factory}
    with shared_metrics_dir(settings.workers):
        if settings.workers == 1:
            uvicorn.run(APP, **options)  # exits with 3 when the start-up fails
            return 0
        return supervise(uvicorn.Config(APP, **options))


APP = "policy_engine.http.app:create_app"


def supervise(config: "uvicorn.Config") -> int:
    """uvicorn.run's several-worker branch, keeping the exit status: 3 when a worker failed to start
    (a refused bundle), which uvicorn.run would turn into 0."""
    from uvicorn.main import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
