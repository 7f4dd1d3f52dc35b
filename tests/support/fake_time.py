"""The suite's one fake clock: time moves only when a test moves it (``fake.now += 10``) or when
code under test sleeps, which advances the clock at once and is recorded, so a backoff, a
deadline or a cache's time to live is checked, never waited. A pytest plugin: a test module
with ``pytest_plugins = ("tests.support.fake_time",)`` gets the ``fake_time`` fixture."""

from __future__ import annotations

import pytest


class FakeTime:
    """An injectable monotonic clock and sleep: sleeping advances the clock at once.

    The clock is the instance itself (``clock=fake``) or its ``clock`` method
    (``clock=fake.clock``): both say ``now``; ``sleep=fake.sleep`` records each sleep in
    ``sleeps``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    __call__ = clock


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
