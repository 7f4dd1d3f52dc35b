"""The ``user.putio.mp4`` extended attribute: the MP4 version put.io has of a video.

The file's own listing does not change; its MP4 version shows as an attribute instead:
``NOT_AVAILABLE``, ``IN_QUEUE``, ``CONVERTING 45%``, ``COMPLETED <bytes>`` or ``ERROR``.

Decisions: the name is listed (``listxattr``) for every video on an account whose API has MP4
conversions, without asking put.io, so ``ls -l`` and ``getfattr`` listings cost no call; only
reading it (``getxattr``) asks put.io, once per file per ``cache-ttl`` seconds. There is no
virtual sibling entry for the MP4: it would add a file to listings put.io does not have (``cp
-r``, ``rsync`` and ``du`` would copy or count it), and reading it would need a second
download path; its status here plus ``putiofs mp4`` cover the use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from putiofs.api.backend import Entry
from putiofs.api.services import AccountServices, Service

NAME = "user.putio.mp4"
#: put.io's type word (lower case) of the files it can convert.
VIDEO = "video"


class Mp4Attribute:
    """``user.putio.mp4`` of videos, from :meth:`AccountServices.mp4_status`, cached."""

    def __init__(self, services: AccountServices, ttl: float, *, max_files: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._cache: TTLCache[str, str] = TTLCache(max_files, max(ttl, 0.001), timer=clock)
        self._lock = threading.Lock()

    def applies(self, entry: Entry) -> bool:
        """Does ``entry`` have the attribute? (No API call.)"""
        return (Service.MP4 in self.services.available and not entry.is_dir
                and (entry.type or "").lower() == VIDEO)

    def value(self, entry: Entry) -> str:
        """put.io's MP4 status of the video, cached for the TTL."""
        with self._lock:
            cached = self._cache.get(entry.id)
        if cached is not None:
            return cached
        found = self.services.mp4_status(entry.id).summary
        with self._lock:
            self._cache[entry.id] = found
        return found
