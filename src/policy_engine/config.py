"""Service settings: command-line options over environment variables over defaults.

`policy-engine serve` writes its options into the environment (PE_*), so that every worker
process, started fresh by uvicorn, reads the same settings with `Settings.from_env()`.
"""

import os
from dataclasses import dataclass, fields

from policy_engine.bundle.locate import DEFAULT_QUERY, default_bundle


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 8001
    workers: int = 1
    bundle: str = ""
    query: str = DEFAULT_QUERY
    engine: str = "embedded"  # or "opa-http": the old path, through an external OPA
    opa_url: str = "http://localhost:8181"
    redis_url: str = ""
    log_level: str = "info"
    cache_ttl: float = 300.0
    cache_enabled: bool = True
    l1_max_entries: int = 100_000
    l1_max_bytes: int = 64 * 1024 * 1024
    l2_read: bool = False
    redis_timeout: float = 0.05
    max_body_bytes: int = 1024 * 1024
    breaker_failures: int = 5
    breaker_reset_seconds: float = 5.0
    opa_timeout: float = 2.0
    opa_pool_size: int = 64
    shadow_rate: float = 0.0
    # Keys the L2 (Redis) key hash; set it per deployment (PE_CACHE_KEY_SECRET), shared by its instances.
    cache_key_secret: str = ""
    warmup_file: str = ""
    bundle_poll_seconds: float = 0.0  # a local bundle: look for changes this often (0: never)
    # A bundle server (--bundle http(s)://...): OPA's polling, bearer token and long polling.
    bundle_min_delay: float = 60.0
    bundle_max_delay: float = 120.0
    bundle_long_poll_seconds: float = 0.0
    bundle_token: str = ""
    # Signed bundles, with `opa run`'s flags: an unsigned or tampered bundle is refused.
    verification_key: str = ""
    verification_key_id: str = "default"
    signing_alg: str = "RS256"
    scope: str = ""
    exclude_files_verify: str = ""  # comma-separated
    v0_compatible: bool = False
    batching: bool = True
    batch_max: int = 64
    batch_max_items: int = 1000
    batch_window_us: int = 0
    partial_eval: bool = True
    eval_timeout_ms: int = 1000  # an evaluation's deadline; then OPA cancels it (a fail-closed deny)
    disable_query_endpoints: bool = False  # refuse queries written by clients (/v1/compile)
    # Connections (http/protocol.py): nothing is held for free.
    max_header_bytes: int = 64 * 1024  # the request line and headers, else 431
    max_headers: int = 100  # else 431
    header_timeout: float = 10.0  # seconds for a request's head, from the connection or the last response, else 408
    body_timeout: float = 30.0  # seconds for its body once the head is in, else 408
    keep_alive_timeout: float = 5.0  # an idle connection is closed after this long
    max_connections: int = 4096  # per worker: connections and requests beyond it are answered 503
    drain_seconds: float = 0.0  # after SIGTERM, keep serving (not ready) this long before stopping
    shutdown_timeout: float = 30.0  # then, at most this long for requests in flight
    # Decision logs (decision_logs/): off unless a sink or the shadow is configured.
    decision_log_console: bool = False
    decision_log_file: str = ""
    decision_log_file_max_bytes: int = 100 * 1024 * 1024
    decision_log_file_keep: int = 5
    decision_log_url: str = ""  # OPA's decision log service: POST URL/logs
    decision_log_token: str = ""
    decision_log_upload_limit_bytes: int = 32768
    decision_log_retry_max_seconds: float = 10.0
    decision_log_buffer_events: int = 10000
    decision_log_sync: bool = False  # answer only once the event is in the file
    decision_log_mask: str = ""  # comma-separated JSON pointers removed from every event
    decision_log_labels: str = ""  # comma-separated key=value, added to every event's labels
    shadow_opa_url: str = ""
    shadow_opa_rate: float = 1.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"PE_{f.name.upper()}")
            if raw is None and f.name in _LEGACY_NAMES:
                raw = env.get(_LEGACY_NAMES[f.name])
            if raw is not None:
                values[f.name] = _parse(f.type, raw)
        if not values.get("bundle"):
            values["bundle"] = str(default_bundle())
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        return {f"PE_{f.name.upper()}": str(getattr(self, f.name)) for f in fields(self)}


# The variables the deployment already sets (API.md).
_LEGACY_NAMES = {
    "opa_url": "OPA_URL",
    "redis_url": "REDIS_URL",
    "log_level": "LOG_LEVEL",
    "cache_ttl": "CACHE_TTL",
    "port": "PORT",
}


def _parse(kind: object, raw: str) -> object:
    if kind in (bool, "bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    return raw
