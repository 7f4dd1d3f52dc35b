"""The mount's open files: one numbering for the account tree and the control folder alike.

The kernel hands every ``read``/``release`` a file handle number; with one table the FUSE front
finds who serves a handle by what it holds, never by guessing from the path (a search result
under ``/.putio`` is read through the account tree's reader).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, TypeVar

Handle = TypeVar("Handle")


class HandleTable:
    """File handle number → what the opener keeps for it. Thread-safe; ``add`` numbers a
    handle, and numbers never repeat."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._open: dict[int, Any] = {}
        self._lock = threading.Lock()

    def add(self, handle: Any) -> int:
        with self._lock:
            fh = next(self._ids)
            self._open[fh] = handle
        return fh

    def get(self, fh: int | None, default: Any = None) -> Any:
        if fh is None:
            return default
        return self._open.get(fh, default)

    def __contains__(self, fh: object) -> bool:
        return fh in self._open

    def pop(self, fh: int, default: Any = None) -> Any:
        with self._lock:
            return self._open.pop(fh, default)

    def values(self, kind: type[Handle]) -> list[Handle]:
        """The open handles of ``kind``, as a copy (for a status: nothing is removed)."""
        with self._lock:
            return [h for h in self._open.values() if isinstance(h, kind)]

    def take_all(self, kind: type[Handle]) -> list[Handle]:
        """Remove and return every handle of ``kind`` (at unmount)."""
        with self._lock:
            taken = {fh: h for fh, h in self._open.items() if isinstance(h, kind)}
            for fh in taken:
                del self._open[fh]
        return list(taken.values())
