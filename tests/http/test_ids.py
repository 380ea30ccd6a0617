"""Decision ids are version 4 UUIDs; timestamps are OPA's ISO-8601 UTC to the millisecond."""

import uuid
from datetime import UTC, datetime

import pytest

from policy_engine.http import ids


def test_a_decision_id_is_a_random_version_4_uuid():
    made = [ids.decision_id() for _ in range(2000)]
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert len(set(made)) == len(made)


@pytest.mark.parametrize(
    "instants_ms",
    [
        [1_764_540_000_000, 1_764_540_000_001, 1_764_540_000_999, 1_764_540_001_000, 1_764_540_001_042],
        [0, 999, 1000, 86_399_999, 86_400_000],  # across a second, a day
        [1_764_540_000_500, 1_764_540_000_500, 1_764_539_999_999],  # the same millisecond twice, then back
    ],
)
def test_a_timestamp_is_the_clock_to_the_millisecond_in_utc(monkeypatch, instants_ms):
    for ms in instants_ms:
        monkeypatch.setattr(ids.time, "time_ns", lambda ms=ms: ms * 1_000_000 + 123_456)
        expected = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
        assert ids.utc_timestamp() == expected
