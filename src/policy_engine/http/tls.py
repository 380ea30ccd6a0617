"""HTTPS as `opa run` serves it: --tls-cert-file and --tls-private-key-file, reloaded when they
change on disk; --tls-ca-cert-file for client certificates, required with --authentication tls.

uvicorn builds the server's SSLContext once per worker, through `context_factory`; the worker
keeps it here, and `watch_certificates` loads a changed certificate and key into that same
context, which every connection accepted afterwards uses (connections already open keep theirs).
"""

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policy_engine.config import Settings

log = logging.getLogger("policy_engine.tls")

_context: ssl.SSLContext | None = None


def server_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # OPA's default minimum
    context.load_cert_chain(settings.tls_cert_file, settings.tls_private_key_file)
    if settings.tls_ca_cert_file:
        context.load_verify_locations(settings.tls_ca_cert_file)
        # OPA requires a verified client certificate with --authentication tls only.
        context.verify_mode = ssl.CERT_REQUIRED if settings.authentication == "tls" else ssl.CERT_OPTIONAL
    return context


def context_factory(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's ssl_context_factory: this worker's context, kept for the watcher."""
    global _context
    _context = server_context(Settings.from_env())
    return _context


def _fingerprint(*paths: str) -> bytes:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.digest()


async def watch_certificates(interval: float) -> None:
    """Reload the certificate and key into the live context when their content changes. A pair
    that does not load (half written, mismatched) is logged and the previous one kept."""
    settings = Settings.from_env()
    files = (settings.tls_cert_file, settings.tls_private_key_file)
    try:
        seen = _fingerprint(*files)
    except OSError:
        seen = b""
    while True:
        await asyncio.sleep(interval)
        if _context is None:
            continue
        try:
            current = _fingerprint(*files)
            if current == seen:
                continue
            _context.load_cert_chain(*files)
        except (OSError, ssl.SSLError) as exc:
            log.warning("TLS certificate not reloaded: %s", exc)
            continue
        seen = current
        log.info("TLS certificate reloaded from %s", files[0])
