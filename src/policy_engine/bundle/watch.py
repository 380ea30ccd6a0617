"""Noticing a new bundle: a signature of the files, polled."""

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)


def bundle_signature(path: Path) -> tuple:
    """Changes whenever a file of the bundle is added, removed or rewritten."""
    if path.is_file():
        stat = path.stat()
        return ((path.name, stat.st_size, stat.st_mtime_ns),)
    entries = []
    for root, _, files in os.walk(path):
        for name in files:
            stat = (Path(root) / name).stat()
            entries.append((os.path.relpath(Path(root) / name, path), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


async def watch_bundle(path: Path, interval: float, on_change: Callable[[], Awaitable[None]]) -> None:
    """Calls on_change each time the bundle's files change; runs until cancelled."""
    last = bundle_signature(path)
    while True:
        await asyncio.sleep(interval)
        try:
            current = bundle_signature(path)
        except OSError as exc:
            log.warning("cannot read bundle %s: %s", path, exc)
            continue
        if current != last:
            last = current
            await on_change()
