"""The one retry policy: what is temporary, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from putiofs.api.errors import (
    AuthenticationError,
    BusyError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from putiofs.net import deadline
from putiofs.net.retry import Backoff, RetryPolicy, is_temporary, rate_limit_wait
from tests.support.fake_time import FakeTime


def policy(clock: FakeTime, **kw) -> RetryPolicy:
    return RetryPolicy(backoff=Backoff(first=0.5, maximum=4.0, rng=lambda: 1.0),
                       sleep=clock.sleep, clock=clock, **kw)


def failing(*errors: Exception):
    queue = list(errors)

    def attempt():
        if queue:
            raise queue.pop(0)
        return "ok"
    return attempt


def test_temporary_failures_are_retried_with_growing_waits() -> None:
    clock = FakeTime()
    result = policy(clock).run(failing(TransportError(), ServerError(status=502),
                                       BusyError()), what="t")
    assert result == "ok"
    assert clock.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("exc", [AuthenticationError(), NotFoundError(),
                                 ServerError(status=302)])
def test_permanent_failures_are_raised_at_once(exc: Exception) -> None:
    clock = FakeTime()
    with pytest.raises(type(exc)):
        policy(clock).run(failing(exc), what="t")
    assert clock.sleeps == []
    assert not is_temporary(exc)


def test_not_repeatable_gets_one_attempt() -> None:
    clock = FakeTime()
    with pytest.raises(TransportError):
        policy(clock).run(failing(TransportError()), what="t", repeatable=False)
    assert clock.sleeps == []


def test_rate_limit_waits_at_least_what_the_server_asked() -> None:
    clock = FakeTime()
    policy(clock).run(failing(RateLimitedError(retry_after=3.0)), what="t")
    assert clock.sleeps == [3.0]


def test_too_long_retry_after_fails_at_once() -> None:
    clock = FakeTime()
    with pytest.raises(RateLimitedError):
        policy(clock, max_retry_after=2.0).run(failing(RateLimitedError(retry_after=9)),
                                               what="t")
    assert clock.sleeps == []


def test_attempts_and_time_are_bounded() -> None:
    clock = FakeTime()
    with pytest.raises(TransportError):
        policy(clock, attempts=3).run(failing(*[TransportError()] * 10), what="t")
    assert len(clock.sleeps) == 2
    clock = FakeTime()
    with pytest.raises(TransportError):
        policy(clock, max_time=2.0).run(failing(*[TransportError()] * 10), what="t")
    assert sum(clock.sleeps) <= 2.0


def test_the_call_deadline_stops_retries() -> None:
    clock = FakeTime()
    with deadline.within(0.2), pytest.raises(TransportError):
        policy(clock).run(failing(TransportError(), TransportError()), what="t")
    assert clock.sleeps == []


def test_gone_on_a_repeat_counts_as_done() -> None:
    clock = FakeTime()
    assert policy(clock).run(failing(TransportError(), NotFoundError()), what="t",
                             gone_is_done=True) is None
    with pytest.raises(NotFoundError):
        policy(clock).run(failing(NotFoundError()), what="t", gone_is_done=True)


def test_rate_limit_wait_prefers_the_reset_header() -> None:
    assert rate_limit_wait({"x-ratelimit-reset": "1010", "Retry-After": "3"}, now=1000) == 11
    assert rate_limit_wait({"Retry-After": "3"}, now=1000) == 3
    assert rate_limit_wait({}, now=1000) is None
    assert rate_limit_wait({"x-ratelimit-reset": "900"}, now=1000) == 0
