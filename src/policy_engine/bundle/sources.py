"""Where bundles come from: a local directory or .tar.gz, or a bundle server (OPA's protocol).

A source answers "is there a new bundle?" with the path of one, or None when nothing changed.
Local changes are detected by content (a same-size edit that keeps its mtime is still seen);
a server is asked with the last ETag, so that an unchanged bundle costs one 304.
"""

import asyncio
import hashlib
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

BUNDLE_MEDIA_TYPE = "application/vnd.openpolicyagent.bundles"


class FetchError(Exception):
    """The bundle could not be fetched (the last good one keeps serving)."""


@dataclass(frozen=True)
class Fetched:
    path: Path  # a directory or a .tar.gz the bridge can load
    etag: str  # what identifies this content at its source


def content_digest(path: Path) -> str:
    """The SHA-256 of a bundle's files: names and bytes, in a stable order."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            file = Path(root) / name
            digest.update(os.path.relpath(file, path).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


class LocalSource:
    """A bundle on disk, polled every `interval` seconds."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self._last = ""

    def describe(self) -> str:
        return str(self.path)

    async def fetch(self) -> Fetched | None:
        try:
            digest = await asyncio.to_thread(content_digest, self.path)
        except OSError as exc:
            raise FetchError(f"cannot read bundle {self.path}: {exc}") from exc
        if digest == self._last:
            return None
        self._last = digest
        return Fetched(self.path, digest)

    def delay(self, failed: bool) -> float:
        return self.interval


@dataclass(frozen=True)
class Polling:
    """OPA's bundle polling: a random delay between min and max; long polling when set."""

    min_delay: float = 60.0
    max_delay: float = 120.0
    long_poll_timeout: float = 0.0  # seconds the server may hold a request; 0: no long polling
    timeout: float = 10.0  # for one request, beyond any long-poll wait


class HttpSource:
    """A bundle server speaking OPA's bundle service protocol."""

    def __init__(self, url: str, polling: Polling, token: str = "", download_dir: Path | None = None) -> None:
        self.url = url
        self.polling = polling
        self.token = token
        self._etag = ""
        self._failures = 0
        self._dir = download_dir or Path(tempfile.mkdtemp(prefix="pe-bundles-"))
        self._session: aiohttp.ClientSession | None = None

    def describe(self) -> str:
        return self.url

    async def fetch(self) -> Fetched | None:
        try:
            found = await self._get()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._failures += 1
            raise FetchError(f"bundle server {self.url}: {exc!r}") from exc
        self._failures = 0
        return found

    def delay(self, failed: bool) -> float:
        """Jittered polling; exponential backoff (capped at max_delay) after failures; none after
        a long poll, which waited at the server already."""
        p = self.polling
        if failed:
            return min(p.max_delay, p.min_delay * 2 ** min(self._failures - 1, 10)) * random.uniform(0.5, 1.0)
        if p.long_poll_timeout > 0:
            return 0.0
        return random.uniform(p.min_delay, p.max_delay)

    def _headers(self) -> dict[str, str]:
        headers = {}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.polling.long_poll_timeout > 0:
            headers["Prefer"] = f"modes=snapshot;wait={int(self.polling.long_poll_timeout)}"
        return headers

    async def _get(self) -> Fetched | None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.polling.timeout + self.polling.long_poll_timeout)
        async with self._session.get(self.url, headers=self._headers(), timeout=timeout) as response:
            if response.status == 304:
                return None
            if response.status != 200:
                body = (await response.text(errors="replace"))[:300]
                raise aiohttp.ClientResponseError(
                    response.request_info, (), status=response.status, message=body or response.reason or ""
                )
            payload = await response.read()
            etag = response.headers.get("ETag", "")
        digest = hashlib.sha256(payload).hexdigest()
        path = self._dir / f"bundle-{digest[:16]}.tar.gz"
        await asyncio.to_thread(_replace_downloads, path, payload)
        self._etag = etag
        return Fetched(path, etag or digest)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _replace_downloads(path: Path, payload: bytes) -> None:
    """Write the new download; older ones go (the bridge holds what it loaded in memory)."""
    path.write_bytes(payload)
    for old in path.parent.glob("bundle-*.tar.gz"):
        if old != path:
            old.unlink(missing_ok=True)


def is_url(bundle: str) -> bool:
    return bundle.startswith(("http://", "https://"))
