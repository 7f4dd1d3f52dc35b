"""Names and times of pending files: unlink, rename and utimens where the mount writes.

:class:`PendingNames` is one collaborator of :class:`putiofs.front.writes.WriteFiles` (which keeps
the open handles and the data). Decisions:

* ``unlink`` of a pending file drops it (its upload is aborted, or its new item deleted if it
  lands anyway) and deletes the put.io items it replaced: the user saw them replaced. One
  under libfuse's ``.fuse_hidden…`` name is dropped ``HIDDEN_GRACE`` seconds later (see
  :mod:`putiofs.write.overlay`).
* ``rename`` of a pending file changes only its manifest (the uploader puts the new item where
  the file is when it lands); onto another pending file, that one is dropped. A put.io item
  renamed over a pending file drops the pending file. A pending file renamed to libfuse's
  ``.fuse_hidden…`` (unlinked while open) is never uploaded. (A put.io item renamed so is set
  aside by the FUSE front for every mount: :mod:`putiofs.write.overlay`.)
* A rename of an *unchanged* pending file (opened over an item, nothing written:
  :mod:`putiofs.front.writes`) to a name that is not libfuse's makes it changed first, so it
  is then moved as any pending file is (uploaded under the new name, the item deleted once it
  lands): the name it leaves must not show the item again. Its unlink deletes the item.
* ``utimens``: of a pending file, its manifest (the upload carries it); of a put.io item, and
  of an unchanged pending file (whose bytes are its item's; it is never uploaded), the item's
  ``set_mtime`` (whole seconds) at once, so the time is put.io's when the call returns. A
  folder's time is remembered for the life of the mount and set again after each upload into
  it lands (:mod:`putiofs.write.landing`), so a second ``rsync -a`` finds the folder's time
  unchanged.
"""

from __future__ import annotations

import errno
import functools
import time
from collections.abc import Callable
from dataclasses import replace

from putiofs.api.backend import Backend
from putiofs.front.errno_map import fail
from putiofs.front.tree_edits import RENAME_NOREPLACE, TreeEdits
from putiofs.write.landing import Landing
from putiofs.write.overlay import HIDDEN_GRACE, HIDDEN_PREFIX, Overlay
from putiofs.write.spool import SpoolFile
from putiofs.write.uploader import Uploads


