"""The FUSE front: the one operations object fusepy calls.

It routes every call: paths under ``/.putio`` to the control folder
(:mod:`putiofs.front.control.folder`), everything else to the account tree (reading and attributes,
:mod:`putiofs.front.account_view`; mkdir, rename, unlink and rmdir,
:mod:`putiofs.front.tree_edits`). The pieces share one handle table (:mod:`putiofs.front.handles`),
so ``read`` and ``release`` go to whoever holds a handle, and one attribute builder
(:mod:`putiofs.front.attributes`), so an item looks the same wherever it is reached.

It speaks fusepy's high-level API (paths in, stat dicts and bytes out) but does not import the
binding: FUSE errors are plain ``OSError(errno)``, which fusepy passes to the kernel as they are,
so it is callable directly in tests on machines without libfuse. Every operation is wrapped by
:func:`putiofs.front.errno_map.fuse_call`, the one place where exceptions become errno values, and
bounded by the mount's call deadline.

Times: POSIX says which calls change a folder (create, mknod, mkdir, unlink, rmdir, rename: its
mtime and ctime) or an item's ctime (rename, utimens); :func:`changes` marks them here, once per
operation, and records each success with :meth:`putiofs.front.attributes.Attributes.changed`,
whatever path (a pending file, a put.io item) the operation took below.

Refresh (:meth:`PutioFS.refresh`, what ``putiofs refresh`` and SIGHUP do): the cached listings
at and below a path are dropped (listed anew at the next look, the old ones kept only for
stale-if-error), and the kernel is told to drop what it holds for every path those listings
held, so a change made elsewhere shows at once even with a long ``--cache-ttl`` and no realtime
events. Pending files are the overlay's, not the cache's: they stay as they are.

Wiring: :func:`build_operations` makes the account tree and, given the account's services, the
control folder with what it needs from the tree.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from putiofs.api.backend import Backend
from putiofs.api.errors import NotFoundError, PutioError
from putiofs.api.services import AccountServices
from putiofs.front.account_view import AccountView, OpenFile
from putiofs.front.attributes import NS_PER_SECOND, XATTR_NAMESPACE
from putiofs.front.control.folder import ControlFolder, NoControl
from putiofs.front.control.status import MountStatus
from putiofs.front.errno_map import ENODATA, errno_for, fail, fail_fast_repeats, fuse_call
from putiofs.front.mp4_xattr import Mp4Attribute
from putiofs.front.options import MountOptions
from putiofs.front.permissions import Permissions, still_there
from putiofs.front.sidecar_files import OpenSidecar, SidecarFiles, refuse
from putiofs.front.sidecar_files import read as read_sidecar
from putiofs.front.tree_edits import TreeEdits
from putiofs.front.writes import RefusedWrites, WriteFiles, WriteHandle
from putiofs.net import deadline
from putiofs.read.disk_cache import ReadCache
from putiofs.tree.cache import split_path
from putiofs.write.modes import FILE_NAME as MODES_FILE
from putiofs.write.modes import ModeStore
from putiofs.write.overlay import is_hidden_name
from putiofs.write.spool import Spool

__all__ = ["MountOptions", "PutioFS", "build_operations"]

log = logging.getLogger("putiofs.front")
Method = TypeVar("Method", bound=Callable[..., Any])
#: The longest a refresh waits for the kernel to have dropped its caches (it goes on after).
REFRESH_WAIT = 10.0


#: utimensat(2)'s ``tv_nsec`` for a time it leaves alone or sets to now. libfuse hands them over
#: as they are, with a ``tv_sec`` that is not always 0, and the binding adds the two up
#: (seconds * 10**9 + tv_nsec): they are told by the nanoseconds past the second, which no
#: real time has (above 999,999,999), and so by what is left modulo 10**9 after the carry.
UTIME_OMIT = (1 << 30) - 2
UTIME_NOW = (1 << 30) - 1


def time_asked(value_ns: int) -> int | None:
    """A time utimens was given, in ns: -1 to leave it alone, None for now, else itself."""
    rest = value_ns % NS_PER_SECOND
    if rest == UTIME_OMIT - NS_PER_SECOND:
        return -1
    if rest == UTIME_NOW - NS_PER_SECOND:
        return None
    return value_ns


def changes(what: str) -> Callable[[Method], Method]:
    """Mark a FUSE method (under its ``fuse_call``) that changes times once it succeeds:
    ``"entry"`` (create, mknod, mkdir, unlink, rmdir: the folder of the path), ``"move"``
    (rename: both folders, and the item's ctime) or ``"times"`` (utimens: the item's ctime;
    its mtime is what was set)."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def call(self: PutioFS, *args: Any) -> Any:
            result = method(self, *args)
            self._record_change(what, args)
            return result

        return call  # type: ignore[return-value]

    return decorate


