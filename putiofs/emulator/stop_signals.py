"""Foreground commands that run until Ctrl-C: SIGINT and SIGTERM end the wait instead of the
process, so the command can stop its servers and say so."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """``with StopSignals() as stop: ...; stop.wait()``: from entry on, SIGINT or SIGTERM ends
    ``wait()``; on exit the previous handlers are back. Enter it before announcing anything, so
    that a signal sent as soon as the announcement is read is not lost."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._set) for sig in _SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _set(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def wait(self) -> None:
        """Block until a stop signal came (in short waits, so the handler gets to run)."""
        while not self._stop.wait(0.5):
            pass
