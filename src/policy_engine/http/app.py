"""The ASGI application: routing, lifespan, and the layers below it wired together."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from policy_engine.batching.batcher import Batcher, Inline
from policy_engine.bundle.watch import watch_bundle
from policy_engine.cache.decision_cache import DecisionCache
from policy_engine.cache.keys import L2Keys
from policy_engine.cache.l1 import L1Cache
from policy_engine.cache.l2 import RedisTier
from policy_engine.cache.warmup import warm
from policy_engine.config import Settings
from policy_engine.decisions import Decisions, EmbeddedDecisions, OpaHttpDecisions
from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import EngineError
from policy_engine.http.acgs_endpoints import AcgsEndpoints
from policy_engine.http.asgi import Request, Response, json_response, send
from policy_engine.http.batch_endpoints import BatchEndpoints
from policy_engine.http.opa_endpoints import OpaEndpoints
from policy_engine.http.openapi import OPENAPI
from policy_engine.metrics import Metrics

log = logging.getLogger("policy_engine")

Handler = Callable[[Request], Awaitable[Response]]
PrefixHandler = Callable[[Request, str], Awaitable[Response]]


async def build_decisions(settings: Settings, metrics: Metrics) -> Decisions:
    """The decision path the settings ask for; the engine is loaded here, in this process."""
    if settings.engine == "opa-http":
        from policy_engine.engine.opa_http import CircuitBreaker, OpaHttpClient

        breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)
        client = OpaHttpClient(settings.opa_url, settings.opa_timeout, settings.opa_pool_size, breaker)
        return OpaHttpDecisions(client, metrics)
    if settings.engine != "embedded":
        raise ValueError(f"unknown engine {settings.engine!r}: embedded or opa-http")
    engine = Engine(settings.bundle, query=settings.query)
    batcher = Batcher(settings.batch_max, settings.batch_window_us, metrics) if settings.batching else Inline(metrics)
    decisions = EmbeddedDecisions(engine, metrics, await build_cache(settings, metrics), batcher, settings.partial_eval)
    if decisions.l2 is not None:
        decisions.l2.subscribe_revisions(decisions.other_revision)
    return decisions


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
        self.decisions: Decisions | None = None
        self.routes: dict[str, dict[str, Handler]] = {}
        self.prefixes: list[tuple[str, dict[str, PrefixHandler]]] = []
        self._tasks: set[asyncio.Task] = set()

    async def startup(self) -> None:
        self.decisions = await build_decisions(self.settings, self.metrics)
        acgs = AcgsEndpoints(self.decisions, self.metrics, self.settings.query, self.settings.max_body_bytes)
        opa = OpaEndpoints(self.decisions, self.settings.max_body_bytes)
        batch = BatchEndpoints(acgs, self.decisions, self.settings.max_body_bytes, self.settings.batch_max_items)
        self.routes = {
            "/v1/evaluate": {"POST": acgs.evaluate},
            "/api/v1/evaluate": {"POST": acgs.evaluate},
            "/health": {"GET": acgs.health},
            "/ready": {"GET": acgs.ready},
            "/metrics": {"GET": self.metrics_text},
            "/openapi.json": {"GET": self.openapi},
            "/v1/compile": {"POST": opa.compile},
            "/v1/batch/evaluate": {"POST": batch.evaluate},
        }
        self.prefixes = [
            ("/v1/data", {"GET": opa.data_v1, "POST": opa.data_v1}),
            ("/v0/data", {"POST": opa.data_v0}),
            ("/v1/batch/data", {"POST": batch.data}),
        ]
        if isinstance(self.decisions, EmbeddedDecisions):
            self._background(self._prepare(self.decisions))
        log.info("policy engine ready: engine=%s revision=%s", self.settings.engine, self.decisions.revision)

    def _background(self, coro: Coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prepare(self, decisions: EmbeddedDecisions) -> None:
        """Warm the cache (not ready until then), then watch the bundle if asked to."""
        if self.settings.warmup_file:
            decisions.ready = False
            try:
                await warm(decisions, self.settings.query, Path(self.settings.warmup_file))
            except OSError as exc:
                log.warning("warm-up skipped: %s", exc)
            decisions.ready = True
        if self.settings.bundle_poll_seconds > 0:
            bundle = Path(self.settings.bundle)
            await watch_bundle(bundle, self.settings.bundle_poll_seconds, lambda: self._reload(decisions))

    async def _reload(self, decisions: EmbeddedDecisions) -> None:
        """Load the changed bundle beside the current one; a bundle that fails to load changes nothing."""
        try:
            engine = await asyncio.to_thread(Engine, self.settings.bundle, self.settings.query)
        except EngineError as exc:
            log.error("new bundle rejected, still serving revision %s: %s", decisions.revision, exc.message)
            return
        if engine.revision == decisions.revision:
            engine.close()
            return
        # Partial evaluation compiles the bundle once per action: off the event loop.
        decisions.swap(engine, await asyncio.to_thread(decisions.residuals_for, engine))
        log.warning("serving bundle revision %s", engine.revision)
        if self.settings.warmup_file:
            await warm(decisions, self.settings.query, Path(self.settings.warmup_file))
        if decisions.l2 is not None:
            await decisions.l2.publish_revision(engine.revision)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.decisions is not None:
            await self.decisions.close()

    async def metrics_text(self, request: Request) -> Response:
        return Response(200, generate_latest(self.metrics.registry), [(b"content-type", CONTENT_TYPE_LATEST.encode())])

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
        return "unknown", _not_found()

    async def __call__(self, scope: dict, receive: Any, send_fn: Any) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send_fn)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send_fn)

    async def http(self, scope: dict, receive: Any, send_fn: Any) -> None:
        started = time.perf_counter()
        request = Request(scope["method"], scope["path"], scope["query_string"], scope, receive)
        if self.decisions is None:
            response = json_response(503, {"detail": "Service not ready"})
            endpoint = request.path
        else:
            endpoint, answer = self.route(request)
            response = await answer
        await send(send_fn, response)
        self.metrics.requests.observe(time.perf_counter() - started, endpoint, request.method, str(response.status))

    async def lifespan(self, receive: Any, send_fn: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send_fn({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send_fn({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send_fn({"type": "lifespan.shutdown.complete"})
                return


async def _not_found() -> Response:
    return json_response(404, {"detail": "Not Found"})


async def _not_allowed(methods: dict) -> Response:
    allow = ", ".join(sorted(methods)).encode()
    return Response(
        405, b'{"detail":"Method Not Allowed"}', [(b"content-type", b"application/json"), (b"allow", allow)]
    )


def create_app() -> App:
    """uvicorn's factory: each worker process builds its own app (and loads its own bridge)."""
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return App(settings)