class PutioFS:
    """fusepy operations: the account tree, ``/.putio`` when a control folder is given, and
    written files when a :class:`WriteFiles` is (without them: :class:`NoControl`, owning no
    path, and :class:`RefusedWrites`, refusing what would write contents)."""

    use_ns = True

    def __init__(self, tree: AccountView, control: ControlFolder | None = None,
                 writes: WriteFiles | None = None,
                 invalidate: Callable[[str], object] | None = None) -> None:
        self.tree = tree
        self.permissions = tree.attributes.permissions
        self.control: ControlFolder | NoControl = control if control is not None else NoControl()
        self.writes: WriteFiles | RefusedWrites = (writes if writes is not None
                                                   else RefusedWrites(tree))
        self.overlay = self.writes.overlay
        self.options = tree.options
        self.handles = tree.handles
        self.edits: TreeEdits = self.writes.edits
        #: The subtitle sidecars of the folders (none until the mount attaches the learnt
        #: subtitles, see :mod:`putiofs.front.sidecar_files`).
        self.sidecars = SidecarFiles(tree.cache, tree.attributes, self.overlay)
        #: What ``/.putio/status.json`` says (:func:`build_operations` sets it; the mount
        #: attaches the realtime feed to it).
        self.status: MountStatus | None = None
        #: Started once mounted (after libfuse's fork to the background, which keeps no
        #: other thread): e.g. the realtime events' listener.
        self.when_mounted: list[Callable[[], None]] = []
        #: Drops one path from the kernel's caches (the mount passes libfuse 3's; None: the
        #: kernel's own timeouts, at most 5 s, are all there is).
        self.invalidate = invalidate
        if control is not None:
            control.refresh_tree = self.refresh

    def init(self, path: str) -> None:
        """Mounted: pending uploads a previous mount left are taken up (see
        :meth:`WriteFiles.start`), the kept modes' pruner and what waits for the mount
        (``when_mounted``) start."""
        self.writes.start()
        self.permissions.start()
        for start in self.when_mounted:
            start()

    def refresh(self, path: str = "/") -> None:
        """Drop what the mount and the kernel cache at and below ``path`` (a mount path; "/"
        the whole mount, also its quota and the /.putio texts): the next look lists anew.

        In memory only, no API call: a path the cache does not hold refreshes its nearest
        held folder. The kernel is told from a thread of its own (a FUSE call, such as the
        write to /.putio/refresh that asks for this, must not notify the kernel about inodes
        it may be working on); this waits for that within the calling thread's deadline (at
        most :data:`REFRESH_WAIT` s), and a cache of 100,000s of names is finished in the
        background."""
        if self.control.owns(path) or not split_path(path):
            self.control.refresh_texts()
        if self.control.owns(path):
            return
        if not split_path(path):
            self.tree.forget_quota()
        paths = self.tree.cache.refresh_below(path)
        log.info("refresh of %s: %d cached names dropped", path, len(paths) - 1)
        invalidate = self.invalidate
        if invalidate is None:
            return

        def tell_the_kernel() -> None:
            try:
                for shown in paths:
                    invalidate(shown)
            except Exception:  # noqa: BLE001 - a thread of its own: log, never die
                log.exception("refresh of %s: the kernel's caches were not all dropped", path)

        worker = threading.Thread(target=tell_the_kernel, name="putiofs-refresh", daemon=True)
        worker.start()
        left = deadline.remaining()
        worker.join(REFRESH_WAIT if left is None else min(REFRESH_WAIT, left / 2))

    def __call__(self, op: str, *args: Any) -> Any:
        method = getattr(self, op, None)
        if method is None or op.startswith("_"):
            raise fail(errno.ENOSYS)
        return method(*args)

    def _control_for(self, path: str) -> ControlFolder | None:
        """The control folder if ``path`` is in /.putio, else None (the account tree's)."""
        return self.control if self.control.owns(path) else None  # NoControl owns none

    def direct_io(self, fh: int) -> bool:
        """Should the kernel bypass its page cache and cached size for this open handle?
        (:mod:`putiofs.mount.binding` asks after every open.) Only for the generated /.putio
        files."""
        return self.control.direct_io(fh)

    def _guard_control(self, *paths: str) -> None:
        """Names in /.putio are fixed: create, mknod, mkdir, rename, unlink and rmdir there
        are EPERM."""
        if any(self._control_for(path) for path in paths):
            raise fail(errno.EPERM)

    # -- attributes and listings ----------------------------------------------------------

    @fuse_call
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if control := self._control_for(path):
            return control.getattr(path, fh)
        return self._account_stat(path, fh)

    def _account_stat(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if (pending := self.writes.getattr(path, fh)) is not None:
            return pending
        handle = self.handles.get(fh)
        if isinstance(handle, OpenFile):
            return self.tree.getattr(path, fh)
        if isinstance(handle, OpenSidecar):
            return handle.attributes
        try:
            return self.tree.attributes.stat(self.overlay.resolve(path))
        except NotFoundError:
            if (sidecar := self.sidecars.at(path)) is not None:
                return self.sidecars.stat(sidecar)
            raise

    def _not_a_sidecar(self, path: str) -> None:
        """A sidecar is read-only: changing it is EACCES (see :mod:`.sidecar_files`)."""
        if self.sidecars.at(path) is not None:
            refuse()

    def _record_change(self, what: str, args: tuple[Any, ...]) -> None:
        """After a successful change (see :func:`changes`): the new times, of what the mount
        shows at those paths now. libfuse's own unlink of a ``.fuse_hidden`` name (the last
        close of a file unlinked while open) changes nothing the user sees: the unlink did."""
        paths = [path for path in args[:2 if what == "move" else 1]
                 if not self._control_for(path) and not is_hidden_name(path)]
        if what == "move" and len(paths) == 2 and paths[0] == paths[1]:
            return
        try:
            if what == "times":
                for path in paths:
                    self.tree.attributes.changed(self._account_stat(path)["st_ino"],
                                                 mtime_set=True)
                return
            for folder in dict.fromkeys("/".join(split_path(path)[:-1]) for path in paths):
                self.tree.attributes.changed(self._account_stat(folder)["st_ino"],
                                             contents=True)
            if what == "move" and len(args) > 1 and args[1] in paths:
                self.tree.attributes.changed(self._account_stat(args[1])["st_ino"])
        except (PutioError, OSError) as exc:  # the change is done; only its times are not
            log.debug("times after %s %s not recorded: %s", what, paths, type(exc).__name__)

    @fuse_call
    def readdir(self, path: str, fh: int | None = None) -> list[str]:
        if control := self._control_for(path):
            return control.readdir(path)
        folder = self.overlay.resolve(path)
        shown = set(self.overlay.names_in(folder.id, self.tree.readdir(path)))
        if not split_path(path):
            shown.update(self.control.root_names())
        shown.update(self.sidecars.names_in(folder.id, shown))
        return [".", "..", *sorted(shown)]

    @fuse_call
    def access(self, path: str, amode: int) -> int:
        if control := self._control_for(path):
            return control.access(path, amode)
        if self.sidecars.at(path) is not None:
            if amode & (os.W_OK | os.X_OK):
                refuse()
            return 0
        return self.tree.access(path, amode)

    @fuse_call
    def statfs(self, path: str) -> dict[str, int]:
        return self.tree.statfs()

    @fuse_call
    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        """A ``user.*`` attribute, or ``ENODATA``; any other namespace is ``ENOTSUP``
        (see :data:`XATTR_NAMESPACE`)."""
        if not name.startswith(XATTR_NAMESPACE):
            raise fail(errno.ENOTSUP)
        if control := self._control_for(path):
            return control.getxattr(path, name)
        if self.overlay.pending_at(path) is not None:
            raise fail(ENODATA)
        try:
            return self.tree.getxattr(path, name)
        except NotFoundError:
            if self.sidecars.at(path) is not None:
                raise fail(ENODATA) from None
            raise

    @fuse_call
    def listxattr(self, path: str) -> list[str]:
        if control := self._control_for(path):
            return control.listxattr(path)
        if self.overlay.pending_at(path) is not None:
            return []
        try:
            return self.tree.listxattr(path)
        except NotFoundError:
            if self.sidecars.at(path) is not None:
                return []
            raise

    @fuse_call
    def setxattr(self, path: str, name: str, value: bytes, options: int,
                 position: int = 0) -> int:
        self._not_a_sidecar(path)
        raise fail(errno.ENOTSUP)

    @fuse_call
    def removexattr(self, path: str, name: str) -> int:
        raise fail(errno.ENOTSUP)

    # -- open files: routed by who holds the handle ----------------------------------------

    @fuse_call
    def open(self, path: str, flags: int) -> int:
        """An open of a ``.fuse_hidden`` name that is gone is ``ESTALE``: libfuse gives that
        name to a file renamed over or unlinked while open and unlinks it at its last close,
        which can come between another process's lookup of the file (by its old name) and
        its open. ``ESTALE`` makes the kernel look the path up again, and that open finds
        what the name holds now (a rename's new file), as on a local disk; ``ENOENT`` would
        tell it that nothing is there."""
        if control := self._control_for(path):
            return self._named(control.open(path, flags), path)
        if (sidecar := self.sidecars.at(path)) is not None:
            return self.handles.add(self.sidecars.open(sidecar, flags))
        try:
            return self._named(self.writes.open(path, flags), path)
        except (OSError, NotFoundError) as exc:
            if is_hidden_name(path) and errno_for(exc) == errno.ENOENT:
                raise fail(errno.ESTALE) from None
            raise

    def _named(self, fh: int, path: str) -> int:
        """A file open for reading remembers the path it was opened by (``putiofs status``)."""
        handle = self.handles.get(fh)
        if isinstance(handle, OpenFile):
            handle.path = path
        return fh

    @fail_fast_repeats
    @fuse_call
    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        handle = self.handles.get(fh)
        if isinstance(handle, OpenFile):
            return self.tree.read(handle, size, offset)
        return self._read_other(handle, path, size, offset, fh)

    def _read_other(self, handle: object, path: str, size: int, offset: int,
                    fh: int) -> bytes:
        """A read of a handle that is not an account file's: a sidecar, a file being
        written, a /.putio file; EBADF for none."""
        if isinstance(handle, OpenSidecar):
            return read_sidecar(handle, size, offset)
        if isinstance(handle, WriteHandle):
            return self.writes.read(handle, size, offset)
        if handle is not None:
            return self.control.read(path, size, offset, fh)
        raise fail(errno.EBADF)

    @fail_fast_repeats
    @fuse_call
    def read_into(self, path: str, dest: memoryview, offset: int, fh: int) -> int:
        """``read`` written straight into ``dest`` (libfuse's reply buffer, see
        :func:`putiofs.mount.binding.with_fast_reads`); the count. Account files copy from the
        stream's buffer once; files being written and the generated /.putio files through
        ``read``."""
        handle = self.handles.get(fh)
        if isinstance(handle, OpenFile):
            return 0 if handle.reader is None else handle.reader.read_into(offset, dest)
        data = self._read_other(handle, path, len(dest), offset, fh)
        dest[:len(data)] = data
        return len(data)

    @fuse_call
    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        if control := self._control_for(path):
            return control.write(path, data, offset, fh)
        return self.writes.write(fh, data, offset)

    @fuse_call
    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        if control := self._control_for(path):
            return control.truncate(path, length, fh)
        if isinstance(self.handles.get(fh), OpenSidecar):
            refuse()
        self._not_a_sidecar(path)
        self.writes.truncate(path, length, fh)
        return 0

    @fuse_call
    def flush(self, path: str, fh: int) -> int:
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            self.writes.flush(handle)
        elif handle is not None and not isinstance(handle, OpenFile | OpenSidecar):
            return self.control.flush(path, fh)
        return 0

    @fuse_call
    def fsync(self, path: str, datasync: int, fh: int) -> int:
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            self.writes.fsync(handle)
        return 0

    @fuse_call
    def release(self, path: str, fh: int) -> int:
        handle = self.handles.get(fh)
        if isinstance(handle, OpenFile):
            self.tree.release(fh)
        elif isinstance(handle, OpenSidecar):
            self.handles.pop(fh)
        elif isinstance(handle, WriteHandle):
            self.writes.release(fh)
        elif handle is not None:
            self.control.release(path, fh)
        return 0

    def destroy(self, path: str) -> None:
        """At unmount: pending uploads are waited for (``--upload-wait``), the account's
        readers are closed, then the control folder lets go, and the kept modes' store."""
        self.writes.destroy(self.options.upload_wait)
        self.tree.destroy()
        self.control.destroy()
        self.permissions.close()

    # -- changing the tree ----------------------------------------------------------------

    @fuse_call
    @changes("entry")
    def mkdir(self, path: str, mode: int) -> int:
        """A folder owned by its maker, with ``mode`` (see :mod:`putiofs.front.permissions`)."""
        self._guard_control(path)
        return self.edits.mkdir(path, mode, made=lambda folder, parent: (
            self.permissions.created(folder.id, True, mode, parent)))

    @fuse_call
    @changes("entry")
    def unlink(self, path: str) -> int:
        self._guard_control(path)
        self._not_a_sidecar(path)
        kept = self._kept_id(path)
        try:
            if (aside := self.overlay.take_aside(path)) is not None:
                return self._delete_aside(aside)
            if self.writes.unlink(path):
                self.permissions.forget(kept)
                return 0
            self.overlay.resolve(path)  # a hidden item is gone for the mount
            self.edits.unlink(path)
            self.permissions.forget(kept)
            return 0
        finally:
            self._deleted_something()

    @fuse_call
    @changes("entry")
    def rmdir(self, path: str) -> int:
        self._guard_control(path)
        kept = self._kept_id(path)
        try:
            self.edits.rmdir(path)
            self.permissions.forget(kept)
            return 0
        finally:
            self._deleted_something()

    def _kept_id(self, path: str) -> str | None:
        """The id the mode and owner of what is at ``path`` are kept under (None: nothing
        kept there), for dropping them once it is deleted."""
        if not self.permissions.keeps:
            return None
        try:
            return self.writes.attribute_target(path)[0]
        except (OSError, PutioError):
            return None

    @fuse_call
    @changes("move")
    def rename(self, old: str, new: str, flags: int = 0) -> int:
        """A rename; one touching /.putio is EPERM, except a top-level item of /.putio/trash
        renamed to a path outside /.putio: that restores it (``mv .putio/trash/x ~/putio/y``).

        put.io restores an item only into the folder it was deleted from (the root if that is
        gone), so it is restored there first and then renamed to ``new`` like any item; should
        that second step fail (e.g. EEXIST with RENAME_NOREPLACE), the item stays restored in
        its original folder and the error is the rename's.
        """
        if self.control.is_trash_item(old) and not self._control_for(new):
            self.tree.cache.resolve_parent(new)  # ENOENT / ENOTDIR before anything is restored
            restored = self.tree.backend.lookup(self.control.restore(old))
            self.tree.cache.added(restored)
            return self.edits.place(restored, new, flags)
        self._guard_control(old, new)
        self._not_a_sidecar(old)
        try:
            if self.writes.rename(old, new, flags):
                return 0
            source = self.overlay.resolve(old)  # a hidden item is gone for the mount
            if is_hidden_name(new) and not source.is_dir:
                self.edits.check_writable()
                parent, name = self.tree.cache.resolve_parent(new)
                self.overlay.set_aside(source, parent.id, name)
                return 0
            return self.edits.rename(old, new, flags)
        finally:
            self._deleted_something()  # a replacing rename deletes the old target

    def _delete_aside(self, entry: Any) -> int:
        """The unlink of a set-aside ``.fuse_hidden`` name: the item is deleted by id (under
        its own name, the one the trash then shows; see :meth:`TreeEdits.remove_aside`)."""
        self.edits.check_writable()
        self.edits.remove_aside(entry)
        return 0

    def _deleted_something(self) -> None:
        """Something may have gone to the trash: /.putio/trash lists anew at its next look."""
        self.control.trash_changed()

    # -- creating files, and what put.io cannot store ---------------------------------------

    @fuse_call
    @changes("entry")
    def create(self, path: str, mode: int, fi: Any = None) -> int:
        """A new file owned by its creator, with ``mode`` (see :mod:`putiofs.front.writes`)."""
        self._guard_control(path)
        return self.writes.create(path, mode)

    @fuse_call
    @changes("entry")
    def mknod(self, path: str, mode: int, dev: int) -> int:
        """A regular file is created empty (as create would); device files and FIFOs EPERM."""
        self._guard_control(path)
        self.writes.mknod(path, mode)
        return 0

    @fuse_call
    def symlink(self, target: str, source: str) -> int:
        """put.io has no links: EPERM where the mount writes (as vfat), else EROFS."""
        self.writes.refuse_link("symlink")

    @fuse_call
    def link(self, target: str, source: str) -> int:
        self.writes.refuse_link("link")

    @fuse_call
    def chmod(self, path: str, mode: int) -> int:
        """Kept by the mount where it writes (put.io stores no modes; see
        :mod:`putiofs.front.permissions`); the kernel has checked that the caller may."""
        return self._change_attributes(path, "chmod", lambda item_id, is_dir: (
            self.permissions.chmod(item_id, is_dir, mode)))

    @fuse_call
    def chown(self, path: str, uid: int, gid: int) -> int:
        """Kept by the mount, as chmod (-1 leaves the owner or group as it is)."""
        return self._change_attributes(path, "chown", lambda item_id, is_dir: (
            self.permissions.chown(item_id, is_dir, uid, gid)))

    def _change_attributes(self, path: str, what: str,
                           change: Callable[[str, bool], None]) -> int:
        """``change(id, is_dir)`` of what is at ``path``, with the lock a landing moves a
        pending file's attributes to its item under (the path is resolved once before, outside
        it: that may fetch a listing)."""
        self._not_a_sidecar(path)
        if self._control_for(path) or not self.permissions.keeps:
            self.tree.refuse(what)
        self.writes.attribute_target(path)
        with self.overlay.lock:
            change(*self.writes.attribute_target(path))
        return 0

    @fuse_call
    @changes("times")
    def utimens(self, path: str, times: Any = None) -> int:
        """The mtime sets put.io's ``updated_at`` (whole seconds), or a pending file's upload
        time; the atime is the mount's to show (put.io keeps none). A time utimensat(2) was
        told to leave alone (``UTIME_OMIT``: ``touch -a`` leaves the mtime) is left alone."""
        if self._control_for(path):
            self.tree.refuse("utimens")
        self._not_a_sidecar(path)
        atime, mtime = (time_asked(t) for t in times) if times else (None, None)
        if mtime != -1:
            self.writes.utimens(path, mtime)
        if atime != -1:
            self.tree.attributes.set_atime(self._account_stat(path)["st_ino"], atime)
        return 0


def build_operations(backend: Backend, options: MountOptions | None = None,
                     services: AccountServices | None = None,
                     caller: Callable[[], tuple[int, int]] | None = None,
                     invalidate: Callable[[str], object] | None = None,
                     **control_options: Any) -> PutioFS:
    """The FUSE operations over ``backend``; with ``services``, also ``/.putio`` (its
    ``refresh``, ``search_ttl`` and ``clock`` may be given; ``search_ttl`` defaults to the
    mount's ``cache_ttl``). ``caller()``: the (uid, gid) of the process a request comes from
    (the FUSE binding's context), who owns what it creates. ``invalidate(path)``: drops a
    path from the kernel's caches, for :meth:`PutioFS.refresh`."""
    options = options or MountOptions()
    mp4 = Mp4Attribute(services, options.cache_ttl) if services is not None else None
    read_cache = (ReadCache.open(options.read_cache_dir, options.read_cache_size)
                  if options.read_cache_dir is not None else None)
    tree = AccountView(backend, options, mp4=mp4, read_cache=read_cache)
    writes = None
    if (options.spool_dir is not None and backend.capabilities.write_contents
            and not options.read_only):
        spool = Spool(options.spool_dir, options.cache_max_size)
        tree.attributes.permissions = Permissions(
            ModeStore(options.spool_dir / MODES_FILE), options, caller,
            still_there(backend, tree.cache, spool))
        writes = WriteFiles(tree, spool, chunk_size=options.upload_chunk_size)
        control_options.setdefault("uploads", writes.uploads.snapshot)
    status = MountStatus(lambda: tree.handles.values(OpenFile), tree.cache, options,
                         live_events=backend.capabilities.live_events,
                         uploads=writes.uploads.snapshot if writes is not None else None,
                         read_cache=read_cache)
    if services is None:
        operations = PutioFS(tree, writes=writes, invalidate=invalidate)
    else:
        control_options.setdefault("search_ttl", tree.options.cache_ttl)
        control_options.setdefault("status", status)
        operations = PutioFS(tree, ControlFolder(services, tree, **control_options), writes,
                             invalidate=invalidate)
    operations.status = status
    return operations
