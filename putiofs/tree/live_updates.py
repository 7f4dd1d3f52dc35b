"""Changes made elsewhere, applied as they happen: realtime events -> the metadata cache.

While the API's realtime feed (:mod:`putiofs.api.realtime`) is live, listings are trusted for
``live_ttl`` seconds (default 600) instead of the mount's ``cache_ttl``, and each change is
applied precisely, through the cache's own edit methods:

- an item created or changed (with a name and a parent in the event): put into its folder's
  listing, if that is held (replacing the entry of its id, so a rename or a new size shows),
  and taken out of any other held listing that had it (a move); a folder moved elsewhere also
  loses its own held listings (and those below it), which are listed anew at their next use;
- an item deleted: taken out of every held listing that had it; a folder's own listings go;
- an event that does not say enough (no name or parent): the folders that hold the item, and
  the named parent, are listed anew at their next use.

**Safe when events are wrong, repeated or lost.** Applying an event is idempotent. A listing
changed by an event is trusted for at most the mount's normal ``cache_ttl`` after it
(:meth:`putiofs.tree.cache.MetadataCache.verify_soon`), so a wrong event neither shows a file that
does not exist nor hides one that does for longer than without events. When the feed goes
down, ``cache_ttl`` applies again at once (listings older than it are listed anew); when it
comes back, every held listing counts as expired and is listed anew at its next use (lazily:
one listing per folder actually visited, never a sweep), since changes made meanwhile were
not heard.

**The kernel's caches.** ``invalidate(path)`` is called for every path an event touches (the
folder, and the item in it); the mount passes :func:`putiofs.mount.kernel_cache.invalidate_path`,
which on libfuse 3 drops the path from the kernel's caches at once (``fuse_invalidate_path``).
libfuse 2's high-level API has no such call, so the kernel's entry and attribute timeouts are
``KERNEL_TTL_LIVE`` (1 s) while events are on (:mod:`putiofs.mount.settings`): there a change
shows in ``ls`` within about a second of its event. Without an ``invalidate`` (tests, the
commands) nothing is told to the kernel.

**Change hooks.** Given a :class:`~putiofs.tree.changes.ChangeFeed`, each applied change is
told to it with the item's place before and after (``--on-change``).

Transfer events call ``transfers_changed`` (the mount drops ``/.putio/transfers``' text).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import cast

from putiofs.api.backend import Backend, Entry
from putiofs.api.realtime import DELETED, ChangeListener, ChangeSource, FileChange, TransferChange
from putiofs.tree.cache import MetadataCache
from putiofs.tree.changes import ChangeFeed

log = logging.getLogger(__name__)

#: Listing TTL while events are live, when the user did not choose ``--cache-ttl``.
LIVE_TTL = 600.0
#: The kernel's entry and attribute timeout on a mount with events on (see the docstring).
KERNEL_TTL_LIVE = 1.0


def _no_invalidation(path: str) -> None:
    """The default kernel hook: fusepy cannot drop a path from the kernel's caches."""


def attach(backend: Backend, cache: MetadataCache, *, live_ttl: float = LIVE_TTL,
           transfers_changed: Callable[[], None] = lambda: None,
           invalidate: Callable[[str], object] = _no_invalidation,
           changes: ChangeFeed | None = None, start: bool = True) -> LiveUpdates | None:
    """Listen to the backend's realtime events for ``cache``; None where its API has none
    (``capabilities.live_events`` False). ``start=False`` leaves the listening thread to
    :meth:`LiveUpdates.start` (a mount starts it once mounted: libfuse's move to the background
    forks, which keeps only the forking thread). Stop with :meth:`LiveUpdates.stop`."""
    if not backend.capabilities.live_events:
        return None
    updates = LiveUpdates(cache, live_ttl=live_ttl, invalidate=invalidate,
                          transfers_changed=transfers_changed, changes=changes)
    updates.listener = cast(ChangeSource, backend).change_listener(updates)
    if start:
        updates.start()
    return updates


