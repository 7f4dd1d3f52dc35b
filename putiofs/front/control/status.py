"""``/.putio/status.json``: what the mount is doing, made anew at every read.

``putiofs status`` and ``putiofs umount`` read it through the mount, so it is reachable exactly as
the mount's other files are (the mount's user, others only with ``allow_other``, and then only
as ``default_permissions`` allows): no socket, no second way in. It costs no API call. Keys
(``version`` 1; sizes in bytes, speeds in bytes per second, times in unix seconds)::

    pid, started, uptime        the mount's process (umount waits for it to end), since when
    open_files                  [{path, size, bytes_read, speed, open_for}] files open for
                                reading (a file being written is an upload, state "open")
    uploads                     [{path, size, bytes_done, bytes_left, speed, state, error}]
                                as /.putio/uploads (see putiofs.write.status.UploadStatus)
    upload_wait                 the seconds unmount waits for them (--upload-wait)
    uploads_status              the spool's status.json, which the mount keeps writing while it
                                waits after its unmount (null: this mount writes no files)
    spool                       where written files wait (what the next mount takes up)
    events                      {available, connected, since, why_not}
    cache                       {folders, items, memory_estimate, read_cache}
    api                         {requests, failed, error_answers, last_error, last_error_at}

``cache.memory_estimate`` is items times a measured average (:data:`BYTES_PER_ITEM`), not a
measurement of the process. ``cache.read_cache`` is the persistent read cache
(:mod:`putiofs.read.disk_cache`): ``{folder, size, limit, chunks, hit_bytes, miss_bytes,
hit_rate, dropped_corrupt, skipped_bytes}`` (``hit_rate``: of the bytes read since the mount
started, the share served from the cache; null before any), or null when it is off.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from putiofs.api.backend import Entry
from putiofs.front.options import MountOptions
from putiofs.net.http import call_counts
from putiofs.read.disk_cache import ReadCache
from putiofs.read.reader import StreamReader
from putiofs.tree.cache import MetadataCache
from putiofs.write.status import STATUS_FILE, UploadStatus

STATUS_JSON = "status.json"
MOUNT_STATUS_VERSION = 1
#: About what one cached item costs (its Entry, its place in the listing's name tables),
#: measured with tracemalloc on listings of 20,000 typical video names.
BYTES_PER_ITEM = 450


class OpenForReading(Protocol):
    """What the status reads of a file open for reading (the account view's ``OpenFile``)."""

    entry: Entry
    reader: StreamReader | None
    path: str
    opened_at: float


class Events(Protocol):
    """What the status reads of the realtime feed
    (:class:`putiofs.tree.live_updates.LiveUpdates`)."""

    @property
    def live(self) -> bool: ...

    @property
    def problem(self) -> str | None: ...

    changed_at: float | None


class MountStatus:
    """Assembles ``status.json`` from the pieces of one mount (``open_files()``: the handles
    open for reading); ``events`` is set once the
    realtime feed is attached (None: not listening, ``live_events`` says whether the API
    could)."""

    def __init__(self, open_files: Callable[[], list[OpenForReading]], cache: MetadataCache,
                 options: MountOptions, *, live_events: bool,
                 uploads: Callable[[], list[UploadStatus]] | None = None,
                 clock: Callable[[], float] = time.time,
                 read_cache: ReadCache | None = None) -> None:
        self.read_cache = read_cache
        self.open_files = open_files
        self.cache = cache
        self.options = options
        self.live_events = live_events
        self.uploads = uploads
        self.events: Events | None = None
        self._clock = clock
        self.started = clock()

    def text(self) -> str:
        return json.dumps(self.collect(), indent=1) + "\n"

    def collect(self) -> dict[str, Any]:
        now = self._clock()
        spool = self.options.spool_dir if self.uploads is not None else None
        return {
            "version": MOUNT_STATUS_VERSION,
            "pid": os.getpid(),
            "started": self.started,
            "uptime": round(now - self.started, 1),
            "open_files": self._open_files(now),
            "uploads": [{**asdict(record), "bytes_left": max(0, record.size - record.bytes_done)}
                        for record in (self.uploads() if self.uploads is not None else [])],
            "upload_wait": self.options.upload_wait,
            "uploads_status": None if spool is None else str(Path(spool) / STATUS_FILE),
            "spool": None if spool is None else str(spool),
            "events": self._events(),
            "cache": self._cache(),
            "api": call_counts.as_dict(),
        }

    def _open_files(self, now: float) -> list[dict[str, Any]]:
        files = []
        for handle in self.open_files():
            reader = handle.reader
            files.append({
                "path": handle.path or handle.entry.name,
                "size": handle.entry.size,
                "bytes_read": 0 if reader is None else reader.bytes_read,
                "speed": 0.0 if reader is None else round(reader.speed(), 1),
                "open_for": round(now - handle.opened_at, 1),
            })
        return sorted(files, key=lambda item: item["path"])

    def _events(self) -> dict[str, Any]:
        events = self.events
        if events is None:
            why = ("turned off (--no-events)" if self.live_events
                   else "this put.io API has no realtime events")
            return {"available": self.live_events, "connected": False, "since": None,
                    "why_not": why}
        if events.live:
            return {"available": True, "connected": True, "since": events.changed_at,
                    "why_not": None}
        why = events.problem or ("not connected yet" if events.changed_at is None
                                 else "disconnected; reconnecting")
        return {"available": True, "connected": False, "since": events.changed_at,
                "why_not": why}

    def _cache(self) -> dict[str, Any]:
        folders, items = self.cache.stats()
        return {"folders": folders, "items": items,
                "memory_estimate": items * BYTES_PER_ITEM,
                "read_cache": None if self.read_cache is None else self.read_cache.stats()}
