"""L1: LRU, bounded by entries and bytes, entries expire."""

from policy_engine.cache.l1 import UNDEFINED, L1Cache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_stored_value_is_returned_until_it_expires():
    clock = Clock()
    cache = L1Cache(max_entries=10, max_bytes=10_000, ttl=5, clock=clock)
    cache.put("k", b"v")
    clock.now = 4.9
    assert cache.get("k") == b"v"
    clock.now = 5.1
    assert cache.get("k") is None
    assert len(cache) == 0
    assert cache.bytes == 0


def test_the_least_recently_used_entry_goes_first():
    cache = L1Cache(max_entries=2, max_bytes=10_000, ttl=60)
    cache.put("a", b"1")
    cache.put("b", b"2")
    cache.get("a")
    cache.put("c", b"3")
    assert cache.get("b") is None
    assert cache.get("a") == b"1"
    assert cache.get("c") == b"3"


def test_bytes_are_bounded():
    cache = L1Cache(max_entries=1000, max_bytes=2000, ttl=60)
    for n in range(50):
        cache.put(f"k{n}", b"x" * 300)
    assert cache.bytes <= 2000
    assert 0 < len(cache) < 50
    assert cache.get("k49") == b"x" * 300


def test_a_value_larger_than_the_cache_is_not_stored():
    cache = L1Cache(max_entries=10, max_bytes=100, ttl=60)
    cache.put("big", b"x" * 1000)
    assert cache.get("big") is None
    assert cache.bytes == 0


def test_undefined_is_cached_apart_from_a_miss():
    cache = L1Cache(max_entries=10, max_bytes=10_000, ttl=60)
    cache.put("u", UNDEFINED)
    assert cache.get("u") == UNDEFINED
    assert cache.get("missing") is None


def test_replacing_and_clearing_keep_the_byte_count_right():
    cache = L1Cache(max_entries=10, max_bytes=10_000, ttl=60)
    cache.put("k", b"12345")
    cache.put("k", b"1")
    assert len(cache) == 1
    first = cache.bytes
    cache.clear()
    assert (len(cache), cache.bytes) == (0, 0)
    assert first > 0
