"""The change feed: every change the mount learns of, as mount paths, for ``--on-change``.

Three sources feed it, each reporting a change once, when put.io has it:

- **realtime events** (:mod:`putiofs.tree.live_updates` calls :meth:`ChangeFeed.places` before
  applying an event and :meth:`ChangeFeed.heard` after, so a move knows the path it left);
- **relistings**: a folder listed again is compared with the listing it replaces
  (:attr:`MetadataCache.listing_observers`), by item id: an id that appears is ``created``
  (``moved`` when another held listing still has it: it came from there), one that goes is
  ``deleted`` (unless another held listing has it: that side reported the move), the same id
  under a new name is ``moved``, a file whose size, CRC-32 or time changed is ``changed``. The
  first listing of a folder (nothing to compare with) reports nothing. Events and the mount's
  own edits are applied to the held listings in place, so the relisting that confirms them
  finds nothing new: a change is not told twice. A move between two folders learnt only by
  relisting is ``moved`` when the folder it went to is listed first, else ``deleted`` then
  ``created`` (the runner joins the two into ``moved`` when they fall in one batch);
- **the mount's own edits**, once done on put.io: mkdir, rename, unlink and rmdir (from
  :mod:`putiofs.front.tree_edits`), and a written file once its upload landed (``created``, or
  ``changed`` when it replaced a file), never at close.

A folder whose only change is its own time or size (put.io bumps them when its contents
change) is not a change: its contents' changes are told themselves. Steps of the mount's own
uploads (:meth:`MetadataCache.is_own`) and names the mount hides (``ignore_name``) are not
told either.

The sources report on their own threads (a FUSE call, the events' listener) and never wait:
a change whose folder path the held listings do not give is handed on with its folder id, and
:meth:`ChangeFeed.resolve` (the hook runner's thread) works the path out, asking put.io for
the folders the cache does not hold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from putiofs.api.backend import ROOT_ID, Entry
from putiofs.api.errors import PutioError
from putiofs.api.realtime import CREATED, DELETED, FileChange
from putiofs.tree import names
from putiofs.tree.cache import MetadataCache
from putiofs.tree.listing import Listing

log = logging.getLogger(__name__)

# The events told: CREATED and DELETED are the realtime feed's own words, and so its constants.
CHANGED = "changed"
MOVED = "moved"
__all__ = ["CHANGED", "CREATED", "DELETED", "MOVED", "Change", "ChangeFeed", "diff"]
#: The deepest folder path :meth:`ChangeFeed.resolve` follows up to the root.
FOLDER_DEPTH_MAX = 64


@dataclass(frozen=True)
class Change:
    """One change, as the hook is told it: ``event`` at ``path`` (a mount path, "/a/b"),
    ``old_path`` for a move. ``path`` None: not known yet; the change is in ``folder_id``
    under the put.io name ``name`` (:meth:`ChangeFeed.resolve` fills the path in)."""

    event: str
    path: str | None
    is_dir: bool = False
    item_id: str = ""
    old_path: str | None = None
    folder_id: str | None = None
    name: str | None = None


Sink = Callable[[Change], None]
#: (folder id, the entry as held there, its mount path or None) for each held listing of an item.
Place = tuple[str, Entry, "str | None"]


def _join(folder: str, name: str) -> str:
    return folder.rstrip("/") + "/" + name


def _content_changed(old: Entry, new: Entry) -> bool:
    """A file's bytes may differ (size, CRC-32, time); a folder's own size or time is not a
    change (its contents' changes are told themselves)."""
    if new.is_dir:
        return False
    return (old.size, old.crc32, old.mtime) != (new.size, new.crc32, new.mtime)


class ChangeFeed:
    """Changes of the account as mount paths, handed to ``sink`` (see the module docstring).
    Inert until :meth:`attach`: a mount without ``--on-change`` does no diffing at all."""

    def __init__(self, cache: MetadataCache) -> None:
        self.cache = cache
        self.sink: Sink | None = None
        #: Names the mount hides (set aside, being uploaded): changes of them are not told.
        self.ignore_name: Callable[[str], bool] = lambda name: False

    def attach(self, sink: Sink) -> None:
        """Start telling ``sink`` (called on the reporting threads: it must only queue)."""
        self.sink = sink
        self.cache.listing_observers.append(self.listing_changed)

    @property
    def active(self) -> bool:
        return self.sink is not None

    def _tell(self, change: Change) -> None:
        if self.sink is not None:
            self.sink(change)

    # -- the mount's own edits ------------------------------------------------------------

    def own(self, event: str, path: str, *, is_dir: bool = False, item_id: str = "",
            old_path: str | None = None) -> None:
        """One of the mount's own edits, done on put.io (``path``: the mount path)."""
        if self.active and not self.ignore_name(path.rsplit("/", 1)[-1]):
            self._tell(Change(event, path, is_dir, item_id, old_path))

    def landed(self, entry: Entry, *, replaced: bool) -> None:
        """A file written through the mount is on put.io as ``entry`` (``replaced``: it took
        the place of a file, so the path's contents changed)."""
        if self.active:
            self._tell(Change(CHANGED if replaced else CREATED, None, False, entry.id,
                              folder_id=entry.parent_id, name=entry.name))

    # -- realtime events ------------------------------------------------------------------

    def places(self, item_id: str) -> list[Place]:
        """Where the held listings have ``item_id`` now (before an event is applied)."""
        if not self.active:
            return []
        found = []
        for folder_id, entry in self.cache.holders(item_id):
            folder = self.cache.path_of(folder_id)
            held = self.cache.held_listing(folder_id)
            shown = held.shown_name(item_id) if held is not None else None
            found.append((folder_id, entry,
                          None if folder is None or shown is None else _join(folder, shown)))
        return found

    def heard(self, change: FileChange, before: list[Place]) -> None:
        """An event was applied; ``before``: :meth:`places` of its item before that. An event
        that does not place its item (no name or parent) tells nothing here: the folders it
        touched are listed anew, and that relisting tells."""
        new = change.entry
        if not self.active or new is None or self.ignore_name(new.name):
            return
        if self.cache.is_own(change.item_id, new.parent_id, new.name):
            return
        if change.kind == DELETED:
            for folder_id, old, path in before or [(new.parent_id, new, None)]:
                self._tell(Change(DELETED, path, new.is_dir, new.id,
                                  folder_id=folder_id, name=old.name))
            return
        here = self._placed(new)
        if not before:
            parent_held = self.cache.held_listing(new.parent_id) is not None
            event = CREATED if change.kind == CREATED or parent_held else CHANGED
            self._tell(replace(here, event=event))
            return
        _folder_id, old, old_path = before[0]
        if old.parent_id != new.parent_id or old.name != new.name:
            if old_path is None:
                self._tell(replace(here, event=CREATED))
            else:
                self._tell(replace(here, event=MOVED, old_path=old_path))
        elif _content_changed(old, new):
            self._tell(replace(here, event=CHANGED))

    def _placed(self, entry: Entry) -> Change:
        """A change of ``entry`` where it is now, with its path if the held listings give it."""
        folder = self.cache.path_of(entry.parent_id)
        held = self.cache.held_listing(entry.parent_id)
        shown = held.shown_name(entry.id) if held is not None else None
        path = None if folder is None or shown is None else _join(folder, shown)
        return Change(CHANGED, path, entry.is_dir, entry.id, folder_id=entry.parent_id,
                      name=entry.name)

    # -- relistings -----------------------------------------------------------------------

    def listing_changed(self, listing: Listing, previous: Listing | None) -> None:
        """A listing observer: what differs between two listings of one folder."""
        if previous is None or not self.active:
            return
        changes = diff(listing, previous, self.cache.path_of(listing.folder_id),
                       self._elsewhere, self._skip)
        for change in changes:
            self._tell(change)

    def _skip(self, entry: Entry, folder_id: str) -> bool:
        return self.ignore_name(entry.name) or self.cache.is_own(entry.id, folder_id, entry.name)

    def _elsewhere(self, item_ids: set[str], folder_id: str) -> Callable[[str], str | None | bool]:
        """Is an item of ``item_ids`` held in a listing other than ``folder_id``'s? Its mount
        path there (None if unknown), or False if not held elsewhere. One pass over the held
        listings for all of them (a relisting of a big folder runs on a FUSE call's thread)."""
        held = self.cache.holders_of(item_ids) if item_ids else {}
        return lambda item_id: self._path_elsewhere(item_id, folder_id, held.get(item_id, []))

    def _path_elsewhere(self, item_id: str, folder_id: str,
                        holders: list[tuple[str, Entry]]) -> str | None | bool:
        for other_id, _entry in holders:
            if other_id != folder_id:
                folder = self.cache.path_of(other_id)
                held = self.cache.held_listing(other_id)
                shown = held.shown_name(item_id) if held is not None else None
                return None if folder is None or shown is None else _join(folder, shown)
        return False

    # -- paths, on the runner's thread ----------------------------------------------------

    def resolve(self, changes: Iterable[Change], lookup: Callable[[str], Entry]) -> list[Change]:
        """``changes`` with their paths filled in: from the held listings, else by looking
        the folders up with ``lookup`` (the backend's, one call per folder not held, once
        per call of this). A change whose folder cannot be found (gone since) is left out."""
        known: dict[str, str | None] = {}
        resolved = []
        for change in changes:
            if change.path is not None:
                resolved.append(change)
                continue
            if change.folder_id is None or change.name is None:
                continue
            folder = self._folder_path(change.folder_id, lookup, known)
            if folder is None:
                log.debug("on-change: the folder of %s is not found; not told", change.name)
                continue
            held = self.cache.held_listing(change.folder_id)
            shown = held.shown_name(change.item_id) if held is not None else None
            resolved.append(replace(change, path=_join(folder, shown or names.clean(change.name))))
        return resolved

    def _folder_path(self, folder_id: str, lookup: Callable[[str], Entry],
                     known: dict[str, str | None]) -> str | None:
        if folder_id in known:
            return known[folder_id]
        parts: list[str] = []
        current = folder_id
        path: str | None = None
        for _ in range(FOLDER_DEPTH_MAX):
            held = "/" if current == ROOT_ID else self.cache.path_of(current)
            if held is not None:
                path = _join(held, "/".join(reversed(parts))) if parts else held
                break
            try:
                entry = lookup(current)
            except PutioError as exc:
                log.debug("on-change: folder %s not looked up: %s", current, type(exc).__name__)
                break
            parts.append(names.clean(entry.name))
            current = entry.parent_id
        known[folder_id] = path
        return path


def diff(listing: Listing, previous: Listing, folder_path: str | None,
         elsewhere: Callable[[set[str], str], Callable[[str], str | None | bool]],
         skip: Callable[[Entry, str], bool]) -> list[Change]:
    """The changes between two listings of one folder (see the module docstring).
    ``folder_path``: the folder's mount path (None: the changes carry the folder id and name
    for :meth:`ChangeFeed.resolve`). ``elsewhere(item_ids, folder_id)`` gives a function of
    one of those ids: its path in another held listing, None if unknown there, False if no
    other listing holds it."""
    folder_id = listing.folder_id
    old_items = {entry.id: entry for entry in list(previous.entries)}
    new_items = {entry.id: entry for entry in list(listing.entries)}
    where = elsewhere(set(old_items).symmetric_difference(new_items), folder_id)

    def at(source: Listing, entry: Entry) -> str | None:
        shown = source.shown_name(entry.id) or names.clean(entry.name)
        return None if folder_path is None else _join(folder_path, shown)

    def change(event: str, entry: Entry, source: Listing, old_path: str | None = None) -> Change:
        return Change(event, at(source, entry), entry.is_dir, entry.id, old_path,
                      folder_id=folder_id, name=entry.name)

    changes = []
    for item_id, entry in new_items.items():
        if skip(entry, folder_id):
            continue
        old = old_items.get(item_id)
        if old is None:
            came_from = where(item_id)
            if isinstance(came_from, str):
                changes.append(change(MOVED, entry, listing, came_from))
            else:
                changes.append(change(CREATED, entry, listing))
        elif old.name != entry.name:
            changes.append(change(MOVED, entry, listing, at(previous, old)))
        elif _content_changed(old, entry):
            changes.append(change(CHANGED, entry, listing))
    for item_id, old in old_items.items():
        if item_id not in new_items and not skip(old, folder_id) \
                and where(item_id) is False:
            changes.append(change(DELETED, old, previous))
    return changes