class LiveUpdates:
    """The sink of a :class:`~putiofs.api.realtime.ChangeListener` that keeps ``cache`` current."""

    def __init__(self, cache: MetadataCache, *, live_ttl: float = LIVE_TTL,
                 invalidate: Callable[[str], object] = _no_invalidation,
                 transfers_changed: Callable[[], None] = lambda: None,
                 changes: ChangeFeed | None = None) -> None:
        self.cache = cache
        #: Told of each change applied (``--on-change``, :mod:`putiofs.tree.changes`).
        self.changes = changes
        self.base_ttl = cache.base_ttl
        self.live_ttl = max(live_ttl, self.base_ttl)
        self.invalidate = invalidate
        self.transfers_changed = transfers_changed
        self.listener: ChangeListener | None = None
        self._lock = threading.Lock()
        #: When the feed last became live, or stopped being so (unix time; None: neither yet).
        self.changed_at: float | None = None

    @property
    def problem(self) -> str | None:
        """Why the feed is not live, as its listener last saw it (None: no failure yet)."""
        return None if self.listener is None else self.listener.problem

    @property
    def live(self) -> bool:
        return self.listener is not None and self.listener.live

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()

    # -- the listener's calls -------------------------------------------------------------

    def live_changed(self, live: bool) -> None:
        self.changed_at = time.time()
        if live:
            self.cache.expire_all()  # what changed while we were away was not heard
            self.cache.set_ttl(self.live_ttl)
        else:
            self.cache.set_ttl(self.base_ttl)
        self.transfers_changed()
        self._invalidate("/")

    def transfer_changed(self, change: TransferChange) -> None:
        self.transfers_changed()

    def file_changed(self, change: FileChange) -> None:
        with self._lock:
            before = self.changes.places(change.item_id) if self.changes is not None else []
            touched = self._apply(change)
            if self.changes is not None:
                self.changes.heard(change, before)
        for folder_id, name in touched:
            self._invalidate_in(folder_id, name)

    # -- applying -------------------------------------------------------------------------

    def _apply(self, change: FileChange) -> list[tuple[str, str | None]]:
        """Apply one change; the (folder id, shown name or None) pairs it touched."""
        cache = self.cache
        held = cache.holders(change.item_id)
        touched: list[tuple[str, str | None]] = []
        folders = {folder_id for folder_id, _ in held}
        folders.update(f for f in (change.parent_id, change.entry and change.entry.parent_id)
                       if f is not None)
        new = change.entry
        place = new.parent_id if new is not None else change.parent_id
        if cache.is_own(change.item_id, place, new.name if new is not None else None):
            # A step of one of our own uploads: the listing follows our own edits; the event
            # is confirmed by the next listing, within the normal TTL.
            for folder_id in folders:
                cache.verify_soon(folder_id)
            return touched
        for folder_id, old in held:
            touched.append((folder_id, self._shown(folder_id, old.id)))
        if new is None:
            for folder_id, _ in held:
                cache.expire(folder_id)
            if change.parent_id is not None:
                cache.expire(change.parent_id)
                touched.append((change.parent_id, None))
            if change.kind == DELETED:
                cache.forget_folder(change.item_id)
            return touched
        if change.kind == DELETED:
            for folder_id, old in held:
                cache.removed(_in_folder(old, folder_id))
                cache.verify_soon(folder_id)
            if not held and new.is_dir:
                cache.removed(new)  # its own listings go, even if its parent is not held
            return touched
        for folder_id, old in held:
            if folder_id != new.parent_id:
                cache.removed(_in_folder(old, folder_id))  # a folder's own listings go too
                cache.verify_soon(folder_id)
        cache.added(new)
        cache.verify_soon(new.parent_id)
        touched.append((new.parent_id, self._shown(new.parent_id, new.id)))
        return touched

    def _shown(self, folder_id: str, item_id: str) -> str | None:
        held = self.cache.held_listing(folder_id)
        return held.shown_name(item_id) if held is not None else None

    # -- the kernel -----------------------------------------------------------------------

    def _invalidate_in(self, folder_id: str, name: str | None) -> None:
        if self.invalidate is _no_invalidation:
            return
        folder = self.cache.path_of(folder_id)
        if folder is None:
            return
        self._invalidate(folder)
        if name is not None:
            self._invalidate(folder.rstrip("/") + "/" + name)

    def _invalidate(self, path: str) -> None:
        try:
            self.invalidate(path)
        except Exception:  # noqa: BLE001 - a kernel hook must not stop the events
            log.debug("invalidating %s failed", path, exc_info=True)


def _in_folder(entry: Entry, folder_id: str) -> Entry:
    """``entry`` as the listing of ``folder_id`` holds it (its ``parent_id`` that folder)."""
    return entry if entry.parent_id == folder_id else replace(entry, parent_id=folder_id)
