"""A fake clock for the retry tests of both API clients' stubs: sleeping advances the clock at
once and is recorded, so a backoff is checked, never waited. A pytest plugin: a test module
with ``pytest_plugins = ("tests.support.fake_time",)`` gets the ``fake_time`` fixture."""

from __future__ import annotations

import pytest


class FakeTime:
    """An injectable monotonic clock and sleep: sleeping advances the clock at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
