"""The TTL metadata cache: folder listings, path resolution and the folder map.

A folder is always fetched whole (every page), so one listing answers getattr for all of its
children and also answers "no such name" for anything else in it: while a listing is fresh, a
file manager probing ``.hidden`` or ``desktop.ini`` in every folder costs no API call at all.
A deep path whose folders are not cached yet is resolved with the account's folder map (dirmap,
one call; :class:`putiofs.tree.folder_map.FolderMaps`) instead of one listing per level. A backend
without a folder map (``capabilities.folder_map`` False, or ``NotSupportedError`` once) is
resolved level by level, one listing per uncached level, and never asked for the map again.

When a refresh fails with a temporary error (network, 5xx, 429, busy, out of time: as
:func:`putiofs.net.retry.is_temporary` decides) the last listing is served for up to
``stale_ttl`` seconds more, so an open file manager does not empty itself while put.io is away.
For ``OUTAGE_PAUSE`` seconds after such a failure, folders that have a stale listing are not
asked for again, so one slow failure does not repeat at every level of a path.
Waiting for another thread's fetch of the same folder is bounded by the calling thread's
:mod:`putiofs.net.deadline`.

Changes made through the mount are applied to the cached listings in place, so they are visible at
once without another API call; everything else is seen within ``ttl`` seconds (a change of ours
does not restart a listing's ``ttl``). A change costs the same whatever the folder's size: only
the changed item's name group is worked out again (:class:`putiofs.tree.names.NameTable`), so
``rm -r`` or ``mv`` of every item of a 20,000-item folder costs no more per item than in a small
one.

Memory: the cache holds listings of at most ``max_entries`` items in all (default
:data:`MAX_ENTRIES`, ``putiofs mount --cache-entries``), least recently used out first; a listing
counts its items plus one (so folders are bounded too), and one larger than the whole bound is
still cached, alone. Last-known listings (for outages) obey the same bound and share the
objects, so both together hold at most twice the bound, usually just the bound. Our own edits
are not recounted until the folder's next fetch. A listing keeps one dict of entries (id →
Entry) and one of shown names, about 80 bytes per item besides the entries (v2: about 500
bytes each with their strings); the NFC index holds only names not in NFC, usually none. A
100,000-item folder costs about 55 MB, built once per fetch and never copied by a change. A
fetch's record (single-flight lock, count of our edits meanwhile) lives only while it runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import NamedTuple

from cachetools import LRUCache

from putiofs.api.backend import ROOT_ID, Backend, Entry
from putiofs.api.errors import (
    NotFoundError,
    PathNotADirectory,
    PathNotFound,
    PutioError,
    TransportError,
)
from putiofs.net import deadline
from putiofs.net.retry import is_temporary
from putiofs.tree import names
from putiofs.tree.folder_map import FolderMaps
from putiofs.tree.listing import Listing

log = logging.getLogger(__name__)

ROOT = Entry(id=ROOT_ID, name="", is_dir=True, size=0, parent_id="", type="folder")
#: After a listing failed with a temporary error, folders with a stale listing are served from
#: it for this many seconds without asking put.io: during an outage only the first call waits.
OUTAGE_PAUSE = 5.0
#: Seconds after one of our uploads landed during which events about what it changed are not
#: applied (see :meth:`MetadataCache.quiet`).
QUIET_GRACE = 3.0
#: Folders deeper than this are not followed up to the root (:meth:`MetadataCache.path_of`).
MAX_FOLDER_DEPTH = 256
#: The default bound of the cache, in listed items (about 100 MB of v2 listings at most).
MAX_ENTRIES = 200_000


class _Flight:
    """One folder's fetch in progress: its single-flight lock, how many threads hold this
    record, and how many of the mount's own edits touched the folder meanwhile."""

    __slots__ = ("edits", "lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.edits = 0


class _Fetched(NamedTuple):
    value: Listing
    stored: bool  # False: one of the mount's own edits raced the fetch, the cache was left alone


class OwnUpload:
    """What one of the mount's own uploads changes, so that the events it causes can be told
    from other clients': the names it has in ``folder_id`` (uploaded, landed) and the ids of
    the items it makes, renames or deletes. ``add`` is called by the uploader's thread while
    the events' thread asks :meth:`matches` (set membership and ``add`` are atomic)."""

    __slots__ = ("folder_id", "ids", "names", "running", "until")

    def __init__(self, folder_id: str, names: Iterable[str], ids: Iterable[str]) -> None:
        self.folder_id = folder_id
        self.names = set(names)
        self.ids = set(ids)
        self.running = True
        self.until = 0.0

    def add(self, item_id: str) -> None:
        """One more item of ours (the new item, once put.io has named it)."""
        self.ids.add(item_id)

    def matches(self, item_id: str, folder_id: str | None, name: str | None) -> bool:
        """Is an event about ``item_id`` (``name`` in ``folder_id``, as far as it says) ours?"""
        return item_id in self.ids or (
            name is not None and folder_id == self.folder_id and name in self.names)


def split_path(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


class MetadataCache:
    """Folder listings keyed by folder id, with single-flight fetches and stale-if-error.

    ``ttl`` is how long a listing is trusted; it can change while the mount runs
    (:meth:`set_ttl`: long while realtime events are live, see :mod:`putiofs.tree.live_updates`)
    and applies to every held listing from its fetch on. :meth:`expire_all` makes every held
    listing count as expired (listed anew at its next use, not before); :meth:`verify_soon`
    caps one listing's trust at ``base_ttl`` from now (after a change applied from an event,
    which may be wrong: the next listing confirms or undoes it).
    """

    def __init__(self, backend: Backend, *, ttl: float = 30.0, stale_ttl: float = 600.0,
                 max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.ttl = ttl
        self.base_ttl = ttl
        self.stale_ttl = stale_ttl
        self.max_entries = max(1, max_entries)
        self._clock = clock

        def size(listing: Listing) -> int:
            return min(len(listing) + 1, self.max_entries)

        #: folder id -> (when it was stored, the listing); trusted while younger than ``ttl``
        self._fresh: LRUCache[str, tuple[float, Listing]] = LRUCache(
            self.max_entries, getsizeof=lambda held: size(held[1]))
        self._valid_after = float("-inf")
        self._verify_by: dict[str, float] = {}
        self._own: list[OwnUpload] = []  # our uploads under way, and just landed
        self._last_known: LRUCache[str, Listing] = LRUCache(self.max_entries, getsizeof=size)
        self._folder_maps = FolderMaps(backend, ttl=ttl, clock=clock)
        self._lock = threading.RLock()
        self._flights: dict[str, _Flight] = {}
        self._outage_until = 0.0
        #: Whose place among same-named items a new version holds (:class:`names.Seniority`).
        self.seniority = names.Seniority()
        #: Called as ``observer(listing, previous)`` after each fetched listing is stored, on
        #: the fetching thread and outside the cache's lock; ``previous`` is the listing it
        #: replaces (None the first time). What the mount derives from a folder's contents
        #: (sidecars, thumbnails, change hooks) starts here; an observer must return quickly
        #: (hand slow work to a thread of its own), and what it raises is logged, not passed on.
        self.listing_observers: list[Callable[[Listing, Listing | None], None]] = []

    # -- listings -------------------------------------------------------------------------

    def cached_listing(self, folder_id: str) -> Listing | None:
        """The folder's listing if it is still trusted (see the class docstring), else None."""
        with self._lock:
            held = self._fresh.get(folder_id)
            if held is None:
                return None
            stored, listing = held
            now = self._clock()
            if (now - stored >= self.ttl or stored <= self._valid_after
                    or now >= self._verify_by.get(folder_id, float("inf"))):
                return None
            return listing

    def set_ttl(self, ttl: float) -> None:
        with self._lock:
            self.ttl = ttl

    def expire_all(self) -> None:
        """Every listing held now is listed anew at its next use (stale-if-error still has
        it), and the folder map is asked anew."""
        with self._lock:
            self._valid_after = self._clock()
        self._folder_maps.drop()

    def refresh_below(self, path: str) -> list[str]:
        """Every held listing at and below the folder at ``path`` is listed anew at its next
        use (the last listings stay for stale-if-error), and so is the folder map; the mount
        paths of those folders and of what they held, for the kernel's caches.

        No API call: ``path`` is followed through held listings only. Where it leaves them
        (a name not listed yet, a folder never listed) the nearest held folder above it is
        refreshed, which takes in the rest; a file's path refreshes its folder.
        """
        folder, shown = ROOT, "/"
        for part in split_path(path):
            held = self.held_listing(folder.id)
            child = held.find(part) if held is not None else None
            if child is None or not child.is_dir:
                break
            folder, shown = child, shown.rstrip("/") + "/" + (held.shown_name(child.id) or part)
        paths = [shown]
        pending = [(folder.id, shown)]
        with self._lock:
            self._folder_maps.drop()
            while pending:
                folder_id, folder_path = pending.pop()
                self._fresh.pop(folder_id, None)
                self._verify_by.pop(folder_id, None)
                listing = self._last_known.get(folder_id)
                for name, entry in list(listing.by_name.items()) if listing is not None else ():
                    child_path = folder_path.rstrip("/") + "/" + name
                    paths.append(child_path)
                    if entry.is_dir:
                        pending.append((entry.id, child_path))
        return paths

    def expire(self, folder_id: str) -> None:
        """This folder is listed anew at its next use (stale-if-error still has it)."""
        with self._lock:
            self._fresh.pop(folder_id, None)
            self._verify_by.pop(folder_id, None)

    @contextlib.contextmanager
    def quiet(self, folder_id: str, names: Iterable[str] = (),
              ids: Iterable[str] = ()) -> Iterator[OwnUpload]:
        """While one of our own uploads lands in this folder (and ``QUIET_GRACE`` seconds
        after), realtime events about what it changes are not applied (:meth:`is_own`): put.io
        reports the upload's own steps (created under its upload name, then renamed, the
        replaced item deleted), and one arriving after our own edit of the listing would undo
        it for a moment. The mount's own edits keep the listing true meanwhile. Only events
        about the upload's names in the folder and the ids it touches (``ids``, and those
        added to the :class:`OwnUpload` yielded) are ours: other clients' changes in the same
        folder apply as ever."""
        own = OwnUpload(folder_id, names, ids)
        with self._lock:
            self._own.append(own)
        try:
            yield own
        finally:
            with self._lock:
                own.running = False
                own.until = self._clock() + QUIET_GRACE

    def is_own(self, item_id: str, folder_id: str | None, name: str | None) -> bool:
        """Is an event about ``item_id`` (``name`` in ``folder_id``, as far as it says) one
        of our own uploads' (see :meth:`quiet`)?"""
        with self._lock:
            now = self._clock()
            self._own = [own for own in self._own if own.running or now < own.until]
            return any(own.matches(item_id, folder_id, name) for own in self._own)

    def verify_soon(self, folder_id: str) -> None:
        """Trust this folder's listing for at most ``base_ttl`` more seconds."""
        with self._lock:
            if folder_id in self._fresh:
                limit = self._clock() + self.base_ttl
                self._verify_by[folder_id] = min(limit, self._verify_by.get(folder_id, limit))

    def held_listing(self, folder_id: str) -> Listing | None:
        """The folder's last listing, trusted or not (None if none is held)."""
        with self._lock:
            return self._last_known.get(folder_id)

    def holders(self, item_id: str) -> list[tuple[str, Entry]]:
        """The held listings (trusted or not) that have an item of this id: (folder id, its
        entry there). Looks at every held listing: for events, not for FUSE calls."""
        with self._lock:
            listings = {**{k: v for k, (_, v) in self._fresh.items()}, **self._last_known}
        found = []
        for folder_id, listing in listings.items():
            entry = listing.get(item_id)
            if entry is not None:
                found.append((folder_id, entry))
        return found

    def path_of(self, folder_id: str) -> str | None:
        """The mount path of a folder ("/" the root), followed up through the held listings
        with the names the mount shows (no API call); None if one of the folders above it is
        not held. Where two listings hold a folder (a move not yet relisted), the one it says
        it is in wins, a trusted listing first. For events, change hooks and the background
        work a listing starts (thumbnails, subtitles), not FUSE calls (each level looks at
        every held listing)."""
        parts: list[str] = []
        current = folder_id
        for _ in range(MAX_FOLDER_DEPTH):
            if current == ROOT_ID:
                return "/" + "/".join(reversed(parts))
            held = self.holders(current)
            placed = [(parent, entry) for parent, entry in held if entry.parent_id == parent]
            fresh = [pair for pair in placed if self.cached_listing(pair[0]) is not None]
            candidates = fresh or placed or held
            if not candidates:
                return None
            parent_id = candidates[0][0]
            listing = self.held_listing(parent_id)
            name = listing.shown_name(current) if listing is not None else None
            if name is None:
                return None
            parts.append(name)
            current = parent_id
        return None

    def holders_of(self, item_ids: set[str]) -> dict[str, list[tuple[str, Entry]]]:
        """:meth:`holders` of many items in one pass: item id -> (folder id, entry) pairs, for
        the ids some held listing has. Costs the smaller of the two sizes per listing."""
        with self._lock:
            listings = {**{k: v for k, (_, v) in self._fresh.items()}, **self._last_known}
        found: dict[str, list[tuple[str, Entry]]] = {}
        for folder_id, listing in listings.items():
            if len(item_ids) <= len(listing):
                hits = [e for e in map(listing.get, item_ids) if e is not None]
            else:
                hits = [e for e in list(listing.entries) if e.id in item_ids]
            for entry in hits:
                found.setdefault(entry.id, []).append((folder_id, entry))
        return found

    def listing(self, folder_id: str) -> Listing:
        """The folder's children: from cache while fresh, else fetched (once, however many ask)."""
        cached = self.cached_listing(folder_id)
        if cached is not None:
            return cached
        with self._flight(folder_id) as flight:
            left = deadline.remaining()
            if not flight.lock.acquire(timeout=-1 if left is None else left):
                # Another thread's fetch of this folder outlasted our own time limit.
                return self._stale_or_raise(folder_id, TransportError(
                    f"listing folder {folder_id}: out of time waiting for another fetch"))
            try:
                return self._fetch_locked(folder_id, flight)
            finally:
                flight.lock.release()

    def _fetch_locked(self, folder_id: str, flight: _Flight) -> Listing:
        cached = self.cached_listing(folder_id)
        if cached is not None:
            return cached
        if self._clock() < self._outage_until and self._stale(folder_id) is not None:
            return self._stale_or_raise(folder_id, TransportError("put.io failed just now"))
        for attempt in range(2):
            try:
                listing = self._fetch_and_store(folder_id, flight)
            except NotFoundError:
                self.forget_folder(folder_id)
                raise
            except PutioError as exc:
                if not is_temporary(exc):
                    raise
                self._outage_until = self._clock() + OUTAGE_PAUSE
                return self._stale_or_raise(folder_id, exc)
            self._outage_until = 0.0
            if listing.stored:
                return listing.value
            # One of the mount's own edits to this folder landed while the pages were in
            # flight: the answer may predate it, so it must not overwrite the cache.
            log.debug("listing of folder %s raced with a change (attempt %d)", folder_id,
                      attempt + 1)
        return listing.value

    def prefetch(self, folder_id: str) -> bool:
        """List a folder ahead of a reader (:mod:`putiofs.tree.walk_ahead`); True if it did.

        Nothing happens (False) while the folder has a fresh listing, while another thread
        fetches it, or during the outage pause. A fetched listing is stored as by
        :meth:`listing` (unless one of our changes raced it); a failure changes nothing in the
        cache (no stale listing re-armed, no outage pause, no folder forgotten) and is raised
        for the caller to log.
        """
        if self.cached_listing(folder_id) is not None:
            return False
        with self._flight(folder_id) as flight:
            if not flight.lock.acquire(blocking=False):
                return False
            try:
                if (self.cached_listing(folder_id) is not None
                        or self._clock() < self._outage_until):
                    return False
                self._fetch_and_store(folder_id, flight)
                return True
            finally:
                flight.lock.release()

    def _fetch_and_store(self, folder_id: str, flight: _Flight) -> _Fetched:
        """One fetch of the folder, stored unless one of our changes landed meanwhile."""
        with self._lock:
            edits_before = flight.edits
        started = self._clock()
        entries = list(self.backend.list_folder(folder_id))
        listing = Listing(folder_id, entries, self._clock(), self.seniority)
        with self._lock:
            if flight.edits != edits_before:
                return _Fetched(listing, stored=False)
            previous = self._last_known.get(folder_id)
            self._store(listing, started)
        self._tell_observers(listing, previous)
        return _Fetched(listing, stored=True)

    def _tell_observers(self, listing: Listing, previous: Listing | None) -> None:
        for observer in self.listing_observers:
            try:
                observer(listing, previous)
            except Exception:
                log.exception("an observer of folder %s's listing failed", listing.folder_id)

    @contextlib.contextmanager
    def _flight(self, folder_id: str) -> Iterator[_Flight]:
        """The folder's fetch record, kept only while some thread holds it."""
        with self._lock:
            flight = self._flights.get(folder_id)
            if flight is None:
                flight = self._flights[folder_id] = _Flight()
            flight.users += 1
        try:
            yield flight
        finally:
            with self._lock:
                flight.users -= 1
                if flight.users == 0:
                    del self._flights[folder_id]

    def _stale_or_raise(self, folder_id: str, exc: PutioError) -> Listing:
        """The last listing if it is young enough (stale-if-error), else ``exc``.

        A stale listing served is trusted again for one ``ttl``, so while put.io is away each
        folder costs one failed fetch per ``ttl``, not one per call; it is never served longer
        than ``2 * ttl + stale_ttl`` after it was really fetched.
        """
        stale = self._stale(folder_id)
        if stale is None:
            raise exc
        log.warning("serving a stale listing of folder %s (%.0f s old): %s", folder_id,
                    self._clock() - stale.fetched_at, type(exc).__name__)
        with self._lock:
            if folder_id in self._last_known:
                self._fresh[folder_id] = (self._clock(), stale)
                self._verify_by.pop(folder_id, None)
        return stale

    def _stale(self, folder_id: str) -> Listing | None:
        with self._lock:
            old = self._last_known.get(folder_id)
        if old is not None and self._clock() - old.fetched_at <= self.ttl + self.stale_ttl:
            return old
        return None

    def _store(self, listing: Listing, started: float) -> None:
        """Keep a listing whose fetch began at ``started`` (its trust runs from then: a
        change made while its pages were in flight may be missing from it)."""
        with self._lock:
            self._fresh[listing.folder_id] = (started, listing)
            self._last_known[listing.folder_id] = listing
            self._verify_by.pop(listing.folder_id, None)

    def stats(self) -> tuple[int, int]:
        """(folders, items) held: every listing kept, trusted or kept for stale-if-error
        (``putiofs status``)."""
        with self._lock:
            listings = list(self._last_known.values())
        return len(listings), sum(len(listing) for listing in listings)

    def forget_folder(self, folder_id: str) -> None:
        with self._lock:
            self._fresh.pop(folder_id, None)
            self._last_known.pop(folder_id, None)
            self._verify_by.pop(folder_id, None)

    # -- resolution -----------------------------------------------------------------------

    def resolve(self, path: str) -> Entry:
        """The entry at a mount path. Raises PathNotFound or PathNotADirectory."""
        parts = split_path(path)
        entry = ROOT
        index = 0
        while index < len(parts):
            if not entry.is_dir:
                raise PathNotADirectory(path)
            names.check_length(parts[index])
            if len(parts) - index >= 3 and self.cached_listing(entry.id) is None:
                jumped = self._folder_maps.walk(entry, parts, index)
                if jumped is not None:
                    entry, index = jumped
                    continue
            child = self.listing(entry.id).find(parts[index])
            if child is None:
                raise PathNotFound(path)
            entry = child
            index += 1
        return entry

    def resolve_parent(self, path: str) -> tuple[Entry, str]:
        """The folder that holds ``path`` and the last component's name."""
        parts = split_path(path)
        if not parts:
            raise PathNotFound(path)
        parent = self.resolve("/".join(parts[:-1]))
        if not parent.is_dir:
            raise PathNotADirectory(path)
        return parent, parts[-1]

    # -- the mount's own edits ---------------------------------------------------------------

    def _edit(self, folder_id: str, edit: Callable[[Listing], None]) -> None:
        """Apply one of the mount's own edits to the folder's cached listings, in place.

        The listing keeps its expiry: a folder changed through the mount still shows other
        clients' changes within ``ttl`` (re-storing it would restart the clock at every edit).
        """
        with self._lock:
            flight = self._flights.get(folder_id)
            if flight is not None:
                flight.edits += 1
            held = self._fresh.get(folder_id)
            fresh = held[1] if held is not None else None
            if fresh is not None:
                edit(fresh)
            known = self._last_known.get(folder_id)
            if known is not None and known is not fresh:
                edit(known)

    def added(self, entry: Entry) -> None:
        """An item now exists (mkdir, or the target of a move)."""
        self._edit(entry.parent_id, lambda listing: listing.put(entry))
        if entry.is_dir:
            self._folder_maps.drop()

    def removed(self, entry: Entry) -> None:
        """An item is gone from its folder (unlink, rmdir, the source of a move)."""
        self._edit(entry.parent_id, lambda listing: listing.discard(entry.id))
        if entry.is_dir:
            self._folder_maps.drop()
            self._forget_subtree(entry.id)

    def replaced(self, old: Entry, new: Entry) -> None:
        """An item changed name or folder."""
        if old.parent_id != new.parent_id or old.id != new.id:
            self._edit(old.parent_id, lambda listing: listing.discard(old.id))
        self._edit(new.parent_id, lambda listing: listing.put(new))
        if new.is_dir:
            self._folder_maps.drop()

    def _forget_subtree(self, folder_id: str) -> None:
        pending = [folder_id]
        while pending:
            current = pending.pop()
            with self._lock:
                listing = self._last_known.get(current)
                if listing is not None:
                    pending.extend(e.id for e in list(listing.entries) if e.is_dir)
            self.forget_folder(current)


def renamed_entry(entry: Entry, *, name: str | None = None, parent_id: str | None = None) -> Entry:
    """A copy of ``entry`` as it is after a rename and/or move."""
    return replace(entry, name=entry.name if name is None else name,
                   parent_id=entry.parent_id if parent_id is None else parent_id)
