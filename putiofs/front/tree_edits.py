"""Changing the tree from the mount: mkdir, rename, unlink and rmdir with POSIX meaning.

put.io's own semantics differ from POSIX (deleting a folder deletes its subtree; names repeat in
a folder; there is no atomic replace), so each operation is mapped deliberately and nothing is
ever deleted that was not asked for. The FUSE front (:mod:`putiofs.front.operations`) routes to it,
after refusing these edits inside ``/.putio``, and turns its exceptions into errno values.

Paths are resolved as the mount shows them (:class:`putiofs.write.overlay.Overlay`): an item the
mount hides (a version being deleted, the upload of a file that was removed) is never the one
an unlink, rmdir or rename acts on.

A replacing rename is atomic for the mount: the old target stays shown under its name until the
source holds it, and both changes are made visible at once (under the overlay's lock), so an
``open`` of the name finds the old file or the new one, never nothing. The source takes the
target's place among same-named items (:class:`putiofs.write.landing.Places`). Where the API
refuses a second item of one name (v2), the old target is set aside first, recorded in the
account's ``deletes.json`` before the rename (:class:`putiofs.write.landing.Deletions`), so
that whatever happens (an API error half-way, the mount killed) it is deleted once the source
is in place or else renamed back, by this mount or the next.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from collections.abc import Callable, Iterator

from putiofs.api.backend import Backend, Entry
from putiofs.api.errors import NameExistsError, NotFoundError, PutioError
from putiofs.front.errno_map import fail
from putiofs.front.options import MountOptions
from putiofs.tree import names
from putiofs.tree.cache import ROOT, MetadataCache, renamed_entry, split_path
from putiofs.tree.changes import CREATED, DELETED, MOVED, ChangeFeed
from putiofs.write.landing import Landing, Places, aside_name
from putiofs.write.overlay import HIDDEN_GRACE, Overlay

log = logging.getLogger("putiofs.front")

#: The longest wait, in seconds, of an edit for the upload of a removed file to end.
DEPARTED_WAIT = 5.0
#: rename(2)'s flags (libfuse 3 passes renameat2's).
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


class TreeEdits:
    """mkdir / unlink / rmdir / rename over put.io's create_dir, delete, rename and move, of the
    tree as ``overlay`` shows it. ``landing`` (a mount that writes) keeps what a replace sets
    aside and deletes the old target; without it both are done here, best effort. Each edit
    done on put.io is told to ``changes`` (``--on-change``)."""

    def __init__(self, backend: Backend, cache: MetadataCache, options: MountOptions,
                 overlay: Overlay, landing: Landing | None = None,
                 changes: ChangeFeed | None = None) -> None:
        self.backend = backend
        self.changes = changes or ChangeFeed(cache)
        self.cache = cache
        self.options = options
        self.overlay = overlay
        self.landing = landing

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
        ``made(folder, parent)`` (its mode and owner are kept before anyone can see it). Where
        the API refuses a name in use (v2) and the name is still held by the upload of a file
        just removed (its item is deleted as soon as the upload is over), that is waited for (a
        few seconds at most) and the folder made then."""
        self.check_writable()
        parent, name = self.cache.resolve_parent(path)
        remote = self.remote_name(name)
        if (self.overlay.pending_in(parent.id, name) is not None
                or self.overlay.find(parent.id, name) is not None):
            raise fail(errno.EEXIST)
        try:
            with self._reconciled(parent):
                folder = self.backend.make_folder(parent.id, remote)
        except NameExistsError:
            if not self._departed(parent, remote):
                raise
            with self._reconciled(parent):
                folder = self.backend.make_folder(parent.id, remote)
        try:
            made(folder, parent)
        finally:
            self.cache.added(folder)
            self.changes.own(CREATED, path, is_dir=True, item_id=folder.id)
        return 0

    def _departed(self, parent: Entry, remote: str) -> bool:
        """Was ``remote`` held by uploads of files removed from it? True once they are over
        (within DEPARTED_WAIT seconds); False if not, or not in time."""
        if not self.overlay.departing(parent.id, remote):
            return False
        end = time.monotonic() + DEPARTED_WAIT
        while self.overlay.departing(parent.id, remote):
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def unlink(self, path: str) -> int:
        """Delete one file. Folders are rmdir's business (EISDIR)."""
        self.check_writable()
        entry = self.overlay.resolve(path)
        if entry.is_dir:
            raise fail(errno.EISDIR)
        self._delete(entry)
        self.changes.own(DELETED, path, item_id=entry.id)
        return 0

    def rmdir(self, path: str) -> int:
        """Delete an empty folder only.

        put.io deletes folders recursively, so emptiness is checked against the server, not the
        cache: a folder another client has just put a file into answers ENOTEMPTY and nothing
        is deleted; so does one holding a pending file (not on put.io yet). (The v1 API has no
        conditional delete, so a file added in the instant between that check and the delete
        would still go with the folder.)
        """
        self.check_writable()
        if not split_path(path):
            raise fail(errno.EBUSY)
        entry = self.overlay.resolve(path)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        self._require_empty(entry)
        self._delete(entry)
        self.changes.own(DELETED, path, is_dir=True, item_id=entry.id)
        return 0

    def remove_aside(self, entry: Entry) -> None:
        """Delete an item set aside under a ``.fuse_hidden`` name, whose name libfuse has
        unlinked: recorded now, deleted by id after ``HIDDEN_GRACE`` seconds (the name still
        opens meanwhile, see :mod:`putiofs.write.overlay`); at once on a mount that does not
        write."""
        if self.landing is not None:
            self.landing.deletions.add([(entry.id, entry.parent_id)], entry.name,
                                       delay=HIDDEN_GRACE)
            return
        with contextlib.suppress(NotFoundError):
            self.backend.delete(entry.id)
        self.overlay.gone(entry.id)

    def _require_empty(self, folder: Entry) -> None:
        """ENOTEMPTY unless the folder, listed anew, shows nothing: no put.io item but those
        the mount hides (versions being deleted, uploads of removed files: put.io's delete
        takes them along), and no pending file."""
        self.cache.forget_folder(folder.id)
        try:
            listing = self.cache.listing(folder.id)
        except NotFoundError:
            self.cache.removed(folder)
            raise
        if self.overlay.names_in(folder.id, list(listing.by_name)):
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
        self.overlay.hide(entry.id, entry.parent_id)  # should a landing or a listing bring it
        self.overlay.gone(entry.id)                   # back

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
            self.overlay.resolve(old)
            return 0
        source = self.overlay.resolve(old)
        if source.is_dir and new_parts[:len(old_parts)] == old_parts:
            self.remote_name(self.cache.resolve_parent(new)[1])  # their errnos come first
            raise fail(errno.EINVAL)
        done = self.place(source, new, flags)
        self.changes.own(MOVED, new, is_dir=source.is_dir, item_id=source.id, old_path=old)
        return done

    def place(self, source: Entry, new: str, flags: int = 0) -> int:
        """Rename's second half: put the item ``source`` at the path ``new`` (replacing what is
        there as :meth:`rename` does). Also used for an item just restored from the trash."""
        self.check_writable()
        self.overlay.unhide(source.id)  # back from the trash (its id is the one deleted)
        parent, new_name = self.cache.resolve_parent(new)
        self.remote_name(new_name)  # ENAMETOOLONG / EINVAL before anything
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
        self._replace(source, parent, new_name, target, new)
        return 0

    def _replace(self, source: Entry, parent: Entry, name: str, target: Entry | None,
                 path: str) -> None:
        """Put ``source`` at ``remote`` in ``parent`` and delete ``target`` (if any), with no
        moment at which the name shows nothing (see the module docstring)."""
        remote = self.remote_name(name)
        set_aside = False
        try:
            moved = self._move_and_rename(source, parent, remote)
        except NameExistsError:
            blockers = self._blockers(parent, remote, source, target)
            if blockers is None:
                # What holds the name now (a pending file's upload landed meanwhile, say) is
                # what the rename replaces.
                target = self._current_target(parent, name)
                if target is not None and (target.id == source.id
                                           or target.is_dir != source.is_dir):
                    raise
                blockers = self._blockers(parent, remote, source, target)
            if blockers is None:
                raise
            # This API refuses a second item of that name (v2's rename does): set the old ones
            # aside first, so one complete version exists at every instant all the same.
            self._set_aside(blockers, source, path)
            try:
                moved = self._move_and_rename(source, parent, remote)
            except BaseException:
                self._put_back(blockers, source)
                raise
            set_aside = True
        with self.overlay.lock:
            if moved is not None:
                if target is not None and not target.is_dir:
                    self._places().inherit(moved, target)
                self.cache.replaced(source, moved)
                self.overlay.placed(moved)
            if target is not None:
                self.overlay.hide(target.id, target.parent_id, target)
        if target is not None and target.is_dir:
            try:
                self._require_empty(target)  # put.io would delete what came into it meanwhile
            except BaseException:
                self.overlay.unhide(target.id)
                if set_aside:
                    self._put_back([target], source)
                raise
        confirmed = self._confirm(source) if set_aside else []
        if target is not None and target.id not in confirmed:
            self._remove_replaced(target, path, set_aside)
    def _blockers(self, parent: Entry, remote: str, source: Entry,
                  target: Entry | None) -> list[Entry] | None:
        """The items named ``remote`` in ``parent`` on put.io, which a replace sets aside: the
        target, and items the mount does not show there (versions being deleted, uploads of
        removed files). None if any other item has that name."""
        found = [e for e in self.backend.list_folder(parent.id)
                 if e.name == remote and e.id != source.id]
        others = [e for e in found if target is None or e.id != target.id]
        fine = self.overlay.replaceable(parent.id, remote, others, shadowed=True)
        return found if fine else None

    def _set_aside(self, blockers: list[Entry], heir: Entry, path: str) -> None:
        """Rename each blocker to ``.putiofs-replaced-<id>``, recorded first (landing's
        deletions); one that fails puts back those already renamed and raises."""
        done: list[Entry] = []
        try:
            for entry in blockers:
                with contextlib.suppress(NotFoundError), self._reconciled(entry):
                    if self.landing is not None:
                        self.landing.deletions.set_aside(entry, heir.id, path)
                    else:
                        self.backend.rename(entry.id, aside_name(entry.id))
                    done.append(entry)  # (one deleted meanwhile is out of the way too)
        except BaseException:
            self._put_back(done, heir)
            raise

    def _put_back(self, blockers: list[Entry], heir: Entry) -> None:
        if self.landing is not None:
            self.landing.deletions.put_back(heir.id, self.landing.stopping)
            return
        for entry in blockers:
            try:
                self.backend.rename(entry.id, entry.name)
            except PutioError as exc:
                log.error("replacing rename: the old item %s stays under its temporary name "
                          "%r (%s)", entry.id, aside_name(entry.id), type(exc).__name__)

    def _confirm(self, heir: Entry) -> list[str]:
        """The heir is in place: what was set aside for it is deleted now; those ids (none
        without a landing: the caller deletes the target)."""
        if self.landing is None:
            return []
        confirmed = self.landing.deletions.confirm(heir.id)
        self.landing.deletions.run(confirmed, self.landing.stopping)
        return confirmed

    def _remove_replaced(self, target: Entry, path: str, set_aside: bool) -> None:
        """Delete the old target, now hidden (by its aside name if it was set aside)."""
        if self.landing is not None:
            self.landing.deletions.add([(target.id, target.parent_id)], path)
            self.landing.deletions.run([target.id], self.landing.stopping)
            return
        doomed = renamed_entry(target, name=aside_name(target.id)) if set_aside else target
        try:
            with contextlib.suppress(NotFoundError):  # deleted elsewhere: all the same to us
                self._delete(doomed)
        except BaseException:
            self.overlay.unhide(target.id)
            raise
        self.overlay.gone(target.id)

    def _places(self) -> Places:
        return self.landing.places if self.landing is not None else Places(self.cache)

    def _current_target(self, parent: Entry, name: str) -> Entry | None:
        """What ``name`` in ``parent`` is on the server now: a replacing rename must replace it.

        The cached listing may be up to ``cache-ttl`` old, and another client may have created
        the name since; missing it would leave two items of one name where POSIX says the
        rename replaced it. put.io v1 has no lookup by name, so the target folder is listed
        anew (one listing per rename, as rmdir's emptiness check). The lookup is the one the
        kernel's own lookups get, NFC fallback included, over what the mount shows.
        """
        self.cache.forget_folder(parent.id)
        try:
            self.cache.listing(parent.id)
        except NotFoundError:
            if parent.id != ROOT.id:
                self.cache.removed(parent)  # deleted elsewhere: gone from its folder too
            raise
        return self.overlay.find(parent.id, name)

    def _move_and_rename(self, source: Entry, parent: Entry, remote_name: str) -> Entry | None:
        """Put ``source`` in ``parent`` under ``remote_name``: a rename, or one move that also
        renames (the backend undoes its move if a rename of its own fails; either way a
        failure re-lists both folders). The entry as it is then (None: nothing to do); the
        cache is the caller's to update."""
        new_name = None if source.name == remote_name else remote_name
        if source.parent_id != parent.id:
            with self._reconciled(source, parent):
                return self.backend.move(source.id, parent.id, new_name)
        if new_name is None:
            return None
        with self._reconciled(source):
            renamed = self.backend.rename(source.id, new_name)
        # Only the name changed; an answer without parent_id must not move it in the cache.
        return renamed_entry(source, name=renamed.name)
