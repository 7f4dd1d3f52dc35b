"""Read-ahead of folder walks: list the next sibling folders while a walker reads this one.

``ls -R``, ``find``, ``du``, ``rsync`` and file managers computing folder sizes list folder
after folder, and each listing not cached is one round trip to put.io. When the mount sees such
a walk it lists the folders the walker is about to reach, a few at a time, so that the walker's
next ``readdir`` is served from the cache.

**When a walk is seen.** Two different subfolders of one folder P are listed (``readdir``) one
after the other, the second within :func:`pace` seconds of the first (2 s by default). Each
further ``readdir`` of a subfolder of P at that pace keeps the walk going; a slower one (a
person clicking through folders, ``cp -r`` copying big files between listings) reads nothing
ahead. Only listings count: ``stat`` of the children (``ls -l P``), lookups of a deep path
and opening files never start a read-ahead, so looking at one folder costs what it always did.
A folder's own subfolders are not read ahead when it is listed: ``ls -l P`` followed by
nothing would have paid for them.

**What is read ahead.** P's subfolders that come after the one just listed, in the order the
mount lists them (by shown name, as ``readdir`` returns them, the order ``find``, ``du`` and
other fts walkers follow), skipping those with a fresh listing and those already read ahead; at
most :data:`WORKERS` (4) listings at once. A walker that goes in another order (``ls -R``
sorts by the locale) still finds most of them read ahead; the others it lists itself.

**The budget.** At most :data:`MAX_AHEAD` (8) listings are read ahead and not yet listed by the
walker at any time, across all walks of the mount. One that the walker has not listed within the
cache's TTL has expired unused and stops counting. So a walk costs at most the folders it lists
plus :data:`MAX_AHEAD` calls, a walk that stops makes at most :data:`MAX_AHEAD` calls it does
not use, and a warm walk (every listing fresh) makes none. The pace is at most ``ttl /
MAX_AHEAD``, so a walker that keeps it reaches what was read ahead before it expires. A walked
folder is listed once: the read-ahead skips a folder someone is fetching, and a walker asking
for a folder being read ahead waits for that fetch (within its own deadline) instead of making
another.

**Never changes what is shown.** A listing read ahead is stored exactly like one the walker
fetched (:meth:`putiofs.tree.cache.MetadataCache.prefetch`): the same TTL, counted from when it was
fetched, the same rule against racing the mount's own edits. A failed read-ahead is logged at debug
level and leaves the cache as it was; the walker then lists that folder itself and sees what it
would have seen without read-ahead. Failed calls count against the budget until they expire,
so a failing put.io gets at most :data:`MAX_AHEAD` extra calls per TTL. With a TTL under one
second (``--cache-ttl 0``) there is no read-ahead: what it fetched would expire unused.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any

from putiofs.api.backend import ROOT_ID, Entry
from putiofs.net import deadline
from putiofs.tree.cache import Listing, MetadataCache

log = logging.getLogger(__name__)

WORKERS = 4
MAX_AHEAD = 8
#: The slowest pace between two sibling listings that counts as a walk (seconds).
WALK_PACE = 2.0
#: Below this cache TTL (seconds) nothing is read ahead.
MIN_TTL = 1.0
#: How many parent folders' walks are remembered (least recently walked forgotten first).
_WALKS_KEPT = 64


class _DaemonPool(Executor):
    """Up to ``workers`` daemon threads, started as work comes: unlike ThreadPoolExecutor's,
    a read-ahead still waiting for put.io never holds up the mount process's exit."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._queue: SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = \
            SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._closed:
                return Future()  # stopped meanwhile (unmounting): dropped
            self._queue.put((fn, args))
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"putiofs-readahead-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
        return Future()  # nobody waits for a read-ahead

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            job[0](*job[1])

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            while cancel_futures and not self._queue.empty():
                try:
                    self._queue.get_nowait()
                except Empty:
                    break
            for _ in self._threads:
                self._queue.put(None)  # each thread ends at its next look at the queue
        if wait:
            for thread in self._threads:
                thread.join()


def pace(ttl: float, max_ahead: int = MAX_AHEAD) -> float:
    """The slowest gap between sibling listings that counts as a walk, for a cache TTL."""
    return min(WALK_PACE, ttl / max(1, max_ahead))


