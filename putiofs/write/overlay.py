"""What the mount shows over put.io's tree: pending files, and put.io items hidden for a while.

The cache (:mod:`putiofs.tree.cache`) holds put.io's listings as fetched; this overlay answers for
the items the mount has changed ahead of put.io:

* *Pending* files (written, not yet on put.io; :mod:`putiofs.front.writes`) are shown where they
  were written, over any put.io item of that name.
* *Replaced* items (a pending file, or a landed new version, replaces them; they are deleted
  once the new version is complete on put.io) and *gone* ones (deleted, perhaps still in a
  cached listing) are hidden. While a folder holds hidden items, its shown names are worked out
  without them (:func:`putiofs.tree.names.assign`, one pass over the folder), so a new version that
  shares put.io's name with the item it replaces takes the plain name at once instead of
  ``name [#id]``: between an upload landing and the old item's delete, ``open("f", O_APPEND)``
  finds the new version, never the doomed one.
* *Departed* files: a pending file that leaves its name (unlinked, renamed away, dropped under
  a rename) may have an upload in flight that put.io completes under that name before the
  mount knows the new item's id, and a listing fetched meanwhile would show it: the name would
  come back. Until such a file is gone from the spool, files of that put.io name in that
  folder that the mount did not know when the pending file was shown there, nor put there
  itself since (:meth:`Overlay.placed`), are hidden too. (Another client's file of that name,
  made in that instant, shows once the upload is over.)
* Same-named items rank by :class:`putiofs.tree.names.Seniority` (the cache's): a new version
  keeps the place of the item it replaced.
* *Set-aside* items: libfuse renames a file unlinked while open to ``.fuse_hidden…`` and
  unlinks that name at the last close. For a put.io item that rename is done only here (put.io
  would otherwise keep the item under the hidden name, which is then the name it has in the
  trash): the item is hidden under its own name, known under the hidden one (stat, reads through
  open handles), and the unlink of the hidden name deletes it by id, so the trash shows its
  original name. Kept for the life of the mount (libfuse unlinks hidden names at unmount).
  libfuse unlinks a hidden name at the file's last close, even while another process, which
  looked the file up by its old name before a rename over it, is about to open it: so the
  hidden name (a put.io item's, or a pending file's) still opens for ``HIDDEN_GRACE`` seconds
  after that unlink (the delete is recorded at once, done after), and an open of a hidden name
  that is gone is ``ESTALE`` (:mod:`putiofs.front.operations`), which makes the kernel look the
  path up again.

Every method is called with :attr:`lock` held or takes it; it is the uploader's lock too, so a
landing (the swap of a pending file for its new item) is atomic for the FUSE side.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from putiofs.api.backend import Entry
from putiofs.api.errors import PathNotFound, PutioError
from putiofs.tree import names
from putiofs.tree.cache import MetadataCache, split_path
from putiofs.tree.listing import Listing
from putiofs.write.spool import SpoolFile

HIDDEN_PREFIX = ".fuse_hidden"
#: Seconds a ``.fuse_hidden`` name still opens after libfuse unlinked it (see the module
#: docstring), for a process that looked the file up before it was renamed over.
HIDDEN_GRACE = 2.0
Key = tuple[str, str]  # (folder id, name)


def is_hidden_name(path_or_name: str) -> bool:
    """libfuse's name for an unlinked file still open."""
    parts = split_path(path_or_name)
    return bool(parts) and parts[-1].startswith(HIDDEN_PREFIX)


@dataclass
class _Departed:
    """A pending file gone from ``name`` in a folder, whose upload may still make an item there;
    ``known``: the ids of that name there that are not its upload's."""

    name: str
    file: SpoolFile
    known: set[str] = field(default_factory=set)


