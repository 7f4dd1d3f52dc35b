"""Writing through the mount: open files for writing, and pending files shown over put.io's tree.

The FUSE front (:mod:`putiofs.fs`) routes create, open, read/write of written files, truncate,
flush, fsync, release, utimens, unlink and rename here when the API can write contents. Bytes go
to the spool (:mod:`putiofs.spool`) and, once the last writable handle is closed, to the uploader
(:mod:`putiofs.uploads`); no FUSE call waits for an upload.

Decisions (see README, "Writing"):

* A *pending* file (written, not yet on put.io) is shown at once where it was written, with its
  local size and its mtime in whole seconds (put.io's precision, so ``stat`` does not change when
  the upload lands), hiding any put.io item of that name (those it *replaces*; they are deleted
  once the new content is complete on put.io, never before). Reads of it come from the spool.
* Open files are shared as POSIX inodes are: a second writer of the same pending file writes
  into the same data (``O_TRUNC`` truncates it for both); the upload starts when the last
  writable handle is released. Opening a file whose upload is already running for writing makes
  a new version (a local copy) that is uploaded after it, so two uploads of one path never mix.
* Opening a put.io file for writing without ``O_TRUNC`` makes a sparse local copy; a read or a
  partial write of a block not yet local fetches that block (1 MiB, by HTTP Range, bounded by
  the call deadline); the rest is fetched by the uploader before the upload.
* ``close`` (the last release) and ``fsync`` mark the data as accepted: it is uploaded, also by
  the next mount after a crash. ``fsync`` makes it durable on the local disk (data, manifest,
  folder); the upload follows the close. ``close``/``fsync`` fail only when the data cannot be
  kept (a local disk error) or put.io refused it for lack of space (``ENOSPC``, data kept).
* A write that would take the pending bytes past put.io's free space (as last asked, every 30 s)
  or the spool past ``--cache-max-size`` is ``ENOSPC``.
* ``utimens``: of a pending file, its manifest (the upload carries it); of a put.io item,
  ``set_mtime`` (whole seconds); a folder's time is set again after uploads into it land.
* ``unlink`` of a pending file drops it (its upload is aborted) and deletes the put.io items it
  replaced; ``rename`` of one changes only its manifest (the uploader moves the new item). A
  pending file renamed to libfuse's ``.fuse_hidden…`` (an unlinked open file) is never uploaded.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from putiofs.account_tree import AccountTree
from putiofs.backend import Entry
from putiofs.cache import split_path
from putiofs.errors import NotFoundError, PutioError
from putiofs.fuse_errors import fail
from putiofs.reader import StreamReader
from putiofs.spool import BLOCK, Spool, SpoolFile
from putiofs.tree_ops import TreeChanges
from putiofs.uploads import Uploads, UploadStatus

log = logging.getLogger("putiofs.uploads")

HIDDEN_PREFIX = ".fuse_hidden"
_RENAME_NOREPLACE = 1


@dataclass
class WriteHandle:
    """An open pending file; ``writable`` unless opened O_RDONLY."""

    file: SpoolFile
    writable: bool
    append: bool = False


class WriteFiles:
    """The pending files of one mount (the overlay) and their open handles."""

    def __init__(self, tree: AccountTree, spool: Spool, *, chunk_size: int,
                 workers: int = 2) -> None:
        self.tree = tree
        self.backend = tree.backend
        self.cache = tree.cache
        self.handles = tree.handles
        self.spool = spool
        self.changes = TreeChanges(tree.backend, tree.cache, tree.options)
        self.uploads = Uploads(tree.backend, spool, self, chunk_size=chunk_size,
                               workers=workers)
        self.uploads.open_files = self._open_records
        self.lock = self.uploads.lock
        self._pending: dict[tuple[str, str], SpoolFile] = {}
        self._place: dict[str, tuple[str, str]] = {}   # file id -> its key in _pending
        self._doomed: dict[str, Entry | None] = {}  # replaced items, deleted after uploads
        self._gone: set[str] = set()
        self._opened: dict[str, list[WriteHandle]] = {}
        self._successor: dict[str, SpoolFile] = {}
        self._bases: dict[str, StreamReader] = {}
        self._folder_times: dict[str, int] = {}
        self._fetch_lock = threading.Lock()

    # -- start and stop --------------------------------------------------------------------

    def start(self) -> None:
        """Take up what a previous mount left in the spool, then start the uploader."""
        for spooled in self.spool.load_all():
            manifest = spooled.manifest
            if manifest.name.startswith(HIDDEN_PREFIX):
                spooled.discard()
            elif not manifest.accepted:
                self.spool.hand_back(spooled, "it was still being written when the mount "
                                              "stopped")
            else:
                log.info("resuming the upload of %s (%d bytes)", manifest.path, manifest.size)
                self._show(spooled, manifest.parent_id, manifest.name)
                self.uploads.submit(spooled)
        self.uploads.refresh_quota()
        self.uploads.start()

    def destroy(self, wait: float) -> None:
        """At unmount: wait up to ``wait`` s for pending uploads (a line every 5 s), then stop;
        what is left stays in the spool for the next mount."""
        for handle in self.handles.take_all(WriteHandle):
            self._let_go(handle)

        def progress(jobs: int, left: int) -> None:
            log.warning("unmount: waiting for %d upload(s), %.1f MiB left", jobs, left / 2**20)

        if wait > 0 and self.uploads.pending()[0]:
            progress(*self.uploads.pending())
            if not self.uploads.wait(wait, progress):
                jobs, left = self.uploads.pending()
                log.warning("unmount: %d upload(s) left in the spool (%s) for the next mount",
                            jobs, self.spool.root)
        self.uploads.stop()
        for reader in list(self._bases.values()):
            reader.close()

    # -- the overlay -----------------------------------------------------------------------

    def _show(self, spooled: SpoolFile, parent_id: str, name: str) -> None:
        with self.lock:
            self._pending[(parent_id, name)] = spooled
            self._place[spooled.id] = (parent_id, name)
            for item_id in spooled.manifest.replaces:
                self._doomed.setdefault(item_id, None)

    def _unshow(self, spooled: SpoolFile) -> None:
        with self.lock:
            key = self._place.pop(spooled.id, None)
            if key is not None and self._pending.get(key) is spooled:
                del self._pending[key]

    def pending_at(self, path: str) -> SpoolFile | None:
        parts = split_path(path)
        if not parts:
            return None
        try:
            parent = self.cache.resolve("/".join(parts[:-1]))
        except (NotFoundError, PutioError):
            return None
        with self.lock:
            return self._pending.get((parent.id, parts[-1]))

    def resolve(self, path: str) -> Entry:
        """A put.io item, unless a pending file replaced it (ENOENT then)."""
        entry = self.cache.resolve(path)
        if entry.id in self._doomed or entry.id in self._gone:
            raise fail(errno.ENOENT)
        return entry

    def stat(self, spooled: SpoolFile) -> dict[str, Any]:
        manifest = spooled.manifest
        entry = Entry(id=f"pending-{spooled.id}", name=manifest.name, is_dir=False,
                      size=manifest.size, parent_id=manifest.parent_id,
                      mtime=float(int(manifest.mtime)), ctime=float(int(manifest.created)))
        return self.tree.attributes.stat(entry)

    def getattr(self, path: str, fh: int | None) -> dict[str, Any]:
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            return self.stat(handle.file)
        if (spooled := self.pending_at(path)) is not None:
            return self.stat(spooled)
        self.resolve(path)
        return self.tree.getattr(path, fh)

    def readdir(self, path: str) -> list[str]:
        entry = self.resolve(path)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        listing = self.cache.listing(entry.id)
        with self.lock:
            shown = {name for name, item in list(listing.by_name.items())
                     if item.id not in self._doomed and item.id not in self._gone}
            shown.update(name for (parent, name) in self._pending if parent == entry.id)
        return sorted(shown)

    def _open_records(self) -> list[UploadStatus]:
        with self.lock:
            return [UploadStatus(path=handles[0].file.manifest.path,
                                 size=handles[0].file.manifest.size, state="open")
                    for handles in self._opened.values()
                    if any(h.writable for h in handles)]

    # -- opening ---------------------------------------------------------------------------

    def _new_version(self, path: str, *, base: Entry | None = None,
                     copy_of: SpoolFile | None = None,
                     replaces: list[str] | list[Entry]) -> SpoolFile:
        parent, name = self.cache.resolve_parent(path)
        remote = self.changes._remote_name(name)  # ENAMETOOLONG / EINVAL before anything
        if remote != name or name.startswith(HIDDEN_PREFIX):
            raise fail(errno.EINVAL) if remote != name else fail(errno.EPERM)
        now = time.time()
        if copy_of is not None:
            self.uploads.charge_check(copy_of.manifest.size)
            spooled = self.spool.create(parent.id, name, path, copy_of.manifest.mtime)
            with copy_of.lock:
                self.spool.charge(copy_of.manifest.size)
                with open(self.spool.data_path(copy_of.id), "rb") as source, \
                        open(self.spool.data_path(spooled.id), "r+b") as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
                spooled.manifest.size = copy_of.manifest.size
                spooled.manifest.base_id = copy_of.manifest.base_id
                spooled.manifest.base_size = copy_of.manifest.base_size
                spooled.manifest.base_limit = copy_of.manifest.base_limit
                spooled.present = set(copy_of.present)
        elif base is not None:
            self.uploads.charge_check(base.size)
            spooled = self.spool.create(parent.id, name, path, now, base_id=base.id,
                                        base_size=base.size)
        else:
            spooled = self.spool.create(parent.id, name, path, now)
        spooled.manifest.replaces = [r if isinstance(r, str) else r.id for r in replaces]
        spooled.save()
        with self.lock:
            for item in replaces:
                if isinstance(item, Entry):
                    self._doomed[item.id] = item
            self._show(spooled, parent.id, name)
        return spooled

    def create(self, path: str, mode: int) -> int:
        """A new empty file (the kernel sends create only for a name it found free; a put.io
        item of that name that it did not know yet is replaced, as O_TRUNC would)."""
        existing = self.pending_at(path)
        if existing is not None:
            return self.open(path, os.O_WRONLY | os.O_TRUNC)
        replaces = self._server_items_at(path)
        spooled = self._new_version(path, replaces=replaces)
        return self._add_handle(spooled, writable=True)

    def _server_items_at(self, path: str) -> list[Entry]:
        with contextlib.suppress(NotFoundError):
            entry = self.resolve(path)
            if entry.is_dir:
                raise fail(errno.EISDIR)
            return [entry]
        return []

    def open(self, path: str, flags: int) -> int:
        writable = flags & os.O_ACCMODE != os.O_RDONLY
        append = bool(flags & os.O_APPEND)
        spooled = self.pending_at(path)
        if spooled is None:
            entry = self.resolve(path)
            if entry.is_dir:
                raise fail(errno.EISDIR)
            if not writable and not flags & os.O_TRUNC:
                return self.tree.open_entry(entry, flags)
            truncate = bool(flags & os.O_TRUNC) or entry.size == 0
            spooled = self._new_version(path, base=None if truncate else entry,
                                        replaces=[entry])
            if not truncate:
                self._bases[spooled.id] = self._reader_for(entry)
            return self._add_handle(spooled, writable, append)
        if writable or flags & os.O_TRUNC:
            spooled = self._writable_version(path, spooled)
            if flags & os.O_TRUNC:
                self._truncate_file(spooled, 0)
        return self._add_handle(spooled, writable, append)

    def _writable_version(self, path: str, spooled: SpoolFile) -> SpoolFile:
        """The pending file itself if its upload has not started (taken off the queue), else
        a new version copied from it that replaces it."""
        with self.lock:
            if self.uploads.withdraw(spooled, cancel=False):
                return spooled
            replaces = list(spooled.manifest.replaces)
            spooled.manifest.replaces = []
        newer = self._new_version(path, copy_of=spooled, replaces=replaces)
        with self.lock:
            self._successor[spooled.id] = newer
            self._place.pop(spooled.id, None)
        return newer

    def _add_handle(self, spooled: SpoolFile, writable: bool, append: bool = False) -> int:
        handle = WriteHandle(spooled, writable, append)
        with self.lock:
            self._opened.setdefault(spooled.id, []).append(handle)
        return self.handles.add(handle)

    # -- data ------------------------------------------------------------------------------

    def _reader_for(self, entry: Entry) -> StreamReader:
        options = self.tree.options

        def url_provider(refresh: bool) -> str:
            return self.backend.stream_url(entry, refresh_token=refresh)

        return StreamReader(self.backend.http_session, url_provider, entry.size,
                            read_timeout=options.read_timeout, deadline=options.call_deadline,
                            label=f"item {entry.id}")

    def _fetch(self, spooled: SpoolFile, start: int, end: int) -> None:
        """Make the base's bytes of [start, end) local (network, bounded by the deadline)."""
        missing = spooled.missing(start, end)
        if not missing:
            return
        reader = self._bases.get(spooled.id)
        if reader is None:
            base = self.backend.lookup(spooled.manifest.base_id or "")
            reader = self._bases.setdefault(spooled.id, self._reader_for(base))
        for block in missing:
            offset = block * BLOCK
            length = max(0, min(BLOCK, spooled.manifest.base_limit - offset))
            spooled.fill(block, reader.read(offset, length) if length else b"")

    def fill_base(self, spooled: SpoolFile) -> None:
        """Everything still needed of the original, before the upload (uploader's thread)."""
        self._fetch(spooled, 0, spooled.manifest.base_limit)
        if spooled.manifest.base_id is not None:
            spooled.save()
        reader = self._bases.pop(spooled.id, None)
        if reader is not None:
            reader.close()

    def read(self, handle: WriteHandle, size: int, offset: int) -> bytes:
        self._fetch(handle.file, offset, offset + size)
        return handle.file.pread(size, offset)

    def write(self, handle: WriteHandle, data: bytes, offset: int) -> int:
        if not handle.writable:
            raise fail(errno.EBADF)
        spooled = handle.file
        if handle.append:
            offset = spooled.manifest.size
        grow = offset + len(data) - spooled.manifest.size
        if grow > 0:
            self.uploads.charge_check(grow)
        self._fetch_edges(spooled, offset, offset + len(data))
        if spooled.manifest.accepted:
            spooled.manifest.accepted = False
            spooled.save(durable=True)
        written = spooled.pwrite(data, offset)
        spooled.manifest.mtime = time.time()
        return written

    def _fetch_edges(self, spooled: SpoolFile, start: int, end: int) -> None:
        """A write that covers a base block only partly needs the rest of that block first."""
        for edge in {start, max(start, end - 1)}:
            block_start = edge // BLOCK * BLOCK
            block_end = min(block_start + BLOCK, spooled.manifest.base_limit)
            if not (start <= block_start and end >= block_end):
                self._fetch(spooled, block_start, block_end)

    def truncate(self, path: str, length: int, fh: int | None) -> None:
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            if not handle.writable:
                raise fail(errno.EBADF)
            self._truncate_file(handle.file, length)
            return
        spooled = self.pending_at(path)
        if spooled is None:
            entry = self.resolve(path)
            if entry.is_dir:
                raise fail(errno.EISDIR)
            spooled = self._new_version(path, base=entry if length else None,
                                        replaces=[entry])
            if length:
                self._bases[spooled.id] = self._reader_for(entry)
        else:
            spooled = self._writable_version(path, spooled)
        self._truncate_file(spooled, length)
        self._close_if_unused(spooled)

    def _truncate_file(self, spooled: SpoolFile, length: int) -> None:
        if length > spooled.manifest.size:
            self.uploads.charge_check(length - spooled.manifest.size)
        if length < spooled.manifest.base_limit and length % BLOCK:
            self._fetch(spooled, length // BLOCK * BLOCK, length)
        spooled.truncate(length)
        spooled.manifest.mtime = time.time()
        spooled.manifest.accepted = False

    # -- closing ---------------------------------------------------------------------------

    def flush(self, handle: WriteHandle) -> None:
        """close(2): the error the user sees. The manifest is saved (not yet accepted)."""
        if handle.writable:
            handle.file.save()
            if self.uploads.quota_refused(handle.file):
                raise fail(errno.ENOSPC)

    def fsync(self, handle: WriteHandle) -> None:
        """Data, manifest and folder on disk; the version is accepted (uploaded after close,
        or by the next mount should this one die)."""
        if handle.writable:
            handle.file.manifest.accepted = True
            handle.file.save(durable=True)
            if self.uploads.quota_refused(handle.file):
                raise fail(errno.ENOSPC)

    def release(self, fh: int) -> None:
        handle = self.handles.pop(fh)
        if isinstance(handle, WriteHandle):
            self._let_go(handle)

    def _let_go(self, handle: WriteHandle) -> None:
        spooled = handle.file
        with self.lock:
            handles = self._opened.get(spooled.id, [])
            if handle in handles:
                handles.remove(handle)
            if not handles:
                self._opened.pop(spooled.id, None)
        if handle.writable or not handles:
            self._close_if_unused(spooled)

    def _close_if_unused(self, spooled: SpoolFile) -> None:
        """No writable handle left: accept and queue it (or forget it if it was dropped)."""
        with self.lock:
            handles = self._opened.get(spooled.id, [])
            if any(h.writable for h in handles):
                return
            dropped = spooled.id not in self._place
            hidden = spooled.manifest.name.startswith(HIDDEN_PREFIX)
            if dropped or hidden:
                if not handles and spooled.id not in self._successor:
                    self.uploads.withdraw(spooled)
                    if self.uploads.job_of(spooled) is None:
                        spooled.discard()
                return
            if self.uploads.job_of(spooled) is not None:
                return
        spooled.manifest.accepted = True
        spooled.save()
        self.uploads.submit(spooled)

    # -- what the uploader asks (Landing) --------------------------------------------------

    def target(self, spooled: SpoolFile) -> tuple[str, str] | None:
        if spooled.manifest.name.startswith(HIDDEN_PREFIX):
            return None
        return self._place.get(spooled.id)

    def landed(self, spooled: SpoolFile, entry: Entry) -> list[str]:
        successor = self._successor.pop(spooled.id, None)
        if spooled.id in self._place:
            self._unshow(spooled)
            self.cache.added(entry)
            return list(spooled.manifest.replaces)
        if successor is not None and not successor.gone:
            successor.manifest.replaces.append(entry.id)
            successor.save()
            self._doomed[entry.id] = entry
            return []
        return [entry.id, *spooled.manifest.replaces]

    def replaced(self) -> set[str]:
        return set(self._doomed) | self._gone

    def deleted(self, item_ids: list[str]) -> None:
        """Gone from put.io: out of the cached listings (the ids stay hidden until the
        listing is fetched anew, in case their folder is not known here)."""
        for item_id in item_ids:
            entry = self._doomed.pop(item_id, None)
            self._gone.add(item_id)
            if entry is not None:
                self.cache.removed(entry)

    def after(self, entry: Entry) -> None:
        """The landed item as it is now (its time may have been set) goes into the cache; a
        folder whose time was set through the mount gets it again (put.io may bump it)."""
        with self.lock:
            if entry.id not in self._doomed and entry.id not in self._gone:
                self.cache.added(entry)
        wanted = self._folder_times.get(entry.parent_id)
        if wanted is not None:
            with contextlib.suppress(PutioError):
                self.backend.set_mtime(entry.parent_id, wanted)

    # -- changing names and times ----------------------------------------------------------

    def unlink(self, path: str) -> bool:
        """Drop a pending file (True), or False: not pending, tree_ops' business."""
        spooled = self.pending_at(path)
        if spooled is None:
            self.resolve(path)
            return False
        self._drop(spooled)
        return True

    def _drop(self, spooled: SpoolFile) -> None:
        with self.lock:
            self._unshow(spooled)
            replaces = list(spooled.manifest.replaces)
            spooled.manifest.replaces = []
            running = not self.uploads.withdraw(spooled)
            if not running and spooled.id not in self._opened:
                spooled.discard()
        self._delete_items(replaces)

    def _delete_items(self, item_ids: list[str]) -> None:
        for item_id in item_ids:
            with contextlib.suppress(NotFoundError):
                self.backend.delete(item_id)
            with self.lock:
                self.deleted([item_id])

    def rename(self, old: str, new: str, flags: int) -> bool:
        """Rename involving a pending file (True), else False (tree_ops renames)."""
        source = self.pending_at(old)
        target = self.pending_at(new)
        if source is None and target is None:
            return False
        if source is None:
            entry = self.resolve(old)
            if flags & _RENAME_NOREPLACE:
                raise fail(errno.EEXIST)
            if entry.is_dir:
                raise fail(errno.EISDIR)
            doomed = list(target.manifest.replaces)  # type: ignore[union-attr]
            self._drop(target)  # type: ignore[arg-type]
            self.changes.place(entry, new, flags)
            self._delete_items(doomed)
            return True
        parent, name = self.cache.resolve_parent(new)
        remote = self.changes._remote_name(name)
        if remote != name:
            raise fail(errno.EINVAL)
        replaces: list[str] = []
        if target is not None and target is not source:
            if flags & _RENAME_NOREPLACE:
                raise fail(errno.EEXIST)
            with self.lock:
                replaces = list(target.manifest.replaces)
                target.manifest.replaces = []
            self._drop(target)
        elif target is None:
            with contextlib.suppress(NotFoundError):
                existing = self.resolve(new)
                if flags & _RENAME_NOREPLACE:
                    raise fail(errno.EEXIST)
                if existing.is_dir:
                    raise fail(errno.EISDIR)
                replaces.append(existing.id)
                with self.lock:
                    self._doomed[existing.id] = existing
        with self.lock:
            self._unshow(source)
            source.manifest.parent_id, source.manifest.name = parent.id, name
            source.manifest.path = new
            source.manifest.replaces.extend(replaces)
            self._show(source, parent.id, name)
        source.save()
        if name.startswith(HIDDEN_PREFIX):
            with self.lock:
                self.uploads.withdraw(source)
        return True

    def utimens(self, path: str, mtime_ns: int | None) -> None:
        seconds = time.time() if mtime_ns is None else mtime_ns / 1e9
        spooled = self.pending_at(path)
        if spooled is not None:
            spooled.manifest.mtime = seconds
            spooled.save()
            return
        entry = self.resolve(path)
        self.backend.set_mtime(entry.id, int(seconds))
        if entry.is_dir:
            self._folder_times[entry.id] = int(seconds)
        self.cache.replaced(entry, replace(entry, mtime=float(int(seconds))))

