"""The mount's bandwidth limit (``--bwlimit``): one token bucket per direction, shared by every
stream and upload of the mount.

**What the option means** is rclone's ``--bwlimit``, so that a line copied from an rclone unit
means the same here: ``RATE`` limits both directions, ``UP:DOWN`` each (upload first, as rclone
writes it), ``off`` or ``0`` is no limit. A rate is bytes per second with a binary suffix
``B``, ``K``, ``M``, ``G``, ``T`` or ``P`` (``10M`` is 10 MiB/s; case-insensitive, a fraction
such as ``1.5M`` is allowed); a plain number is KiB/s, as in rclone (``--bwlimit 512`` is
512 KiB/s). rclone's timetables (``08:00,512k 19:00,off``) are not taken.

**How it is kept.** :meth:`TokenBucket.spend` is called after the bytes moved (a socket read of
a stream, a block of an upload's body read for sending): the bucket holds at most one second of
the rate and starts empty, a spend may take it below zero, and the caller sleeps until the debt
is paid. Callers sleep in the order they spent, so streams share the rate and each stream's
bytes stay in order; while a stream sleeps its socket is not read, and TCP slows the sender.

**Bounded calls.** A FUSE read must end within the call's deadline (``--timeout``) however low
the rate: a sleep never takes more than half the time the calling thread has left
(:mod:`putiofs.net.deadline`). What it did not wait stays owed, so the next bytes wait longer:
a read is slow, never failed by the limit, and over a longer time the rate holds. (The kernel
asks for up to 1 MiB per read: at a rate far below 1 MiB per ``--timeout`` each read waits
about as long as the deadline allows.)
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from putiofs.net import deadline

#: What a rate's suffix multiplies by (binary units, as rclone's); no suffix: KiB/s.
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([bkmgtp]?)(?:i?b?(?:/s)?)?\s*$", re.IGNORECASE)
_OFF = ("off", "")
#: The least a bucket holds when full, whatever the rate: one socket read's worth.
MIN_BURST = 64 * 1024


def parse_rate(text: str) -> float | None:
    """Bytes per second of one rate (``10M``, ``512k``, ``1.5G``, ``300`` = 300 KiB/s), None
    for no limit (``off``, ``0``). ValueError for anything else."""
    word = text.strip().lower()
    if word in _OFF:
        return None
    match = _RATE.match(word)
    if match is None:
        raise ValueError(f"{text!r} is not a rate: write e.g. 10M, 512K, off")
    number, suffix = float(match.group(1)), match.group(2).lower()
    rate = number * _UNITS[suffix or "k"]
    return rate if rate > 0 else None


@dataclass(frozen=True)
class Rates:
    """The limit of each direction in bytes per second (None: unlimited)."""

    up: float | None = None
    down: float | None = None

    @classmethod
    def parse(cls, text: str) -> Rates:
        """``RATE`` (both directions) or ``UP:DOWN``, as rclone's ``--bwlimit``."""
        if " " in text.strip() or "," in text:
            raise ValueError(f"{text!r}: bandwidth timetables are not supported; give one "
                             "rate (10M) or UP:DOWN (10M:1M)")
        parts = text.split(":")
        if len(parts) == 1:
            rate = parse_rate(parts[0])
            return cls(up=rate, down=rate)
        if len(parts) == 2:
            return cls(up=parse_rate(parts[0]), down=parse_rate(parts[1]))
        raise ValueError(f"{text!r}: give one rate (10M) or UP:DOWN (10M:1M)")

    def describe(self) -> str:
        """``up 1 MiB/s, down off``, for the log."""
        return f"up {_shown(self.up)}, down {_shown(self.down)}"


def _shown(rate: float | None) -> str:
    if rate is None:
        return "off"
    for suffix, unit in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if rate >= unit:
            return f"{rate / unit:g} {suffix}/s"
    return f"{rate:g} B/s"


class TokenBucket:
    """Bytes per second shared by every thread that spends from it (see the module docstring).

    ``clock`` and ``sleep`` are for tests (a fake clock).
    """

    def __init__(self, rate: float, *, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(self.rate, MIN_BURST)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 0.0   # starts empty: the first second is limited too
        self._at = clock()

    def spend(self, count: int) -> float:
        """``count`` bytes just moved: sleep until the bucket has paid for them, at most half
        the calling thread's time left. The seconds slept."""
        if count <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= count
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        left = deadline.remaining()
        if left is not None:
            wait = min(wait, left / 2)
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)


@dataclass(frozen=True)
class Bandwidth:
    """The mount's buckets: ``down`` for what streams read, ``up`` for what uploads send (None:
    that direction is not limited). One per mount, so every stream and upload shares them."""

    up: TokenBucket | None = None
    down: TokenBucket | None = None

    @classmethod
    def limited(cls, rates: Rates) -> Bandwidth:
        return cls(up=TokenBucket(rates.up) if rates.up else None,
                   down=TokenBucket(rates.down) if rates.down else None)
