"""When a failed call is tried again, and how long to wait first: one policy for every API
client and for the stream fetcher.

A failure is *temporary* (worth another attempt) when no usable answer came (connection refused
or dropped, timeout, a garbled answer), when the server answered 5xx or 429, or when it said
"busy, try again" (:class:`~putiofs.api.errors.BusyError`, e.g. v2's ``TRASH_LOCK_TIMEOUT``).
Everything else (auth, not found, a refused request, a redirect) would come back the same.

Waits use exponential backoff with full jitter (uniform in ``[0, min(max, first * 2**(n-1))]``),
never shorter than what the server asked for (``Retry-After``, or v2's ``x-ratelimit-reset``),
and a call gives up rather than wait past its own time budget, the server's request to wait
longer than ``max_retry_after``, or the calling thread's :mod:`putiofs.net.deadline`.

Only calls that are safe to repeat are retried: a call that creates something gets exactly one
attempt (``repeatable=False``), since after a timeout nobody knows whether the server acted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from putiofs.api.errors import (
    BusyError,
    NotFoundError,
    PutioError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from putiofs.net import deadline

log = logging.getLogger(__name__)

Result = TypeVar("Result")


def is_temporary(exc: BaseException) -> bool:
    """Worth another attempt: no answer, 429, 5xx, busy, or a garbled answer (not a redirect).

    The one answer for the whole mount: these retries, the metadata cache's stale-if-error
    (:mod:`putiofs.tree.cache`), and the uploader's and the landing's "again later, or give up"
    (:mod:`putiofs.write`). Where those used to differ: busy is temporary for the cache too (put.io
    said "try again shortly": the last listing is served meanwhile); an unexpected redirect
    (a ServerError with a 3xx status) is temporary for none, since it comes back the same, so a
    listing that meets one fails at once instead of serving the last listing, and an upload
    fails (its data kept in the spool for the next mount) instead of being retried for as long
    as the mount runs. Not found is never temporary; callers to whom it means something else
    catch it first (a delete repeated, ``RetryPolicy.run``'s ``gone_is_done``; an upload the
    server forgot, started anew).
    """
    if isinstance(exc, ServerError):
        return exc.status is None or not 300 <= exc.status < 400
    return isinstance(exc, TransportError | RateLimitedError | BusyError)


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; None if absent/bad."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def rate_limit_wait(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """How long a 429 asks us to wait: until ``x-ratelimit-reset`` (Unix seconds) plus one
    second, as rclone does for put.io, else ``Retry-After``; None when neither is usable."""
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            at = float(reset.strip())
        except ValueError:
            at = None
        if at is not None:
            return max(0.0, at + 1.0 - (time.time() if now is None else now))
    return parse_retry_after(headers)


@dataclass
class Backoff:
    """Exponential backoff with full jitter; ``rng`` returning 1.0 makes it deterministic."""

    first: float = 0.5
    maximum: float = 20.0
    rng: Callable[[], float] = random.random

    def delay(self, attempt: int, *, at_least: float | None = None) -> float:
        """The wait before attempt ``attempt + 1`` (``attempt`` counts failures, from 1)."""
        ceiling = min(self.maximum, self.first * (2 ** max(0, attempt - 1)))
        wait = self.rng() * ceiling
        return wait if at_least is None else max(wait, at_least)


@dataclass
class RetryPolicy:
    """How many attempts a repeatable call gets and how long it may take in all.

    ``attempts`` counts every try (the first included); ``max_time`` bounds the whole call,
    waits included; ``max_retry_after`` is the longest server-requested wait we accept (a longer
    one fails at once with the server's error, which carries ``retry_after``).
    """

    attempts: int = 5
    backoff: Backoff = field(default_factory=Backoff)
    max_time: float = 60.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def next_delay(self, failures: int, exc: BaseException, started: float) -> float | None:
        """The wait before trying again after ``failures`` consecutive failures ending in
        ``exc``, or None to give up (not temporary, out of attempts or time, asked to wait too
        long). ``started`` is ``clock()`` when the call began."""
        if failures >= self.attempts or not is_temporary(exc):
            return None
        asked = exc.retry_after if isinstance(exc, RateLimitedError) else None
        if asked is not None and asked > self.max_retry_after:
            return None
        wait = self.backoff.delay(failures, at_least=asked)
        if self.clock() + wait - started > self.max_time:
            return None
        left = deadline.remaining()
        if left is not None and wait >= left:
            return None
        return wait

    def run(self, attempt: Callable[[], Result], *, what: str, repeatable: bool = True,
            gone_is_done: bool = False) -> Result | None:
        """``attempt()`` until it succeeds or the policy gives up (then its last error).

        ``repeatable=False``: one attempt only. ``gone_is_done``: a NotFoundError on a repeated
        attempt means the first one did reach the server (a delete), so the call succeeded and
        None is returned.
        """
        started = self.clock()
        failures = 0
        while True:
            if deadline.expired():
                raise TransportError(f"{what}: out of time for this call")
            try:
                return attempt()
            except NotFoundError:
                if gone_is_done and failures > 0:
                    return None
                raise
            except PutioError as exc:
                failures += 1
                wait = self.next_delay(failures, exc, started) if repeatable else None
                if wait is None:
                    raise
                log.info("%s: %s, retry %d/%d in %.2fs", what, type(exc).__name__, failures,
                         self.attempts - 1, wait)
                self.sleep(wait)
