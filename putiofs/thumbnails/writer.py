"""The background work of ``--thumbnails``: a folder's listing names its videos, a worker
writes their thumbnails.

:meth:`Thumbnails.listed` is a :attr:`MetadataCache.listing_observers` observer: on the
fetching thread it only picks the folder's videos that have a put.io screenshot (at most
``per_listing`` of them) and queues one job per folder, so no FUSE call waits for a
thumbnail. A newer listing of a folder still queued replaces its job; at most ``queue_size``
folders wait, a listing beyond them is dropped (it comes back at the folder's next
listing). ``workers`` threads (started once mounted) take the jobs: for each video the
mount path (the folder's path followed up through the held listings, the names as shown),
its URI and its ``stat`` mtime and size; a thumbnail already current on disk (URI and MTime
match) is left alone, else the screenshot is fetched through the backend's pooled session
within ``timeout`` seconds and written in every size of :data:`naming.SIZES` (both: GTK
asks for normal or large by its zoom, and one fetch makes both). A video done once is not
looked at again until its entry or path changes. Failures are logged once at info (then at
debug), by what failed, never with the screenshot's URL (it may be signed) or a traceback.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from putiofs.api.backend import VIDEO_TYPES, Entry
from putiofs.net import deadline
from putiofs.thumbnails import image, naming
from putiofs.tree.cache import MetadataCache
from putiofs.tree.folder_jobs import FailureLog, FolderJobs
from putiofs.tree.listing import Listing

log = logging.getLogger("putiofs.thumbnails")

#: The most bytes a screenshot may have (put.io's are tens of KiB).
MAX_SCREENSHOT = 16 * 1024 * 1024
#: How many videos the worker remembers as done (their entries and paths).
DONE_MAX = 20_000


class Thumbnails:
    """Thumbnails of the videos of every listed folder, under ``root`` (default
    :func:`naming.default_root`), for files under ``mountpoint``. ``mtime_of`` is the mtime
    the mount's ``stat`` shows for an entry, in whole seconds. ``owner`` (uid, gid): whom the
    folders and files are given to (None: the process's own user)."""

    def __init__(self, cache: MetadataCache, session: Any, mountpoint: Path,
                 mtime_of: Callable[[Entry], int], *, root: Path | None = None,
                 owner: tuple[int, int] | None = None, workers: int = 2,
                 timeout: float = 20.0, queue_size: int = 64, per_listing: int = 500) -> None:
        self.cache = cache
        self.session = session
        self.mountpoint = str(mountpoint)
        self.mtime_of = mtime_of
        self.root = root or naming.default_root()
        self.owner = owner
        self.timeout = timeout
        self.per_listing = per_listing
        self._failures = FailureLog(log, "thumbnails")
        self.jobs: FolderJobs[list[Entry]] = FolderJobs(
            "thumbnails", self._do_folder, self._failed, log=log, workers=workers,
            queue_size=queue_size)
        self._done: OrderedDict[str, tuple[Entry, str]] = OrderedDict()
        self._lock = threading.Lock()
        #: How many thumbnails were written, found current, or failed (for tests and logs).
        self.counts = {"written": 0, "current": 0, "failed": 0}

    # -- the observer (on the fetching thread: quick) ----------------------------------------

    def listed(self, listing: Listing, previous: Listing | None) -> None:
        videos = [entry for entry in list(listing.entries)
                  if entry.screenshot_url and not entry.is_dir and entry.type in VIDEO_TYPES]
        if not videos:
            return
        if len(videos) > self.per_listing:
            log.debug("thumbnails: folder %s has %d videos, the first %d are done",
                      listing.folder_id, len(videos), self.per_listing)
            videos = videos[:self.per_listing]
        self.jobs.offer(listing.folder_id, videos)

    # -- the workers ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers (once mounted: libfuse's fork keeps no thread)."""
        self.jobs.start()

    def stop(self, wait: float = 5.0) -> None:
        """Drop what waits and end the workers, waiting ``wait`` seconds at most in all (a
        fetch under way ends by its own timeout, in a daemon thread)."""
        self.jobs.stop(wait)

    def idle(self) -> bool:
        return self.jobs.idle()

    def waiting(self) -> dict[str, int]:
        """The folders queued, oldest first, and how many videos each brings."""
        return {folder_id: len(videos) for folder_id, videos in self.jobs.waiting().items()}

    def _do_folder(self, folder_id: str, videos: list[Entry]) -> None:
        folder = self.cache.path_of(folder_id)
        if folder is None:
            log.debug("thumbnails: folder %s's path is not known any more", folder_id)
            return
        listing = self.cache.held_listing(folder_id)
        for entry in videos:
            if self.jobs.stopping:
                return
            with self._lock:
                if self._done.get(entry.id) == (entry, folder):
                    continue
            shown = listing.shown_name(entry.id) if listing is not None else None
            if shown is None:
                continue
            path = self.mountpoint.rstrip("/") + folder.rstrip("/") + "/" + shown
            if self._do_video(entry, path):
                with self._lock:
                    self._done[entry.id] = (entry, folder)
                    self._done.move_to_end(entry.id)
                    while len(self._done) > DONE_MAX:
                        self._done.popitem(last=False)

    def _do_video(self, entry: Entry, path: str) -> bool:
        """Thumbnails of one video at mount path ``path``; True once they are all current."""
        original = image.Original(naming.file_uri(path), self.mtime_of(entry), entry.size)
        targets = {size: naming.thumbnail_path(self.root, size, original.uri)
                   for size in naming.SIZES}
        stale = {size: target for size, target in targets.items()
                 if not image.is_current(target, original)}
        if not stale:
            self._count("current")
            return True
        screenshot = self._fetch(entry)
        if screenshot is None:
            return False
        try:
            made = {size: image.render(screenshot, original, naming.SIZES[size])
                    for size in stale}
        except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for bad bytes
            self._failed("image", f"item {entry.id}'s screenshot: {type(exc).__name__}")
            return False
        try:
            for size, target in stale.items():
                image.make_folder(target.parent, self.owner)
                image.write_atomically(target, made[size], self.owner)
        except OSError as exc:
            self._failed("write", f"{path}: {exc.strerror or type(exc).__name__}")
            return False
        self._count("written")
        log.debug("thumbnails: written for %s", path)
        return True

    def _fetch(self, entry: Entry) -> bytes | None:
        """The screenshot's bytes, or None (logged) if they could not be had in time."""
        try:
            with deadline.within(self.timeout):
                response = self.session.get(entry.screenshot_url,
                                            timeout=(min(10.0, self.timeout), self.timeout))
        except requests.RequestException as exc:
            self._failed("fetch", f"item {entry.id}: {type(exc).__name__}")
            return None
        with response:
            if response.status_code != 200:
                self._failed("fetch", f"item {entry.id}: HTTP {response.status_code}")
                return None
            body = response.content
        if len(body) > MAX_SCREENSHOT:
            self._failed("fetch", f"item {entry.id}: {len(body)} bytes, too large")
            return None
        return body

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _failed(self, what: str, detail: str) -> None:
        self._count("failed")
        self._failures(what, detail)


def owner_of(root: Path) -> tuple[int, int] | None:
    """Whom thumbnails under ``root`` belong to: when the mount runs as root and the cache
    folder holding ``root`` is another user's (``XDG_CACHE_HOME`` pointed at it), that user;
    else None (the process's own)."""
    if os.geteuid() != 0:
        return None
    try:
        info = os.stat(root.parent)
    except OSError:
        return None
    return None if info.st_uid == 0 else (info.st_uid, info.st_gid)
