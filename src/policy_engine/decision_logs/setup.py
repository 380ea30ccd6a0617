"""The decision logger the settings ask for (None: logging is off, and costs nothing)."""

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from policy_engine import __version__
from policy_engine.config import Settings
from policy_engine.decision_logs import mask
from policy_engine.decision_logs.chain import GENESIS, Chain
from policy_engine.decision_logs.event import EventFormat
from policy_engine.decision_logs.logger import DecisionLogger, Encoder
from policy_engine.decision_logs.shadow import ShadowOpa
from policy_engine.decision_logs.sinks import ConsoleSink, FileSink, HttpSink, Sink
from policy_engine.engine.engine import Engine
from policy_engine.metrics import Metrics


def enabled(settings: Settings) -> bool:
    return bool(settings.decision_log_console or settings.decision_log_file or settings.decision_log_url) or bool(
        settings.shadow_opa_url
    )


def bundle_name(bundle: str) -> str:
    """The name events give the bundle: its file or directory name, without .tar.gz."""
    name = urlsplit(bundle).path.rstrip("/").rsplit("/", 1)[-1] if "://" in bundle else Path(bundle).name
    return name.removesuffix(".tar.gz") or "bundle"


def labels(settings: Settings) -> dict[str, str]:
    found = {"id": str(uuid.uuid4()), "version": __version__}
    for pair in (p for p in settings.decision_log_labels.split(",") if p.strip()):
        key, _, value = pair.partition("=")
        if key.strip() not in ("id", "version"):
            found[key.strip()] = value.strip()
    return found


def file_path(settings: Settings) -> Path:
    """The file; with several workers, one per worker process (each its own chain and rotation)."""
    path = Path(settings.decision_log_file)
    return path.with_name(f"{path.name}.worker-{os.getpid()}") if settings.workers > 1 else path


def build_logger(
    settings: Settings, metrics: Metrics, current_engine: Callable[[], Engine | None]
) -> DecisionLogger | None:
    if not enabled(settings):
        return None

    def dropped(reason: str, count: int) -> None:
        metrics.decision_logs_dropped.inc(reason, n=count)

    sinks: list[Sink] = []
    if settings.decision_log_console:
        sinks.append(ConsoleSink())
    file_sink = None
    if settings.decision_log_file:
        file_sink = FileSink(file_path(settings), settings.decision_log_file_max_bytes, settings.decision_log_file_keep)
        sinks.append(file_sink)
    if settings.decision_log_url:
        sinks.append(
            HttpSink(
                settings.decision_log_url,
                dropped,
                token=settings.decision_log_token,
                upload_limit=settings.decision_log_upload_limit_bytes,
                capacity=settings.decision_log_buffer_events,
                retry_max=settings.decision_log_retry_max_seconds,
                on_error=metrics.decision_logs_upload_errors.inc,
            )
        )
    if settings.decision_log_sync and file_sink is None:
        raise ValueError("--decision-log-sync needs --decision-log-file")
    previous = (file_sink.last_hash if file_sink is not None else None) or GENESIS
    encoder = Encoder(
        EventFormat(labels(settings), bundle_name(settings.bundle)),
        Chain(previous),
        mask.LogPolicy(current_engine) if settings.engine == "embedded" else None,
        mask.static_rules(settings.decision_log_mask),
    )
    shadow = ShadowOpa(settings.shadow_opa_url, settings.shadow_opa_rate, metrics) if settings.shadow_opa_url else None
    durable = file_sink if settings.decision_log_sync else None
    return DecisionLogger(encoder, sinks, metrics, settings.decision_log_buffer_events, durable, shadow)
