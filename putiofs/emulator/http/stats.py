"""The emulator's request and byte counters (``/_emulator/stats``): the plumbing counts bytes
served, each API version counts its calls and data requests."""

from __future__ import annotations

import threading
from typing import Any


class Stats:
    """Request and byte counters behind ``/_emulator/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: dict[str, int] = {}
            self._data_requests = 0
            self._bytes_served = 0

    def count_api(self, name: str) -> None:
        with self._lock:
            self._requests[name] = self._requests.get(name, 0) + 1

    def count_data(self) -> None:
        with self._lock:
            self._data_requests += 1

    def count_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes_served += n

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "requests_total": sum(self._requests.values()),
                "data_requests": self._data_requests,
                "bytes_served": self._bytes_served,
            }
