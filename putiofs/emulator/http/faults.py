"""The fault injection hook: the one place the server asks whether to misbehave.

The server calls :meth:`Faults.choose` once per request (API calls and file data alike) and
applies the :class:`Fault` it gets back. The base class never injects anything;
:class:`RandomFaults` injects faults at configured rates from a seeded random generator (the
``putiofs emulator --fault-*`` options), and a test may pass any object with the same method as
``EmulatorOptions.faults``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """What to do to one request. Fields combine; defaults change nothing."""

    #: Seconds to wait before answering.
    delay: float = 0.0
    #: Answer this HTTP status with the error envelope instead of handling the request.
    status: int | None = None
    #: Sent as Retry-After (seconds) with ``status``, e.g. for 429.
    retry_after: float | None = None
    #: API calls: send a truncated, unparsable JSON body (with a correct Content-Length).
    malformed_json: bool = False
    #: Close the connection after this many body bytes (Content-Length still promises all).
    drop_after: int | None = None
    #: Seconds to stop sending after the headers (and after ``drop_after`` bytes, if set).
    stall: float = 0.0


@dataclass(frozen=True)
class RequestInfo:
    """What a fault policy may look at. ``name`` is "files.list"-style for API calls and
    "data" for file bytes; it never holds credentials or tokens."""

    kind: str
    name: str
    method: str


class Faults:
    """No faults. Subclass and override :meth:`choose` to inject them."""

    def choose(self, request: RequestInfo) -> Fault | None:
        return None


#: The settings of :class:`RandomFaults` that are rates (the others are durations and sizes).
RATES = ("error_5xx", "error_429", "drop", "stall", "malformed")
_SETTINGS = (*RATES, "retry_after", "latency", "stall_seconds", "cut_max")


class RandomFaults(Faults):
    """Faults at fixed rates, drawn from one seeded generator.

    Per request, at most one of: a 500/503 answer (``error_5xx``) or a 429 with
    ``Retry-After: retry_after`` (``error_429``) for API calls and file data; a truncated JSON
    body (``malformed``) for API calls; for file data, the connection closed part-way through
    the body (``drop``) or a pause of ``stall_seconds`` after some bytes (``stall``). Every
    request is also delayed by ``latency`` seconds. Rates are probabilities in [0, 1]. Drops
    and stalls happen after a random 0 to ``cut_max`` bytes of the body (default 256 KiB; 0
    means right after the headers).

    The seed fixes the sequence of decisions; the server answers requests on several threads,
    so which request gets which decision can differ between runs, but the rates and kinds of
    faults a run sees are reproduced. :meth:`configure` changes rates while the server runs
    (e.g. ``configure(error_5xx=1.0)`` for an outage); :attr:`counts` tells what was injected.
    """

    def __init__(self, *, error_5xx: float = 0.0, error_429: float = 0.0,
                 retry_after: float = 1.0, latency: float = 0.0, drop: float = 0.0,
                 stall: float = 0.0, stall_seconds: float = 5.0, malformed: float = 0.0,
                 cut_max: int = 256 * 1024, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.error_5xx = self.error_429 = self.drop = self.stall = self.malformed = 0.0
        self.retry_after = self.latency = self.stall_seconds = self.cut_max = 0.0
        self.counts: dict[str, int] = {}
        self.configure(error_5xx=error_5xx, error_429=error_429, retry_after=retry_after,
                       latency=latency, drop=drop, stall=stall, stall_seconds=stall_seconds,
                       malformed=malformed, cut_max=cut_max)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name):g}" for name in
                           _SETTINGS)
        return f"RandomFaults({fields})"

    def configure(self, **changes: float) -> None:
        """Change rates or durations (the names of the constructor's arguments) at once."""
        for name, value in changes.items():
            if name not in _SETTINGS:
                raise TypeError(f"unknown fault setting {name!r}")
            value = float(value)
            if name in RATES and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a rate between 0 and 1, not {value:g}")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, float(value))

    def choose(self, request: RequestInfo) -> Fault | None:
        data = request.kind == "data"
        with self._lock:
            draw = self._rng.random()
            which = self._rng.random()
            fraction = self._rng.random()
            kind = self._pick(draw, data)
            if kind is not None:
                self.counts[kind] = self.counts.get(kind, 0) + 1
            latency, retry_after, stall_seconds, cut_max = (
                self.latency, self.retry_after, self.stall_seconds, self.cut_max)
        if kind is None:
            return Fault(delay=latency) if latency else None
        if kind == "5xx":
            return Fault(delay=latency, status=500 if which < 0.5 else 503)
        if kind == "429":
            return Fault(delay=latency, status=429, retry_after=retry_after)
        if kind == "malformed":
            return Fault(delay=latency, malformed_json=True)
        cut = int(fraction * cut_max)
        if kind == "drop":
            return Fault(delay=latency, drop_after=cut)
        return Fault(delay=latency, drop_after=cut, stall=stall_seconds)

    def _pick(self, draw: float, data: bool) -> str | None:
        """Which fault ``draw`` (uniform in [0, 1)) lands on; the rates are stacked in order."""
        candidates = [("5xx", self.error_5xx), ("429", self.error_429)]
        candidates += [("drop", self.drop), ("stall", self.stall)] if data else \
            [("malformed", self.malformed)]
        edge = 0.0
        for kind, rate in candidates:
            edge += rate
            if draw < edge:
                return kind
        return None
