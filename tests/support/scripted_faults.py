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
