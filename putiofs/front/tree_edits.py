"""Changing the tree from the mount: mkdir, rename, unlink and rmdir with POSIX meaning.

put.io's own semantics differ from POSIX (deleting a folder deletes its subtree; names repeat in
a folder; there is no atomic replace), so each operation is mapped deliberately and nothing is
ever deleted that was not asked for. The FUSE front (:mod:`putiofs.front.operations`) routes to it,
after refusing these edits inside ``/.putio``, and turns its exceptions into errno values.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Callable, Iterator

from putiofs.api.backend import Backend, Entry
from putiofs.api.errors import NameExistsError, NotFoundError, PutioError
from putiofs.front.errno_map import fail
from putiofs.front.options import MountOptions
from putiofs.tree import names
from putiofs.tree.cache import ROOT, MetadataCache, renamed_entry, split_path
from putiofs.write.landing import ASIDE_PREFIX

log = logging.getLogger("putiofs.front")

#: rename(2)'s flags (libfuse 3 passes renameat2's).
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


class TreeEdits:
    """mkdir / unlink / rmdir / rename over put.io's create_dir, delete, rename and move."""

    def __init__(self, backend: Backend, cache: MetadataCache, options: MountOptions) -> None:
        self.backend = backend
        self.cache = cache
        self.options = options

    def check_writable(self) -> None:
        """EROFS on a read-only mount (-o ro)."""
        if self.options.read_only:
            raise fail(errno.EROFS)

    def remote_name(self, local_name: str) -> str:
        """The name put.io should store for a typed one (see :func:`names.to_remote`)."""
        if len(local_name.encode("utf-8", "surrogateescape")) > names.NAME_MAX:
            raise fail(errno.ENAMETOOLONG)
        capabilities = getattr(self.backend, "capabilities", None)
        return names.to_remote(local_name,
                               slash=getattr(capabilities, "slash_in_names", True),
                               blank=getattr(capabilities, "blank_names", True))

    def mkdir(self, path: str, mode: int,
              made: Callable[[Entry, Entry], None] = lambda folder, parent: None) -> int:
        """create_dir in the parent; EEXIST if the name is taken; visible at once, after
        ``made(folder, parent)`` (its mode and owner are kept before anyone can see it)."""
        self.check_writable()
        parent, name = self.cache.resolve_parent(path)
        remote = self.remote_name(name)
        if self.cache.listing(parent.id).find(name) is not None:
            raise fail(errno.EEXIST)
        with self._reconciled(parent):
            folder = self.backend.make_folder(parent.id, remote)
        try:
            made(folder, parent)
        finally:
            self.cache.added(folder)
        return 0

    def unlink(self, path: str) -> int:
        """Delete one file. Folders are rmdir's business (EISDIR)."""
        self.check_writable()
        entry = self.cache.resolve(path)
        if entry.is_dir:
            raise fail(errno.EISDIR)
        self._delete(entry)
        return 0

    def rmdir(self, path: str) -> int:
        """Delete an empty folder only.

        put.io deletes folders recursively, so emptiness is checked against the server, not the
        cache: a folder another client has just put a file into answers ENOTEMPTY and nothing
        is deleted. (The v1 API has no conditional delete, so a file added in the instant
        between that check and the delete would still go with the folder.)
        """
        self.check_writable()
        if not split_path(path):
            raise fail(errno.EBUSY)
        entry = self.cache.resolve(path)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        self._require_empty(entry)
        self._delete(entry)
        return 0

    def _require_empty(self, folder: Entry) -> None:
        self.cache.forget_folder(folder.id)
        try:
            listing = self.cache.listing(folder.id)
        except NotFoundError:
            self.cache.removed(folder)
            raise
        if listing.entries:
            raise fail(errno.ENOTEMPTY)

    def _delete(self, entry: Entry) -> None:
        """Delete the item the user named, and only that.

        put.io deletes by id, and the id comes from a listing up to ``cache-ttl`` old: if
        another client has since moved or renamed the item, deleting that id would delete it
        from wherever it is now. So the server is asked first (one ``info`` call), and an item
        that is no longer where the user saw it is ENOENT, untouched.
        """
        with self._reconciled(entry):
            current = self.backend.lookup(entry.id)
        if current.parent_id != entry.parent_id or current.name != entry.name:
            self.cache.removed(entry)
            raise NotFoundError(f"item {entry.id} has moved or been renamed elsewhere")
        with self._reconciled(entry):
            self.backend.delete(entry.id)
        self.cache.removed(entry)

    @contextlib.contextmanager
    def _reconciled(self, *entries: Entry) -> Iterator[None]:
        """Keep the cache true to the server when an edit fails.

        Not found: whichever of ``entries`` put.io no longer has leaves the cache (another client
        deleted it), so the next listing does not show it again. Any other failure: the edit
        may or may not have happened, so the listings holding ``entries`` are fetched anew.
        """
        try:
            yield
        except NotFoundError:
            for entry in entries:
                self._recheck(entry)
            raise
        except PutioError:
            for entry in entries:
                self.cache.forget_folder(entry.parent_id)
                if entry.is_dir:
                    self.cache.forget_folder(entry.id)
            raise

    def _recheck(self, entry: Entry) -> None:
        if entry.id == ROOT.id:
            return
        try:
            self.backend.lookup(entry.id)
        except NotFoundError:
            self.cache.removed(entry)
        except PutioError:
            self.cache.forget_folder(entry.parent_id)

    def rename(self, old: str, new: str, flags: int = 0) -> int:
        """POSIX rename over put.io's rename and move.

        put.io has no atomic replace, but it lets two items share a name in a folder, so an
        existing target is deleted only after the source is in place: a failure half-way leaves
        a duplicate, never a lost file. The target is looked up on the server, not in the cache
        (see ``_current_target``); a folder target must be empty (checked on the server too).
        """
        self.check_writable()
        old_parts, new_parts = split_path(old), split_path(new)
        if not old_parts or not new_parts:
            raise fail(errno.EBUSY)
        if old_parts == new_parts:
            self.cache.resolve(old)
            return 0
        source = self.cache.resolve(old)
        if source.is_dir and new_parts[:len(old_parts)] == old_parts:
            self.remote_name(self.cache.resolve_parent(new)[1])  # their errnos come first
            raise fail(errno.EINVAL)
        return self.place(source, new, flags)

    def place(self, source: Entry, new: str, flags: int = 0) -> int:
        """Rename's second half: put the item ``source`` at the path ``new`` (replacing what is
        there as :meth:`rename` does). Also used for an item just restored from the trash."""
        self.check_writable()
        parent, new_name = self.cache.resolve_parent(new)
        remote = self.remote_name(new_name)
        # Found as the source itself (the name in another normal form): a plain rename to the
        # form typed.
        target = self._current_target(parent, new_name)
        if target is not None and target.id == source.id:
            target = None
        if target is not None:
            if flags & RENAME_NOREPLACE:
                raise fail(errno.EEXIST)
            if target.is_dir and not source.is_dir:
                raise fail(errno.EISDIR)
            if source.is_dir and not target.is_dir:
                raise fail(errno.ENOTDIR)
            if target.is_dir:
                self._require_empty(target)
        elif flags & RENAME_EXCHANGE:
            raise fail(errno.ENOENT)
        if flags & RENAME_EXCHANGE:
            raise fail(errno.EINVAL)
        try:
            self._move_and_rename(source, parent, remote)
        except NameExistsError:
            if target is None:
                raise
            # This API refuses a second item of that name (v2's rename does): set the old one
            # aside first, so one complete version exists at every instant all the same.
            original, target = target, self._set_aside(target)
            try:
                self._move_and_rename(source, parent, remote)
            except PutioError:
                self._put_back(target, original.name)
                raise
        if target is not None:
            if target.is_dir:
                self._require_empty(target)
            with contextlib.suppress(NotFoundError):  # deleted elsewhere: all the same to us
                self._delete(target)
        return 0

    def _set_aside(self, target: Entry) -> Entry:
        """Rename ``target`` to a hidden name of its own (``.putiofs-replaced-<id>``) in its
        folder; the entry as it is now. Should the mount die before the delete that follows,
        the old version stays on put.io under that name: never lost."""
        aside = f"{ASIDE_PREFIX}{target.id}"
        with self._reconciled(target):
            renamed = self.backend.rename(target.id, aside)
        moved = renamed_entry(target, name=renamed.name)
        self.cache.replaced(target, moved)
        return moved

    def _put_back(self, target: Entry, name: str) -> None:
        try:
            with self._reconciled(target):
                back = self.backend.rename(target.id, name)
        except PutioError as exc:
            log.error("replacing rename: the old item %s stays under its temporary name %r "
                      "(%s)", target.id, target.name, type(exc).__name__)
            return
        self.cache.replaced(target, renamed_entry(target, name=back.name))

    def _current_target(self, parent: Entry, name: str) -> Entry | None:
        """What ``name`` in ``parent`` is on the server now: a replacing rename must replace it.

        The cached listing may be up to ``cache-ttl`` old, and another client may have created
        the name since; missing it would leave two items of one name where POSIX says the
        rename replaced it. put.io v1 has no lookup by name, so the target folder is listed
        anew (one listing per rename, as rmdir's emptiness check). The lookup is the one the
        kernel's own lookups get, NFC fallback included.
        """
        self.cache.forget_folder(parent.id)
        try:
            listing = self.cache.listing(parent.id)
        except NotFoundError:
            if parent.id != ROOT.id:
                self.cache.removed(parent)  # deleted elsewhere: gone from its folder too
            raise
        return listing.find(name)

    def _move_and_rename(self, source: Entry, parent: Entry, remote_name: str) -> None:
        """Put ``source`` in ``parent`` under ``remote_name``: a rename, or one move that also
        renames (the backend undoes its move if a rename of its own fails; either way a
        failure re-lists both folders)."""
        new_name = None if source.name == remote_name else remote_name
        if source.parent_id != parent.id:
            with self._reconciled(source, parent):
                moved = self.backend.move(source.id, parent.id, new_name)
            self.cache.replaced(source, moved)
        elif new_name is not None:
            with self._reconciled(source):
                renamed = self.backend.rename(source.id, new_name)
            # Only the name changed; an answer without parent_id must not move it in the cache.
            self.cache.replaced(source, renamed_entry(source, name=renamed.name))
