"""Service settings: command-line options over environment variables over defaults.

`policy-engine serve` writes its options into the environment (PE_*), so that every worker
process, started fresh by uvicorn, reads the same settings with `Settings.from_env()`.
A value that does not parse or is out of range is a SettingsError naming the variable: the
CLI reports it in one line (exit 2), even for `--help`, whose defaults come from the environment.
"""

import math
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
    log_format: str = "text"  # or "json": one object per line
    access_log: bool = False
    cors_origins: str = ""  # comma-separated; "*" for any; empty: no CORS headers at all
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

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"PE_{f.name.upper()}")
            if raw is None and f.name in _LEGACY_NAMES:
                raw = env.get(_LEGACY_NAMES[f.name])
            if raw is not None:
                name = f"PE_{f.name.upper()}" if f"PE_{f.name.upper()}" in env else _LEGACY_NAMES[f.name]
                values[f.name] = checked(f.name, _parse(f.type, raw, name), name)
        if not values.get("bundle"):
            values["bundle"] = str(default_bundle())
        return cls(**values)

    def validated(self) -> "Settings":
        """Itself, once every value is in range (SettingsError otherwise)."""
        for f in fields(self):
            checked(f.name, getattr(self, f.name), f"--{f.name.replace('_', '-')}")
        return self

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


class SettingsError(ValueError):
    """A setting's value is wrong: the message names the variable or flag and says what is expected."""


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LOG_FORMATS = ("text", "json")
ENGINES = ("embedded", "opa-http")
_CHOICES = {"log_level": LOG_LEVELS, "log_format": LOG_FORMATS, "engine": ENGINES}
# The smallest value each number may take; every other number is at least 0.
_MINIMUM = {"workers": 1, "batch_max": 1, "batch_max_items": 1, "max_connections": 1, "max_headers": 1}
_MAXIMUM = {"port": 65535, "shadow_rate": 1.0}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _parse(kind: object, raw: str, name: str) -> object:
    text = raw.strip()
    if kind in (bool, "bool"):
        if text.lower() not in _TRUE + _FALSE:
            raise SettingsError(f"{name}={raw}: expected true or false")
        return text.lower() in _TRUE
    if kind in (int, "int"):
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{name}={raw}: expected a whole number") from None
    if kind in (float, "float"):
        try:
            return float(text)
        except ValueError:
            seconds = any(word in name.lower() for word in ("seconds", "ttl", "timeout", "delay"))
            unit = " of seconds, e.g. 300" if seconds else ""
            raise SettingsError(f"{name}={raw}: expected a number{unit}") from None
    return raw


def checked(field: str, value: object, name: str) -> object:
    """`value` for `field` when it is in range; SettingsError (naming `name`) otherwise."""
    choices = _CHOICES.get(field)
    if choices is not None and str(value).lower() not in choices:
        raise SettingsError(f"{name}={value}: expected one of {', '.join(choices)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if math.isnan(value) or math.isinf(value):
        raise SettingsError(f"{name}={value}: expected a finite number")
    low, high = _MINIMUM.get(field, 0), _MAXIMUM.get(field)
    if value < low:
        raise SettingsError(f"{name}={value}: must be at least {low}")
    if high is not None and value > high:
        raise SettingsError(f"{name}={value}: must be at most {high}")
    return value
