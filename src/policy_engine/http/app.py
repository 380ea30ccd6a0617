"""The ASGI application: routing, lifespan, and the layers below it wired together."""

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from policy_engine import __version__
from policy_engine.batching.batcher import Batcher, Deadlines, Inline
from policy_engine.bundle.manager import BundleManager, BundleUnavailable, Source
from policy_engine.bundle.sources import HttpSource, LocalSource, Polling, is_url
from policy_engine.cache.decision_cache import DecisionCache
from policy_engine.cache.keys import L2Keys
from policy_engine.cache.l1 import L1Cache
from policy_engine.cache.l2 import RedisTier
from policy_engine.cache.warmup import warm
from policy_engine.config import Settings
from policy_engine.decision_logs.logger import DecisionLogger
from policy_engine.decision_logs.setup import build_logger
from policy_engine.decisions import Decisions, EmbeddedDecisions, OpaHttpDecisions
from policy_engine.engine.engine import Engine, LoadOptions, Verification
from policy_engine.http.acgs_endpoints import AcgsEndpoints
from policy_engine.http.asgi import Request, Response, json_response, send
from policy_engine.http.auth import Authorizer
from policy_engine.http.batch_endpoints import BatchEndpoints
from policy_engine.http.compression import GZIP_MIN_LENGTH, gzipped
from policy_engine.http.cors import Cors
from policy_engine.http.drain import Drain
from policy_engine.http.opa_endpoints import OpaEndpoints
from policy_engine.http.opa_native import OpaNative
from policy_engine.http.openapi import OPENAPI
from policy_engine.http.supervision import die_with_parent
from policy_engine.http.tls import watch_certificates
from policy_engine.metrics import Metrics
from policy_engine.shared_metrics import FLUSH_SECONDS, scrape_registry
from policy_engine.snapshot import PolicySnapshot

log = logging.getLogger("policy_engine")

Handler = Callable[[Request], Awaitable[Response]]
PrefixHandler = Callable[[Request, str], Awaitable[Response]]


def load_options(settings: Settings) -> LoadOptions:
    verification = None
    if settings.verification_key:
        verification = Verification(
            settings.verification_key,
            settings.verification_key_id,
            settings.signing_alg,
            settings.scope,
            tuple(f for f in settings.exclude_files_verify.split(",") if f),
        )
    return LoadOptions(settings.v0_compatible, verification)


def build_snapshot(settings: Settings, metrics: Metrics, bundle: Path) -> PolicySnapshot:
    """A bundle loaded, verified, compiled and specialised: blocking, so run it in a thread."""
    engine = Engine(bundle, query=settings.query, options=load_options(settings))
    return PolicySnapshot(engine, metrics, settings.partial_eval)


def bundle_source(settings: Settings) -> Source:
    if is_url(settings.bundle):
        polling = Polling(settings.bundle_min_delay, settings.bundle_max_delay, settings.bundle_long_poll_seconds)
        return HttpSource(settings.bundle, polling, settings.bundle_token)
    return LocalSource(Path(settings.bundle), settings.bundle_poll_seconds)


async def build_decisions(settings: Settings, metrics: Metrics, snapshot: PolicySnapshot | None = None) -> Decisions:
    """The decision path the settings ask for; the engine is loaded here, in this process (from the
    local bundle unless a snapshot is given)."""
    if settings.engine == "opa-http":
        from policy_engine.engine.opa_http import CircuitBreaker, OpaHttpClient

        breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)
        client = OpaHttpClient(settings.opa_url, settings.opa_timeout, settings.opa_pool_size, breaker)
        return OpaHttpDecisions(client, metrics)
    if settings.engine != "embedded":
        raise ValueError(f"unknown engine {settings.engine!r}: embedded or opa-http")
    if snapshot is None:
        snapshot = await asyncio.to_thread(build_snapshot, settings, metrics, Path(settings.bundle))
    deadlines = Deadlines(timeout=settings.eval_timeout_ms / 1000)
    batcher = (
        Batcher(settings.batch_max, settings.batch_window_us, metrics, deadlines)
        if settings.batching
        else Inline(metrics, deadlines)
    )
    return EmbeddedDecisions(snapshot, metrics, await build_cache(settings, metrics), batcher)