@dataclass(slots=True)
class _Walk:
    """What is known of the walk through one parent folder's subfolders."""

    last_child: str
    at: float
    listing: weakref.ref[Listing] | None = None               # the parent listing below is of
    folders: list[tuple[str, str]] = field(default_factory=list)  # (shown name, id), sorted
    scanned: int = 0                                          # folders[:scanned] considered


class WalkReadAhead:
    """Watches the folders listed for readers and lists the next ones ahead (see module doc).

    ``listed`` is called by the FUSE front's ``readdir`` after serving a folder; the fetches run
    on up to ``workers`` threads of their own (or on ``executor``, if given), each bounded by
    ``call_deadline``. ``close`` stops it (pending read-aheads are dropped).
    """

    def __init__(self, cache: MetadataCache, *, workers: int = WORKERS,
                 max_ahead: int = MAX_AHEAD, call_deadline: float | None = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 executor: Executor | None = None) -> None:
        self.cache = cache
        self.max_ahead = max_ahead
        self.pace = pace(cache.ttl, max_ahead)
        self._deadline = call_deadline
        self._clock = clock
        self._lock = threading.Lock()
        self._walks: OrderedDict[str, _Walk] = OrderedDict()
        self._ahead: dict[str, float] = {}  # folder id → when read ahead, until walked
        self._pool = executor or _DaemonPool(workers)
        self._closed = False

    @staticmethod
    def wanted(ttl: float) -> bool:
        """Whether read-ahead makes sense with this cache TTL."""
        return ttl >= MIN_TTL

    def listed(self, folder: Entry, shown_name: str) -> None:
        """``folder`` (shown as ``shown_name`` in its parent) was just listed for a reader."""
        if folder.id == ROOT_ID or not folder.parent_id:
            return
        now = self._clock()
        with self._lock:
            if self._closed:
                return
            self._ahead.pop(folder.id, None)
            walk = self._walks.get(folder.parent_id)
            walking = (walk is not None and walk.last_child != folder.id
                       and 0 <= now - walk.at <= self.pace)
            if walk is None:
                walk = _Walk(folder.id, now)
                self._walks[folder.parent_id] = walk
                if len(self._walks) > _WALKS_KEPT:
                    self._walks.popitem(last=False)
            else:
                self._walks.move_to_end(folder.parent_id)
                walk.last_child, walk.at = folder.id, now
            chosen = self._choose(folder.parent_id, walk, shown_name, now) if walking else []
            for folder_id in chosen:
                self._ahead[folder_id] = now
        for folder_id in chosen:
            self._pool.submit(self._read_ahead, folder_id)

    def close(self) -> None:
        """Stop: nothing more is read ahead, pending read-aheads are dropped."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- choosing -------------------------------------------------------------------------

    def _choose(self, parent_id: str, walk: _Walk, shown_name: str, now: float) -> list[str]:
        """The next subfolders of the parent to read ahead, within the budget (lock held)."""
        for folder_id, since in list(self._ahead.items()):
            if now - since > self.cache.ttl:
                del self._ahead[folder_id]  # expired unused: it no longer counts
        room = self.max_ahead - len(self._ahead)
        if room <= 0:
            return []
        parent = self.cache.cached_listing(parent_id)
        if parent is None:
            return []
        if walk.listing is None or walk.listing() is not parent:
            walk.listing = weakref.ref(parent)  # not kept alive past the cache's bound
            walk.folders = sorted((name, entry.id) for name, entry in
                                  list(parent.by_name.items()) if entry.is_dir)
            walk.scanned = 0
        index = max(walk.scanned, bisect.bisect_right(walk.folders, (shown_name, "\U0010ffff")))
        chosen: list[str] = []
        while index < len(walk.folders) and len(chosen) < room:
            folder_id = walk.folders[index][1]
            index += 1
            if folder_id not in self._ahead and self.cache.cached_listing(folder_id) is None:
                chosen.append(folder_id)
        walk.scanned = index
        return chosen

    # -- fetching -------------------------------------------------------------------------

    def _read_ahead(self, folder_id: str) -> None:
        try:
            with deadline.within(self._deadline):
                fetched = self.cache.prefetch(folder_id)
        except Exception as exc:  # a read-ahead never fails anyone: logged only
            log.debug("read-ahead of folder %s failed: %s", folder_id, type(exc).__name__)
            return  # the call was made: it counts against the budget until it expires
        if not fetched:
            with self._lock:
                self._ahead.pop(folder_id, None)  # no call made (fresh, or being fetched)
