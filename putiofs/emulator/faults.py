"""The fault injection hook: the one place the server asks whether to misbehave.

The server calls :meth:`Faults.choose` once per request (API calls and file data alike) and
applies the :class:`Fault` it gets back. The base class never injects anything; a subclass (or
any object with the same method) passed as ``EmulatorOptions.faults`` decides per request, e.g.
from configured rates of 5xx / 429, latency, mid-body drops and stalls.
"""

from __future__ import annotations

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
