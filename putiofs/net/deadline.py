"""A per-thread deadline: how long the current filesystem call may still take.

:func:`putiofs.front.errno_map.fuse_call` opens one around every FUSE operation; the API
clients read it to stop retrying and to clip each request's timeouts, and
:mod:`putiofs.net.http` shuts down the socket of a request still running when it passes (a
server that trickles bytes resets every socket timeout, not the deadline), so a call that needs
several requests (a listing of many pages, each retried) still ends within the bound.
Deadlines nest: an inner one never extends an outer one. Outside any deadline,
:func:`remaining` is None and nothing is bounded.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

_local = threading.local()


@contextlib.contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Run the block with at most ``seconds`` left (None: no new bound, keep any outer one)."""
    outer: float | None = getattr(_local, "at", None)
    at = outer
    if seconds is not None:
        mine = time.monotonic() + max(0.0, seconds)
        at = mine if outer is None else min(outer, mine)
    _local.at = at
    try:
        yield
    finally:
        _local.at = outer


def at() -> float | None:
    """When this thread's deadline passes (``time.monotonic()`` time), or None if unbounded."""
    return getattr(_local, "at", None)


def remaining() -> float | None:
    """Seconds left (0.0 once past), or None when no deadline is set on this thread."""
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return None
    return max(0.0, at - time.monotonic())


def expired() -> bool:
    """A deadline is set and has passed."""
    left = remaining()
    return left is not None and left <= 0.0


def clip(timeout: float) -> float:
    """``timeout`` shortened to the time left (never below a millisecond)."""
    left = remaining()
    return timeout if left is None else max(0.001, min(timeout, left))
