"""Tamper evidence: every event names the hash of the one before it.

An event's line is sealed with `seq` (its number in this instance's chain) and `prev_hash`
(the SHA-256 of the previous line, as written). The line's bytes are its canonical form: the
service writes compact JSON, and the hash covers every byte of it. A file that continues
another (a rotation, or a restart appending to the same file) starts from that file's last
hash, so the files of one log form one chain. `verify` walks the lines in order and reports
the first event that is missing, out of order or changed.

What a chain cannot show: events cut off the end of the newest file (nothing names them yet).
"""

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

GENESIS = "0" * 64


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


class Chain:
    """The running chain of one instance. Not thread-safe: one writer seals events."""

    def __init__(self, previous: str = GENESIS) -> None:
        self.previous = previous
        self.seq = 0

    def seal(self, body: bytes) -> bytes:
        """The event's line: its JSON object with seq and prev_hash as its last members."""
        line = b'%b,"seq":%d,"prev_hash":"%b"}' % (body[:-1], self.seq, self.previous.encode())
        self.previous = line_hash(line)
        self.seq += 1
        return line


def last_line_hash(path: Path) -> str | None:
    """The hash of a file's last line, to continue its chain; None when there is none."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            block = 1 << 16
            tail = b""
            while size > 0:
                step = min(block, size)
                size -= step
                f.seek(size)
                tail = f.read(step) + tail
                lines = tail.rstrip(b"\n").split(b"\n")
                if len(lines) > 1 or size == 0:
                    last = lines[-1]
                    return line_hash(last) if last else None
    except FileNotFoundError:
        return None
    return None


_ROTATED = re.compile(r"^(.*)\.(\d+)$")


def chronological(paths: Iterable[str]) -> list[str]:
    """Rotated files oldest first: log.3, log.2, log.1, log (any other order is kept)."""

    def key(path: str) -> tuple[str, int]:
        found = _ROTATED.match(path)
        return (found.group(1), -int(found.group(2))) if found else (path, 0)

    return sorted(paths, key=key)


@dataclass
class Line:
    where: str  # file:line
    raw: bytes
    instance: str
    seq: int
    prev: str


def _lines(paths: list[str]) -> Iterator[Line | str]:
    for path in paths:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                raw = raw.rstrip(b"\n")
                where = f"{path}:{number}"
                try:
                    event = orjson.loads(raw)
                    instance = str((event.get("labels") or {}).get("id", ""))
                    yield Line(where, raw, instance, int(event["seq"]), str(event["prev_hash"]))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                    yield f"{where}: not a sealed event (edited or corrupt)"


@dataclass
class Verdict:
    whole: bool
    events: int
    message: str


def verify(paths: list[str]) -> Verdict:
    """The first break in the chain of these files (given in any order; rotations are sorted)."""
    lines: list[Line] = []
    for item in _lines(chronological(paths)):
        if isinstance(item, str):
            return Verdict(False, len(lines), item)
        lines.append(item)
    seqs = {(line.instance, line.seq) for line in lines}
    for before, line in itertools.pairwise(lines):
        if line.prev == line_hash(before.raw):
            continue
        return Verdict(False, len(lines), _diagnose(before, line, seqs))
    start = "" if not lines or lines[0].prev == GENESIS else f" (it continues an earlier chain: {lines[0].prev[:16]}…)"
    return Verdict(True, len(lines), f"chain whole: {len(lines)} events in {len(paths)} file(s){start}")


def _diagnose(before: Line, line: Line, seqs: set[tuple[str, int]]) -> str:
    if line.instance == before.instance:
        if line.seq == before.seq + 1:
            return f"{before.where}: event edited (seq {before.seq}; the next event names another hash)"
        if line.seq > before.seq + 1:
            gap = range(before.seq + 1, line.seq)
            if any((line.instance, s) in seqs for s in gap):
                return f"{line.where}: events reordered (seq {line.seq} follows seq {before.seq})"
            return f"{line.where}: {len(gap)} event(s) removed before this one (seq {before.seq + 1}..{line.seq - 1})"
        return f"{line.where}: events reordered (seq {line.seq} follows seq {before.seq})"
    if (line.instance, line.seq - 1) in seqs and line.seq > 0:
        return f"{line.where}: events reordered (its predecessor, seq {line.seq - 1}, is elsewhere)"
    return f"{line.where}: the event before this one was removed or edited (it names another hash)"
