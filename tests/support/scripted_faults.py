"""Fault policies a test writes out in advance, for either emulator (see
:mod:`putiofs.emulator.http.faults`): the same fault for every request of a name, or a queue of
faults per name handed out one request at a time."""

from __future__ import annotations

import threading

from putiofs.emulator.http.faults import Fault, Faults, RequestInfo


class Scripted(Faults):
    """Answers each request name with a fixed fault and records what it was asked."""

    def __init__(self, faults: dict[str, Fault]) -> None:
        self.faults = faults
        self.seen: list[RequestInfo] = []

    def choose(self, request: RequestInfo) -> Fault | None:
        self.seen.append(request)
        return self.faults.get(request.name)


class Queued(Faults):
    """Hands out the faults queued for an endpoint name (``files.list``, ``data``...), one per
    request, in order (``Fault()`` lets one through untouched); nothing once a queue is
    empty."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[Fault]] = {}

    def queue(self, name: str, *faults: Fault) -> None:
        with self._lock:
            self._queues.setdefault(name, []).extend(faults)

    def choose(self, request: RequestInfo) -> Fault | None:
        with self._lock:
            queue = self._queues.get(request.name)
            return queue.pop(0) if queue else None


class Turnstile(Faults):
    """Requests of one name pass one per ticket; the others wait (at most ``hold`` seconds)
    for a ticket: the server holds them as long as the test wants. ``arrived`` counts the
    requests of that name that came."""

    def __init__(self, name: str, tickets: float = 0, hold: float = 60.0) -> None:
        self.name = name
        self.hold = hold
        self.arrived = 0
        self._tickets = tickets
        self._changed = threading.Condition()

    def let_through(self, count: float = float("inf")) -> None:
        """``count`` more requests pass (the default: all from now on)."""
        with self._changed:
            self._tickets += count
            self._changed.notify_all()

    def wait_arrived(self, count: int, seconds: float = 30.0) -> bool:
        """Wait until ``count`` requests of the name came; False if not within ``seconds``."""
        with self._changed:
            return self._changed.wait_for(lambda: self.arrived >= count, seconds)

    def choose(self, request: RequestInfo) -> Fault | None:
        if request.name != self.name:
            return None
        with self._changed:
            self.arrived += 1
            self._changed.notify_all()
            if self._changed.wait_for(lambda: self._tickets > 0, self.hold):
                self._tickets -= 1
        return None
