"""put.io's times as the tests compare them: an API stamp (ISO 8601, UTC, no zone given) in
seconds since the epoch, which is what the mount shows and the commands print."""

from __future__ import annotations

from datetime import UTC, datetime


def epoch(stamp: str) -> float:
    """``"2021-03-04T05:06:07"`` (UTC) in seconds since the epoch."""
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()
