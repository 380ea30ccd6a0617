"""`policy-engine serve`: options, then uvicorn (uvloop, httptools) with one app per worker."""

import argparse
import os
import sys

from policy_engine.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    defaults = Settings.from_env()
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port, help="default 8001 (PORT)")
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--bundle", default=defaults.bundle, help="bundle directory or .tar.gz")
    parser.add_argument("--engine", choices=["embedded", "opa-http"], default=defaults.engine)
    parser.add_argument("--opa-url", default=defaults.opa_url, help="external OPA for --engine opa-http (OPA_URL)")
    parser.add_argument(
        "--redis-url",
        default=defaults.redis_url,
        help="L2 cache: redis[s]://, redis[s]+sentinel://, redis[s]+cluster:// (README); empty: L1 only (REDIS_URL)",
    )
    parser.add_argument("--cache-ttl", type=float, default=defaults.cache_ttl, help="seconds (CACHE_TTL)")
    parser.add_argument("--no-cache", dest="cache_enabled", action="store_false", default=defaults.cache_enabled)
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes)
    parser.add_argument("--warmup-file", default=defaults.warmup_file, help="JSON lines of requests to decide first")
    parser.add_argument(
        "--bundle-poll-seconds", type=float, default=defaults.bundle_poll_seconds, help="reload on change; 0: off"
    )
    bundles = parser.add_argument_group("bundles (OPA's bundle protocol and `opa run`'s verification flags)")
    bundles.add_argument("--bundle-min-delay", type=float, default=defaults.bundle_min_delay, help="seconds")
    bundles.add_argument("--bundle-max-delay", type=float, default=defaults.bundle_max_delay, help="seconds")
    bundles.add_argument(
        "--bundle-long-poll-seconds",
        type=float,
        default=defaults.bundle_long_poll_seconds,
        help="ask the server to hold a poll until a change, up to this long (0: off)",
    )
    bundles.add_argument(
        "--bundle-token", default=defaults.bundle_token, help="bearer token for the bundle server (PE_BUNDLE_TOKEN)"
    )
    bundles.add_argument("--verification-key", default=defaults.verification_key, help="PEM key, secret or file")
    bundles.add_argument("--verification-key-id", default=defaults.verification_key_id)
    bundles.add_argument("--signing-alg", default=defaults.signing_alg, help="RS256, ES256, HS256, ...")
    bundles.add_argument("--scope", default=defaults.scope, help="the scope the signature must carry")
    bundles.add_argument(
        "--exclude-files-verify", default=defaults.exclude_files_verify, help="comma-separated files not verified"
    )
    bundles.add_argument(
        "--v0-compatible", action="store_true", default=defaults.v0_compatible, help="Rego v0 unless the manifest says"
    )
    parser.add_argument("--l2-read", action="store_true", default=defaults.l2_read, help="read Redis on an L1 miss")
    parser.add_argument("--shadow-rate", type=float, default=defaults.shadow_rate, help="share of hits re-evaluated")
    parser.add_argument("--batch-max-items", type=int, default=defaults.batch_max_items, help="per batch request")
    parser.add_argument("--no-batching", dest="batching", action="store_false", default=defaults.batching)
    parser.add_argument("--batch-window-us", type=int, default=defaults.batch_window_us, help="0: no waiting")
    parser.add_argument("--no-partial-eval", dest="partial_eval", action="store_false", default=defaults.partial_eval)
    parser.add_argument(
        "--eval-timeout-ms", type=int, default=defaults.eval_timeout_ms, help="an evaluation's deadline (fail closed)"
    )
    parser.add_argument(
        "--disable-query-endpoints",
        action="store_true",
        default=defaults.disable_query_endpoints,
        help="refuse queries written by clients (/v1/compile)",
    )
    conns = parser.add_argument_group("connections")
    conns.add_argument("--max-header-bytes", type=int, default=defaults.max_header_bytes, help="else 431")
    conns.add_argument("--max-headers", type=int, default=defaults.max_headers, help="else 431")
    conns.add_argument("--header-timeout", type=float, default=defaults.header_timeout, help="seconds, else 408")
    conns.add_argument("--body-timeout", type=float, default=defaults.body_timeout, help="seconds, else 408")
    conns.add_argument("--keep-alive-timeout", type=float, default=defaults.keep_alive_timeout, help="seconds")
    conns.add_argument(
        "--max-connections", type=int, default=defaults.max_connections, help="per worker; beyond it 503"
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=defaults.drain_seconds,
        help="after SIGTERM, /ready is 503 and requests are still served this long (for load balancers)",
    )
    parser.add_argument(
        "--shutdown-timeout", type=float, default=defaults.shutdown_timeout, help="seconds for requests in flight"
    )
    parser.add_argument("--log-level", default=defaults.log_level, help="(LOG_LEVEL)")
    return parser


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from policy_engine.http.protocol import BoundedHttpToolsProtocol

    overrides = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
    settings = Settings(**{**Settings.from_env().__dict__, **overrides})
    if settings.redis_url:
        from policy_engine.cache.redis_client import RedisUrlError, redis_client

        try:
            redis_client(settings.redis_url, settings.redis_timeout)  # parses the URL; connects to nothing
        except (RedisUrlError, ValueError) as exc:
            print(f"policy-engine serve: --redis-url (REDIS_URL): {exc}", file=sys.stderr)
            return 2
    os.environ.update(settings.to_env())
    uvicorn.run(
        "policy_engine.http.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        limit_concurrency=settings.max_connections,
        lifespan="on",
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout)),
    )
    return 0