class PendingNames:
    """unlink, rename and utimens of the mount's pending files (put.io items' renames are
    ``edits``'). ``is_open`` says whether a pending file still has open handles (its data then
    stays until the last is released)."""

    def __init__(self, backend: Backend, overlay: Overlay, uploads: Uploads, landing: Landing,
                 edits: TreeEdits, is_open: Callable[[SpoolFile], bool]) -> None:
        self.backend = backend
        self.overlay = overlay
        self.cache = overlay.cache
        self.lock = overlay.lock
        self.uploads = uploads
        self.landing = landing
        self.edits = edits
        self.is_open = is_open

    def unlink(self, path: str) -> bool:
        """Drop a pending file (True), or False: not pending, the tree edits' business.

        The pending file is found before the lock is taken, and its upload may land in
        between: then the file is a put.io item by the time the lock is held, and the name is
        looked at again (the tree edits delete that item). Dropping the landed version instead
        would leave its new item on put.io under a name the user removed."""
        while True:
            spooled = self.overlay.pending_at(path)
            if spooled is None:
                self.overlay.resolve(path)
                return False
            with self.lock:
                if not self._still_pending(spooled):
                    continue
                if spooled.manifest.name.startswith(HIDDEN_PREFIX):
                    # What it replaced goes now; the file itself still opens for a while.
                    replaces = [(i, self.overlay.folder_of(i))
                                for i in spooled.manifest.replaces]
                    spooled.manifest.replaces = []
                    hidden = True
                else:
                    replaces = self._let_go(spooled)
                    hidden = False
            self._delete_replaced(spooled, replaces)
            if hidden:
                self.landing.deletions.later(HIDDEN_GRACE, functools.partial(self._drop, spooled))
            return True

    def _still_pending(self, spooled: SpoolFile) -> bool:
        """With the lock held: ``spooled`` still has its name (it has not landed, nor been
        dropped, since it was found)."""
        return spooled.id in self.overlay.place

    def _drop(self, spooled: SpoolFile) -> None:
        with self.lock:
            replaces = self._let_go(spooled)
        self._delete_replaced(spooled, replaces)

    def _let_go(self, spooled: SpoolFile) -> list[tuple[str, str | None]]:
        """With the lock held: the pending file leaves the mount (its upload aborted, its data
        dropped once no handle has it open); the (id, folder) pairs of the items it replaced,
        to delete (the user saw them replaced)."""
        self.overlay.unshow(spooled)
        replaces = list(spooled.manifest.replaces)
        spooled.manifest.replaces = []
        running = not self.uploads.withdraw(spooled)
        if not running and not self.is_open(spooled):
            spooled.discard()
        return [(item_id, self.overlay.folder_of(item_id)) for item_id in replaces]

    def _delete_replaced(self, spooled: SpoolFile, items: list[tuple[str, str | None]]) -> None:
        if items:
            self.landing.deletions.add(items, spooled.manifest.path)
            self.landing.deletions.run([item_id for item_id, _ in items],
                                       self.landing.stopping)

    def rename(self, old: str, new: str, flags: int) -> bool:
        """Rename involving a pending file (True), else False (the tree edits rename).

        Atomic for the mount: what ``new`` showed (a put.io item, hidden as replaced, or a
        pending file, dropped) leaves it in the same lock section as the source takes it, so
        an ``open`` of ``new`` finds the old file or the new one, never nothing. A put.io item
        renamed over a pending file is renamed on put.io first (the pending file still shows
        meanwhile), then the pending file is dropped.
        """
        source = self.overlay.pending_at(old)
        target = self.overlay.pending_at(new)
        if source is None and target is None:
            return False
        if source is None:
            entry = self.overlay.resolve(old)
            if flags & RENAME_NOREPLACE:
                raise fail(errno.EEXIST)
            if entry.is_dir:
                raise fail(errno.EISDIR)
            self.edits.place(entry, new, flags)
            self._drop(target)  # type: ignore[arg-type]
            return True
        parent, name = self.cache.resolve_parent(new)
        if self.edits.remote_name(name) != name:
            raise fail(errno.EINVAL)
        if not source.manifest.changed and not name.startswith(HIDDEN_PREFIX):
            source.mark_changed()  # ENOSPC past the cap, before anything changed
        with self.lock:
            landed = not self._still_pending(source)
            if not landed:
                self._rename_locked(source, parent.id, name, new, flags)
        if landed:  # since it was found: a put.io item now, renamed as one
            return self.rename(old, new, flags)
        source.save()
        if name.startswith(HIDDEN_PREFIX):
            with self.lock:
                self.uploads.withdraw(source)
        return True

    def _rename_locked(self, source: SpoolFile, parent_id: str, name: str, new: str,
                       flags: int) -> None:
        """With the lock held: the pending file ``source`` takes ``name`` in ``parent_id``
        (the path ``new``), and what showed there leaves it."""
        target = self.overlay.pending_in(parent_id, name)
        if target is not None and target is not source:
            if flags & RENAME_NOREPLACE:
                raise fail(errno.EEXIST)
            replaces = list(target.manifest.replaces)  # the source replaces them now
            target.manifest.replaces = []
            self._let_go(target)
        elif target is None:
            replaces = self._replaced_by_rename(parent_id, name, flags)
        else:
            replaces = []
        source.manifest.parent_id, source.manifest.name = parent_id, name
        source.manifest.path = new
        source.manifest.replaces.extend(replaces)
        self.overlay.show(source, parent_id, name)

    def _replaced_by_rename(self, parent_id: str, name: str, flags: int) -> list[str]:
        """With the lock held: the put.io item shown as ``name`` (hidden now, replaced by the
        file renamed there), as a list of none or one id."""
        existing = self.overlay.find(parent_id, name)
        if existing is None:
            return []
        if flags & RENAME_NOREPLACE:
            raise fail(errno.EEXIST)
        if existing.is_dir:
            raise fail(errno.EISDIR)
        self.overlay.hide(existing.id, existing.parent_id, existing)
        return [existing.id]

    def utimens(self, path: str, mtime_ns: int | None) -> None:
        """``mtime_ns`` None: now (the FUSE front has read utimensat's ``UTIME_NOW`` and
        ``UTIME_OMIT`` already, see :func:`putiofs.front.operations.PutioFS.utimens`)."""
        seconds = time.time() if mtime_ns is None else mtime_ns / 1e9
        spooled = self.overlay.pending_at(path)
        if spooled is not None and not spooled.manifest.changed:
            self.retime(spooled, seconds)
            return
        if spooled is not None:
            with self.lock:  # against the landing's swap (it sets the time it finds here)
                pending = spooled.id in self.overlay.place
                if pending:
                    spooled.manifest.mtime = seconds
            if pending:
                spooled.save()
                return
        entry = self.overlay.resolve(path)
        self.backend.set_mtime(entry.id, int(seconds))
        if entry.is_dir:
            with self.lock:
                self.overlay.folder_times[entry.id] = int(seconds)
        self.cache.replaced(entry, replace(entry, mtime=float(int(seconds))))

    def retime(self, spooled: SpoolFile, seconds: float) -> None:
        """The mtime of an unchanged pending file: set on its item on put.io now (should the
        file change later, its upload carries the time it has then), and shown by both."""
        item_id = spooled.manifest.base_id
        if item_id is not None:
            self.backend.set_mtime(item_id, int(seconds))
        with self.lock:
            spooled.manifest.mtime = seconds
            entry = self.overlay.replaced_entries.get(item_id or "")
            if entry is not None:
                retimed = replace(entry, mtime=float(int(seconds)))
                self.overlay.replaced_entries[entry.id] = retimed
                self.cache.replaced(entry, retimed)
