"""L1: the in-process tier. LRU, bounded by entries and by bytes, entries expire after a TTL."""

import time
from collections import OrderedDict
from collections.abc import Callable

# A cached undefined decision (the engine's None) is stored as this, so that a miss (None)
# and a cached undefined stay apart.
UNDEFINED = b""


class L1Cache:
    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < self._clock():
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: bytes, value: bytes) -> None:
        if key in self._entries:
            self._remove(key)
        size = _size(key, value)
        if size > self.max_bytes:
            return
        self._entries[key] = (self._clock() + self.ttl, value)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def _remove(self, key: bytes) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= _size(key, value)


def _size(key: bytes, value: bytes) -> int:
    # The key and value payloads plus the bookkeeping of one entry (tuple, node, str headers).
    return len(key) + len(value) + 200