async def build_cache(settings: Settings, metrics: Metrics) -> DecisionCache | None:
    if not settings.cache_enabled:
        return None
    l2 = None
    if settings.redis_url:
        l2 = RedisTier(settings.redis_url, settings.cache_ttl, settings.redis_timeout, on_error=metrics.l2_errors.inc)
        await l2.start()
    l1 = L1Cache(settings.l1_max_entries, settings.l1_max_bytes, settings.cache_ttl)
    l2_keys = L2Keys(settings.cache_key_secret.encode())
    return DecisionCache(l1, l2, settings.l2_read, metrics, settings.shadow_rate, l2_keys)


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.scraped, self.worker_files = scrape_registry(self.metrics)
        self.decisions: Decisions | None = None
        self.bundles: BundleManager | None = None
        self.drain = Drain(settings.drain_seconds, settings.shutdown_timeout)
        self.routes: dict[str, dict[str, Handler]] = {}
        self.prefixes: list[tuple[str, dict[str, PrefixHandler]]] = []
        self._tasks: set[asyncio.Task] = set()
        self.authorizer: Authorizer | None = None  # --authorization basic
        self.exempt = frozenset(p for p in settings.authorization_exempt.split(",") if p)
        self.logs: DecisionLogger | None = None

    async def startup(self) -> None:
        self.drain.install(asyncio.get_running_loop())
        if self.settings.engine == "embedded":
            build = functools.partial(build_snapshot, self.settings, self.metrics)
            self.bundles = BundleManager(bundle_source(self.settings), build, self._activate, self.metrics)
            await self.bundles.start()  # the first activation builds self.decisions
        else:
            self.decisions = await build_decisions(self.settings, self.metrics)
        assert self.decisions is not None
        self.logs = build_logger(self.settings, self.metrics, self._current_engine)
        if self.logs is not None:
            self.logs.start()
        settings, logs = self.settings, self.logs
        acgs = AcgsEndpoints(self.decisions, self.metrics, settings.query, settings.max_body_bytes, logs)
        native = OpaNative(self.decisions, settings, logs)
        opa = OpaEndpoints(self.decisions, settings.max_body_bytes, native, logs)
        self.opa = opa
        if settings.authorization == "basic":
            self.authorizer = Authorizer(self.decisions, settings.authentication, settings.max_body_bytes)
        if settings.tls_cert_file:
            self._background(watch_certificates(settings.tls_cert_refresh_period))
        batch = BatchEndpoints(acgs, self.decisions, settings.max_body_bytes, settings.batch_max_items, logs)
        self.routes = {
            "/v1/evaluate": {"POST": acgs.evaluate},
            "/api/v1/evaluate": {"POST": acgs.evaluate},
            "/health": {"GET": self.health},
            "/ready": {"GET": self.ready},
            "/metrics": {"GET": self.metrics_text},
            "/openapi.json": {"GET": self.openapi},
            "/v1/compile": {
                "POST": _query_endpoints_disabled
                if self.settings.disable_query_endpoints
                else (opa.by_opa if isinstance(self.decisions, EmbeddedDecisions) else opa.compile)
            },
            "/v1/batch/evaluate": {"POST": batch.evaluate},
        }
        self.prefixes = [
            (
                "/v1/data",
                {"GET": opa.data_v1, "POST": opa.data_v1, "PUT": opa.by_opa, "PATCH": opa.by_opa, "DELETE": opa.by_opa},
            ),
            ("/v0/data", {"POST": opa.data_v0}),
            ("/v1/batch/data", {"POST": batch.data}),
        ]
        if isinstance(self.decisions, EmbeddedDecisions):
            self._background(self._prepare(self.decisions))
        if self.worker_files is not None:
            self._background(self._flush_metrics())
        log.info("policy engine ready: engine=%s revision=%s", self.settings.engine, self.decisions.revision)

    async def _flush_metrics(self) -> None:
        """Under several workers: this worker's numbers to its files, for any worker's scrape."""
        assert self.worker_files is not None
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.worker_files.flush()

    def _current_engine(self) -> Engine | None:
        """The active snapshot's engine (decision logs evaluate its system.log rules)."""
        return self.decisions.engine if isinstance(self.decisions, EmbeddedDecisions) else None

    def _background(self, coro: Coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prepare(self, decisions: EmbeddedDecisions) -> None:
        """Warm the cache (not ready until then), then follow the bundle's source."""
        if self.settings.warmup_file:
            decisions.ready = False
            await self._warm(decisions)
            decisions.ready = True
        if decisions.l2 is not None:
            decisions.l2.subscribe_revisions(self._announced)
        assert self.bundles is not None
        if self.settings.bundle_poll_seconds > 0 or is_url(self.settings.bundle):
            await self.bundles.run()

    async def _activate(self, snapshot: PolicySnapshot) -> None:
        """A new snapshot, built off the loop: warmed under its own revision, then swapped in at
        once, then announced to the other instances."""
        if self.decisions is None:
            self.decisions = await build_decisions(self.settings, self.metrics, snapshot)
            return
        assert isinstance(self.decisions, EmbeddedDecisions)
        if self.settings.warmup_file:
            await self._warm(self.decisions.warming(snapshot))
        self.decisions.swap(snapshot)
        if self.decisions.l2 is not None:
            await self.decisions.l2.publish_revision(snapshot.revision)

    async def _warm(self, decisions: EmbeddedDecisions) -> None:
        try:
            await warm(decisions, self.settings.query, Path(self.settings.warmup_file))
        except OSError as exc:
            log.warning("warm-up skipped: %s", exc)

    def _announced(self, revision: str) -> None:
        """Another instance activated a revision: look at the source now, not at the next interval."""
        if self.bundles is not None and revision != self.bundles.status.content_hash:
            self.bundles.poll_now()

    async def ready(self, request: Request) -> Response:
        """API.md's readiness: 503 while warming up and from the moment a stop is asked for."""
        if self.drain.draining or self.decisions is None or not self.decisions.is_ready():
            return json_response(503, {"detail": "Service not ready"})
        return json_response(200, {"status": "ready"})

    async def health(self, request: Request) -> Response:
        """API.md's health, with the bundle's revision; OPA's `?bundles` answers 500 until one is active."""
        status = self.bundles.status if self.bundles is not None else None
        opa_check = request.param("bundles") is not None or request.param("plugins") is not None
        if opa_check and status is not None and not status.activated:
            return json_response(500, {"error": "not all bundles have been activated"})
        assert self.decisions is not None
        dependencies = await self.decisions.dependencies()
        degraded = any("unreachable" in state or "down" in state for state in dependencies.values())
        document = {
            "status": "degraded" if degraded else "healthy",
            "timestamp": datetime.now(UTC).isoformat(),
            "version": __version__,
            "policy_revision": self.decisions.revision,
            "dependencies": dependencies,
        }
        if status is not None:
            document["bundle"] = status.as_json()
        return json_response(200, document)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.bundles is not None:
            await self.bundles.close()
        if self.logs is not None:  # every buffered event reaches its sinks before the process exits
            await self.logs.aclose(self.settings.shutdown_timeout)
        if self.decisions is not None:
            await self.decisions.close()
        if self.worker_files is not None:
            self.worker_files.close()

    async def metrics_text(self, request: Request) -> Response:
        return Response(200, generate_latest(self.scraped), [(b"content-type", CONTENT_TYPE_LATEST.encode())])

    async def openapi(self, request: Request) -> Response:
        return Response(200, orjson.dumps(OPENAPI))

    def route(self, request: Request) -> tuple[str, Awaitable[Response]]:
        """(endpoint label, the awaitable answer): the handler's, a 404 or a 405."""
        methods = self.routes.get(request.path)
        if methods is not None:
            handler = methods.get(request.method)
            return request.path, handler(request) if handler else _not_allowed(methods)
        for prefix, prefix_methods in self.prefixes:
            if request.path == prefix or request.path.startswith(prefix + "/"):
                prefix_handler = prefix_methods.get(request.method)
                if prefix_handler is None:
                    return prefix, _not_allowed(prefix_methods)
                return prefix, prefix_handler(request, request.path[len(prefix) :])
        if _opa_path(request.path):
            if self.settings.disable_query_endpoints and request.path.startswith(_QUERY_ENDPOINTS):
                return "opa", _query_endpoints_disabled(request)
            return "opa", self.opa.by_opa(request)
        return "unknown", _not_found()

    async def __call__(self, scope: dict, receive: Any, send_fn: Any) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send_fn)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send_fn)

    async def http(self, scope: dict, receive: Any, send_fn: Any) -> None:
        started = time.perf_counter()
        self.drain.seen()
        request = Request(scope["method"], scope["path"], scope["query_string"], scope, receive)
        if self.decisions is None:
            response = json_response(503, {"detail": "Service not ready"})
            endpoint = request.path
        elif (
            self.authorizer is not None
            and request.path not in self.exempt
            and (refused := await self.authorizer.refusal(request))
        ):
            response = refused
            endpoint = "unauthorized"
        elif (
            request.method in ("POST", "PUT", "PATCH")
            and _form_like(request.header(b"content-type"))
            and not request.path.startswith("/v1/policies/")  # a policy is text
        ):
            response = _unsupported_media_type()
            endpoint = request.path
        else:
            endpoint, answer = self.route(request)
            response = await answer
        if len(response.body) >= GZIP_MIN_LENGTH:
            response = gzipped(request, response)
        await send(send_fn, response)
        self.metrics.requests.observe(time.perf_counter() - started, endpoint, request.method, str(response.status))

    async def lifespan(self, receive: Any, send_fn: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except BundleUnavailable as exc:
                    log.error("cannot start: %s", exc)
                    await send_fn({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                except Exception as exc:
                    log.exception("start-up failed")
                    await send_fn({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send_fn({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send_fn({"type": "lifespan.shutdown.complete"})
                return


# Everything under these belongs to OPA's API: what the service does not answer itself, OPA's server does.
_OPA_PREFIXES = ("/v1/", "/v0/", "/health/")
_QUERY_ENDPOINTS = ("/v1/query", "/v1/compile")


def _opa_path(path: str) -> bool:
    return path == "/" or path.startswith(_OPA_PREFIXES)


# What a browser sends cross-origin without a preflight: never a JSON body here.
_FORM_TYPES = (b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data")


def _form_like(content_type: bytes | None) -> bool:
    return content_type is not None and content_type.split(b";", 1)[0].strip().lower() in _FORM_TYPES


def _unsupported_media_type() -> Response:
    message = "request bodies are JSON (Content-Type: application/json); form and text bodies are refused"
    return json_response(415, {"detail": message, "code": "unsupported_media_type", "message": message})


async def _query_endpoints_disabled(request: Request) -> Response:
    message = "queries from clients are disabled on this service (--disable-query-endpoints)"
    return json_response(403, {"code": "forbidden", "message": message})


async def _not_found() -> Response:
    return json_response(404, {"detail": "Not Found"})


async def _not_allowed(methods: dict) -> Response:
    allow = ", ".join(sorted(methods)).encode()
    return Response(
        405, b'{"detail":"Method Not Allowed"}', [(b"content-type", b"application/json"), (b"allow", allow)]
    )


def create_app() -> App | Cors:
    """uvicorn's factory: each worker process builds its own app (and loads its own bridge).
    Wrapped for CORS only when origins are configured."""
    die_with_parent()
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = App(settings)
    return Cors(app, settings.cors_origins) if settings.cors_origins else app