class Overlay:
    """Pending files, hidden items and set-aside items of one mount."""

    def __init__(self, cache: MetadataCache, lock: threading.RLock | None = None) -> None:
        self.cache = cache
        self.lock = lock or threading.RLock()
        self.pending: dict[Key, SpoolFile] = {}
        self.place: dict[str, Key] = {}               # pending file id -> its key
        self.successor: dict[str, SpoolFile] = {}      # running version -> the newer one
        self._hidden: dict[str, str | None] = {}       # item id -> its folder id (if known)
        self._in_folder: dict[str, set[str]] = {}      # folder id -> hidden item ids
        self.replaced_entries: dict[str, Entry] = {}   # replaced, not yet deleted
        self.aside: dict[Key, Entry] = {}              # (folder, .fuse_hidden name) -> item
        self.folder_times: dict[str, int] = {}         # folder id -> mtime set by utimens
        self._known: dict[str, set[str]] = {}          # pending file id -> ids of its name there
        self._departed: dict[str, list[_Departed]] = {}  # folder id -> files gone from a name

    # -- hidden items ---------------------------------------------------------------------

    def hide(self, item_id: str, folder_id: str | None, entry: Entry | None = None) -> None:
        with self.lock:
            self._hidden[item_id] = folder_id
            if folder_id is not None:
                self._in_folder.setdefault(folder_id, set()).add(item_id)
            if entry is not None:
                self.replaced_entries[item_id] = entry

    def unhide(self, item_id: str) -> None:
        with self.lock:
            folder_id = self._hidden.pop(item_id, None)
            self.replaced_entries.pop(item_id, None)
            if folder_id is not None:
                self._in_folder.get(folder_id, set()).discard(item_id)

    def folder_of(self, item_id: str) -> str | None:
        """The folder a hidden item is in, if known."""
        return self._hidden.get(item_id)

    def is_hidden(self, item_id: str) -> bool:
        return item_id in self._hidden

    def is_replaced(self, item_id: str) -> bool:
        """Does a pending file replace this item (it stays hidden until that one lands)?"""
        with self.lock:
            return any(item_id in f.manifest.replaces for f in self.pending.values())

    def hidden_ids(self) -> set[str]:
        with self.lock:
            return set(self._hidden)

    def gone(self, item_id: str) -> None:
        """Deleted from put.io: out of the cached listing; hidden should a listing fetched
        before the delete still hold it."""
        with self.lock:
            folder_id = self._hidden.get(item_id)
            entry = self.replaced_entries.pop(item_id, None)
            if entry is None and folder_id is not None:
                listing = self.cache.cached_listing(folder_id)
                entry = listing.get(item_id) if listing is not None else None
            if entry is not None:
                self.cache.removed(entry)
            if item_id not in self._hidden:
                self.hide(item_id, entry.parent_id if entry is not None else folder_id)
            for key in [k for k, aside in self.aside.items() if aside.id == item_id]:
                del self.aside[key]
        self.cache.seniority.forget(item_id)

    # -- names ----------------------------------------------------------------------------

    def view(self, folder_id: str) -> Mapping[str, Entry]:
        """Shown name -> put.io item of a folder, hidden items left out."""
        listing = self.cache.listing(folder_id)
        with self.lock:
            hidden = {i for i in self._in_folder.get(folder_id, ()) if listing.get(i) is not None}
            hidden.update(self._unknown_uploads(folder_id, listing))
        if not hidden:
            return listing.by_name
        return names.assign((e for e in list(listing.entries) if e.id not in hidden),
                            self.cache.seniority)

    def _unknown_uploads(self, folder_id: str, listing: Listing) -> set[str]:
        """With the lock held: the files of the folder that may be a departed file's upload."""
        departed = self._departed.get(folder_id)
        if not departed:
            return set()
        departed[:] = [d for d in departed if not d.file.gone]
        if not departed:
            del self._departed[folder_id]
            return set()
        return {e.id for d in departed for e in listing.named(d.name)
                if not e.is_dir and e.id not in d.known}

    def replaceable(self, folder_id: str, name: str, entries: list[Entry], *,
                    shadowed: bool = False) -> bool:
        """May a replace set these items (named ``name`` in the folder, as put.io lists them
        now) aside? Only if the mount shows none of them: each is hidden, or may be the upload
        of a file that left the name, or (``shadowed``: a rename over the pending file shown
        there) came after that pending file, which shows over it."""
        with self.lock:
            pending = self.pending.get((folder_id, name)) if shadowed else None
            known = self._known.get(pending.id, set()) if pending is not None else None
            departed = [d for d in self._departed.get(folder_id, ())
                        if d.name == name and not d.file.gone]
            for entry in entries:
                if entry.id in self._hidden:
                    continue
                if known is not None and entry.id not in known:
                    continue
                if departed and all(entry.id not in d.known for d in departed):
                    continue
                return False
        return True

    def departing(self, folder_id: str, name: str) -> bool:
        """Has a file left ``name`` in the folder whose upload may still make an item there?"""
        with self.lock:
            return any(d.name == name and not d.file.gone
                       for d in self._departed.get(folder_id, ()))

    def known_there(self, spooled: SpoolFile, entries: list[Entry]) -> bool:
        """Were these items (hidden ones aside) where ``spooled`` is shown when it was shown
        there (same-named files the user saw beside it)?"""
        with self.lock:
            known = self._known.get(spooled.id, set())
            return all(e.id in known or e.id in self._hidden for e in entries)

    def _changed_here(self, folder_id: str) -> bool:
        """With the lock held: does the folder hold hidden items or departed files?"""
        return bool(self._in_folder.get(folder_id) or self._departed.get(folder_id))

    def placed(self, entry: Entry) -> None:
        """The mount itself put ``entry`` where it is (a landing, a rename): never hidden as a
        departed file's upload."""
        with self.lock:
            for departed in self._departed.get(entry.parent_id, ()):
                if departed.name == entry.name:
                    departed.known.add(entry.id)
            pending = self.pending.get((entry.parent_id, entry.name))
            if pending is not None:
                self._known.setdefault(pending.id, set()).add(entry.id)

    def find(self, parent_id: str, name: str) -> Entry | None:
        """The put.io item shown as ``name`` in the folder (a set-aside one under its hidden
        name), or None."""
        with self.lock:
            aside = self.aside.get((parent_id, name))
        if aside is not None:
            return aside
        found = names.lookup(self.view(parent_id), name)
        return None if found is None or self.is_hidden(found.id) else found

    def resolve(self, path: str) -> Entry:
        """The put.io item at ``path`` as the mount shows it (PathNotFound if none)."""
        parts = split_path(path)
        if not parts:
            return self.cache.resolve(path)
        try:  # the common case, at the cache's cost (its folder-map jumps included)
            entry = self.cache.resolve(path)
        except PathNotFound:
            entry = None
        with self.lock:
            plain = entry is not None and not self._changed_here(entry.parent_id)
        if plain:
            return entry  # type: ignore[return-value]
        parent = self.cache.resolve("/".join(parts[:-1]))
        names.check_length(parts[-1])
        found = self.find(parent.id, parts[-1]) if parent.is_dir else None
        if found is None:
            if not parent.is_dir:
                return self.cache.resolve(path)  # PathNotADirectory
            raise PathNotFound(path)
        return found

    def names_in(self, folder_id: str, listed: list[str]) -> list[str]:
        """A folder's shown names (``listed``: the cache's), with the overlay applied; never a
        ``.fuse_hidden`` name (libfuse's, for files unlinked while open)."""
        with self.lock:
            hidden = self._changed_here(folder_id)
            extra = [name for (parent, name) in self.pending
                     if parent == folder_id and not name.startswith(HIDDEN_PREFIX)]
        shown = set(self.view(folder_id)) if hidden else set(listed)
        shown.update(extra)
        return sorted(shown)

    # -- set-aside items (.fuse_hidden) ----------------------------------------------------

    def set_aside(self, entry: Entry, folder_id: str, hidden_name: str) -> None:
        with self.lock:
            self.aside[(folder_id, hidden_name)] = replace(entry, name=hidden_name)
            self.hide(entry.id, entry.parent_id)

    def is_open_aside(self, item_id: str) -> bool:
        """Is the item set aside under a ``.fuse_hidden`` name (unlinked, still open)?"""
        with self.lock:
            return any(entry.id == item_id for entry in self.aside.values())

    def take_aside(self, path: str) -> Entry | None:
        """The set-aside item at ``path`` (its unlink deletes it by id; it is forgotten here
        once gone, see :meth:`gone`)."""
        parts = split_path(path)
        if not parts or not parts[-1].startswith(HIDDEN_PREFIX):
            return None
        try:
            parent = self.cache.resolve("/".join(parts[:-1]))
        except PathNotFound:
            return None
        with self.lock:
            return self.aside.get((parent.id, parts[-1]))

    # -- pending files ---------------------------------------------------------------------

    def show(self, spooled: SpoolFile, parent_id: str, name: str) -> None:
        """Show ``spooled`` as ``name`` in the folder (leaving the name it had, if any)."""
        with self.lock:
            self.unshow(spooled)
            self.pending[(parent_id, name)] = spooled
            self.place[spooled.id] = (parent_id, name)
            listing = self.cache.held_listing(parent_id)
            self._known[spooled.id] = ({e.id for e in listing.named(name)}
                                       if listing is not None else set())
            for item_id in spooled.manifest.replaces:
                if not self.is_hidden(item_id):
                    self.hide(item_id, parent_id)

    def unshow(self, spooled: SpoolFile) -> None:
        """``spooled`` leaves its name (see *departed* files in the module docstring)."""
        with self.lock:
            key = self._take(spooled)
            known = self._known.pop(spooled.id, set())
            if key is not None and not spooled.gone:
                self._departed.setdefault(key[0], []).append(_Departed(key[1], spooled, known))

    def landed(self, spooled: SpoolFile, entry: Entry) -> None:
        """``spooled`` is now ``entry``, in its place: the pending file leaves the overlay."""
        with self.lock:
            self._take(spooled)
            self._known.pop(spooled.id, None)
            self.placed(entry)

    def _take(self, spooled: SpoolFile) -> Key | None:
        key = self.place.pop(spooled.id, None)
        if key is not None and self.pending.get(key) is spooled:
            del self.pending[key]
        return key

    def pending_in(self, parent_id: str, name: str) -> SpoolFile | None:
        """The pending file shown there (one whose data is gone, e.g. a hidden one whose
        upload was dropped, is not there any more)."""
        with self.lock:
            spooled = self.pending.get((parent_id, name))
            return None if spooled is None or spooled.gone else spooled

    def pending_at(self, path: str) -> SpoolFile | None:
        """The pending file at ``path``, if any. Every getattr asks: with nothing pending
        (the usual state) it answers without resolving the path."""
        parts = split_path(path)
        if not parts or not self.pending:
            return None
        try:
            parent = self.cache.resolve("/".join(parts[:-1]))
        except PutioError:
            return None
        return self.pending_in(parent.id, parts[-1])
