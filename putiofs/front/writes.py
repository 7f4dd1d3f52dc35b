"""Writing through the mount: open files for writing, and pending files shown over put.io's tree.

The FUSE front (:mod:`putiofs.front.operations`) routes create, open, read/write of written files,
truncate, flush, fsync, release, utimens, unlink and rename here when the API can write contents.
Bytes go to the spool (:mod:`putiofs.write.spool`) and, once the last writable handle is closed, to
the uploader (:mod:`putiofs.write.uploader`); no FUSE call waits for an upload.

Decisions (see docs/writing.md):

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
* A version opened over an item without ``O_TRUNC`` is *unchanged* until something changes its
  bytes (a write, a truncate to another size, a rename: :meth:`SpoolFile.mark_changed`). Its
  reads come from the item (nothing is fetched into the spool), it counts nothing against the
  cap, and it is never accepted nor uploaded: at its last writable release it is withdrawn and
  the name shows the item again with the same inode, mode and owner (a chmod or chown made
  meanwhile carried to it: :meth:`WriteFiles._give_back`). A time set on it (utimens, and a
  truncate to the size it has, which moves the mtime to now as Linux does) is set on the item
  at once (:meth:`PendingNames.utimens`), so ``touch`` of a movie sets its time and uploads
  nothing; flush and fsync have nothing to keep. The next mount drops one it finds (this mount
  died with it open) quietly.
* ``close`` (its ``flush``, sent before ``close(2)`` returns) and ``fsync`` of a writable handle
  accept the version and make it durable (data, then manifest, then folder fsynced): it is
  uploaded, also by the next mount after a SIGKILL of this one or a power cut. ``release`` may
  come after ``close(2)`` has returned, so it only starts the upload (at the last writable one).
  A write after that makes the version unaccepted again until the next flush or fsync.
* A version a write, truncate or flush failed on (``ENOSPC`` for the cap, put.io's free space
  or a full cache disk; a local disk error; an original's block that could not be fetched) is
  *refused*, unless it was still an accepted version unchanged by the failed call: every later
  write, flush and close of it answers that error, it is never uploaded, and at its first
  close (flush) it is dropped (its space freed, one WARNING line, a ``refused`` record in the
  uploads listing) and the name shows what was there before (the put.io items it replaced, or
  the version it was to follow); if its data file once held an accepted version, changed since,
  the data is handed back in ``recovered/`` instead (an ERROR line). A truncate to 0 (or an
  ``O_TRUNC`` open) before that close starts the version clean.
* ``close``/``fsync`` fail otherwise only when the data cannot be kept (a local disk error) or
  put.io refused it for lack of space (``ENOSPC``, data kept and retried).
* A write that would take the pending bytes past put.io's free space (as last asked, every 30 s)
  or the spool past ``--cache-max-size`` is ``ENOSPC``.
* Which version an ``open`` starts from is decided with the overlay's lock held, the lock a
  landing holds while it swaps a pending file for its new item (:mod:`putiofs.write.landing`): the
  open finds the pending file (taken off the queue, or followed by a newer copy if its upload
  is running) or the landed item (its bytes the base), never an item being deleted.
* A new version starts with the mode and owner of the file it replaces (a new file: its
  creator's, with create's mode), and the item its upload lands as takes them over
  (:mod:`putiofs.front.permissions`).
* Names and times (unlink, rename, utimens) are :mod:`putiofs.front.pending_names`, which
  :class:`WriteFiles` holds and routes them to; it keeps the open handles and the data itself.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import threading
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from putiofs.api.backend import Entry
from putiofs.front.account_view import AccountView
from putiofs.front.errno_map import errno_for, fail
from putiofs.front.pending_names import PendingNames
from putiofs.front.permissions import PENDING_PREFIX
from putiofs.front.tree_edits import TreeEdits
from putiofs.read.reader import StreamReader, open_stream
from putiofs.write.landing import Deletions, Landing
from putiofs.write.overlay import HIDDEN_PREFIX, Overlay
from putiofs.write.spool import BLOCK, NO_ROOM_ON_DISK, Spool, SpoolFile
from putiofs.write.uploader import Uploads, UploadStatus

log = logging.getLogger("putiofs.write")

#: The largest file the mount takes (16 TiB, what ext4 holds with 4 KiB blocks, where the spool
#: usually lives, and past any put.io plan): a write or truncate beyond it is ``EFBIG`` and
#: changes nothing, as on a local filesystem; below it, room decides (``ENOSPC``).
MAX_FILE_SIZE = 1 << 44


@dataclass
class WriteHandle:
    """An open pending file; ``writable`` unless opened O_RDONLY."""

    file: SpoolFile
    writable: bool
    append: bool = False


class WriteFiles:
    """The pending files of one mount: their open handles and their data; their names and
    times through :attr:`names`."""

    def __init__(self, tree: AccountView, spool: Spool, *, chunk_size: int,
                 workers: int = 2) -> None:
        self.tree = tree
        self.backend = tree.backend
        self.cache = tree.cache
        self.handles = tree.handles
        self.spool = spool
        self.overlay = Overlay(tree.cache)
        self.lock = self.overlay.lock
        self.deletions = Deletions(tree.backend, self.overlay, spool.root / "deletes.json")
        self.landing = Landing(tree.backend, self.overlay, self.deletions, threading.Event(),
                               landed=self._landed)
        self.edits = TreeEdits(tree.backend, tree.cache, tree.options, self.overlay,
                               self.landing, tree.changes)
        self.uploads = Uploads(tree.backend, spool, self.landing, self.fill_base,
                               chunk_size=chunk_size, workers=workers)
        self.uploads.open_files = self._open_records
        self.uploads.transfer.limit = tree.options.bandwidth.up
        self._opened: dict[str, list[WriteHandle]] = {}
        self._bases: dict[str, StreamReader] = {}
        self._refused: dict[str, tuple[int, str]] = {}  # version id -> (errno, why)
        self._older: dict[str, SpoolFile] = {}  # newer version id -> the running one it follows
        self.names = PendingNames(tree.backend, self.overlay, self.uploads, self.landing,
                                  self.edits, self.is_open)

    # -- start and stop --------------------------------------------------------------------

    def start(self) -> None:
        """Take up what a previous mount left in the spool, then start the uploader."""
        self.deletions.load()
        self.landing.places.load()
        for spooled in self.spool.load_all():
            manifest = spooled.manifest
            if manifest.name.startswith(HIDDEN_PREFIX):
                spooled.discard()
            elif not manifest.changed:
                log.debug("spool: %s was open unchanged when the mount stopped: dropped",
                          manifest.path)
                spooled.discard()
            elif not manifest.accepted:
                self.spool.hand_back(spooled, "it was still being written when the mount "
                                              "stopped")
            else:
                log.info("resuming the upload of %s (%d bytes)", manifest.path, manifest.size)
                self.overlay.show(spooled, manifest.parent_id, manifest.name)
                self.uploads.submit(spooled)
        self.uploads.refresh_quota()
        self.uploads.start()

    def destroy(self, wait: float) -> None:
        """At unmount: wait up to ``wait`` s for pending uploads (a line every 5 s), then stop;
        what is left stays in the spool for the next mount."""
        for handle in self.handles.take_all(WriteHandle):
            self._let_go(handle)

        def progress(jobs: int, left: int) -> None:
            # INFO: waiting is the unmount doing its job; only what it leaves is a warning
            log.info("unmount: waiting for %d upload(s), %.1f MiB left", jobs, left / 2**20)

        if wait > 0 and self.uploads.pending()[0]:
            progress(*self.uploads.pending())
            if not self.uploads.wait(wait, progress):
                jobs, left = self.uploads.pending()
                log.warning("unmount: %d upload(s) left in the spool (%s) for the next mount",
                            jobs, self.spool.root)
        self.uploads.stop()
        for reader in list(self._bases.values()):
            reader.close()

    def _landed(self, spooled: SpoolFile, entry: Entry) -> None:
        """The upload of ``spooled`` landed as ``entry``: the item takes over what the pending
        file showed (its inode, and so its times' nanoseconds; its mode and owner), and the
        versions it replaced drop theirs; the change hook hears of it (``created``, or
        ``changed`` when it replaced a file)."""
        self.tree.changes.landed(entry, replaced=bool(spooled.manifest.replaces))
        self.tree.attributes.landed(pending_id(spooled), entry.id)
        try:
            self.tree.attributes.permissions.carry(pending_id(spooled), entry.id,
                                                   gone=spooled.manifest.replaces)
        except Exception as exc:  # noqa: BLE001 - the upload did land; only this is lost
            log.error("%s: its mode and owner could not be kept for the uploaded item %s "
                      "(%s: %s); it shows the defaults", spooled.manifest.path, entry.id,
                      type(exc).__name__, exc)

    # -- what is shown ---------------------------------------------------------------------

    def is_open(self, spooled: SpoolFile) -> bool:
        """Has the pending file an open handle?"""
        with self.lock:
            return spooled.id in self._opened

    def stat(self, spooled: SpoolFile) -> dict[str, Any]:
        manifest = spooled.manifest
        entry = Entry(id=pending_id(spooled), name=manifest.name, is_dir=False,
                      size=manifest.size, parent_id=manifest.parent_id,
                      mtime=float(int(manifest.mtime)), ctime=float(int(manifest.created)))
        return self.tree.attributes.stat(entry)

    def getattr(self, path: str, fh: int | None) -> dict[str, Any] | None:
        """A pending file's attributes (by handle or path), else None (a put.io item's)."""
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            return self.stat(handle.file)
        if (spooled := self.overlay.pending_at(path)) is not None:
            return self.stat(spooled)
        return None

    def _open_records(self) -> list[UploadStatus]:
        with self.lock:
            return [UploadStatus(path=handles[0].file.manifest.path,
                                 size=handles[0].file.manifest.size, state="open")
                    for handles in self._opened.values()
                    if any(h.writable for h in handles)]

    # -- opening ---------------------------------------------------------------------------

    def _checked_parent(self, path: str) -> tuple[Entry, str]:
        parent, name = self.cache.resolve_parent(path)
        remote = self.edits.remote_name(name)  # ENAMETOOLONG / EINVAL before anything
        if remote != name:
            raise fail(errno.EINVAL)
        if name.startswith(HIDDEN_PREFIX):
            raise fail(errno.EPERM)
        return parent, name

    def _new_version(self, parent: Entry, name: str, path: str, *, base: Entry | None = None,
                     replaces: list[Entry] | list[str], mode: int | None = None) -> SpoolFile:
        """A new pending file shown at (parent, name); call with the lock held. It starts with
        the mode and owner of the item it replaces, else (a new file made with ``mode``) the
        creator's. One over a ``base`` starts unchanged (its bytes are the base's)."""
        if base is not None:
            # Its mtime is the item's until it is written to: opening for writing changes no
            # time (POSIX), so `touch -a` leaves the mtime as it was.
            mtime = base.mtime if base.mtime is not None else time.time()
            spooled = self.spool.create(parent.id, name, path, mtime, base_id=base.id,
                                        base_size=base.size, changed=False)
        else:
            spooled = self.spool.create(parent.id, name, path, time.time())
        replaced = replaces[0] if replaces else None
        self._first_attributes(spooled, replaced.id if isinstance(replaced, Entry) else None,
                               mode, parent)
        spooled.manifest.replaces = [r if isinstance(r, str) else r.id for r in replaces]
        spooled.save()
        for item in replaces:
            if isinstance(item, Entry):
                self.tree.attributes.new_version(item.id, pending_id(spooled))
                self.overlay.hide(item.id, item.parent_id, item)
        self.overlay.show(spooled, parent.id, name)
        return spooled

    def _first_attributes(self, spooled: SpoolFile, replaced: str | None,
                          mode: int | None = None, parent: Entry | None = None) -> None:
        """A new version starts with the mode and owner of the version it replaces, else (a
        new file made with ``mode`` in ``parent``) its creator's; if they cannot be kept, the
        new version never was."""
        permissions = self.tree.attributes.permissions
        try:
            if replaced is not None:
                permissions.copy(replaced, pending_id(spooled))
            elif mode is not None and parent is not None:
                permissions.created(pending_id(spooled), False, mode, parent)
        except BaseException:
            spooled.discard()
            raise

    def create(self, path: str, mode: int) -> int:
        """A new empty file (the kernel sends create only for a name it found free; a put.io
        item of that name that it did not know yet is replaced, as O_TRUNC would)."""
        return self.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def mknod(self, path: str, mode: int) -> None:
        """A regular file is created empty (as create would); device files and FIFOs EPERM."""
        if not stat.S_ISREG(mode):
            raise fail(errno.EPERM)
        self.release(self.create(path, mode))

    def open(self, path: str, flags: int, mode: int | None = None) -> int:
        """Open (``mode``: create's, for a file it makes)."""
        log.debug("open %s flags %#o", path, flags)
        writable = flags & os.O_ACCMODE != os.O_RDONLY
        append = bool(flags & os.O_APPEND)
        truncate = bool(flags & os.O_TRUNC)
        parent, name = self._checked_parent(path) if writable or truncate or flags & os.O_CREAT \
            else self.cache.resolve_parent(path)
        with self.lock:
            spooled = self.overlay.pending_in(parent.id, name)
            if spooled is None:
                entry = self.overlay.find(parent.id, name)
                if entry is None and not flags & os.O_CREAT:
                    raise fail(errno.ENOENT)
                if entry is not None and entry.is_dir:
                    raise fail(errno.EISDIR)
                if entry is not None and not writable and not truncate:
                    spooled = None
                else:
                    base = None if truncate else entry
                    log.debug("open %s: a new version over %s (empty: %s)", path, entry,
                              base is None)
                    spooled = self._new_version(parent, name, path, base=base,
                                                replaces=[] if entry is None else [entry],
                                                mode=mode)
                    if base is not None and base.size:
                        self._bases[spooled.id] = self._reader_for(base)
                    return self._add_handle(spooled, writable, append)
            elif writable or truncate:
                spooled, source = self._writable_version(spooled)
                if source is None:
                    if truncate:
                        self._truncate_file(spooled, 0)
                    return self._add_handle(spooled, writable, append)
            else:
                return self._add_handle(spooled, writable, append)
        if spooled is None:
            return self.tree.open_entry(entry, flags)  # type: ignore[arg-type]
        self._copy_into(spooled, source)
        if truncate:
            self._truncate_file(spooled, 0)
        return self._add_handle(spooled, writable, append)

    def _writable_version(self, spooled: SpoolFile) -> tuple[SpoolFile, Any]:
        """With the lock held: the pending file itself if its upload has not started (taken off
        the queue), else a newer version shown in its place, and an open file object of the
        running one's data to copy into it (outside the lock).

        Lock order: the overlay's lock before any pending file's lock, never the reverse; the
        newer version's lock is held until the copy is done (its readers wait)."""
        if self.uploads.withdraw(spooled, cancel=False):
            log.debug("%s: writing into the pending version (%d bytes)",
                      spooled.manifest.path, spooled.manifest.size)
            return spooled, None
        manifest = spooled.manifest
        self.uploads.charge_check(manifest.size)
        source = open(self.spool.data_path(spooled.id), "rb")  # noqa: SIM115 - closed by the copy
        try:
            newer = self.spool.create(manifest.parent_id, manifest.name, manifest.path,
                                      manifest.mtime)
            self._first_attributes(newer, pending_id(spooled))
            self.spool.charge(manifest.size)
        except BaseException:
            source.close()
            raise
        newer.manifest.size = manifest.size
        newer.lock.acquire()
        newer.manifest.replaces, manifest.replaces = list(manifest.replaces), []
        self.overlay.successor[spooled.id] = newer
        self._older[newer.id] = spooled
        self.overlay.unshow(spooled)  # its landing now only hands its item to the newer one
        self.tree.attributes.new_version(pending_id(spooled), pending_id(newer))
        self.overlay.show(newer, manifest.parent_id, manifest.name)
        return newer, (source, spooled)

    def _copy_into(self, newer: SpoolFile, source: Any) -> None:
        handle, older = source
        failure: BaseException | None = None
        try:
            with older.lock, handle:
                with open(self.spool.data_path(newer.id), "r+b") as target:
                    shutil.copyfileobj(handle, target, 1024 * 1024)
                for field_name in ("base_id", "base_size", "base_limit"):
                    setattr(newer.manifest, field_name, getattr(older.manifest, field_name))
                newer.present = set(older.present)
            newer.save()
        except BaseException as exc:  # noqa: BLE001 - undone below, then raised
            failure = exc
        finally:
            newer.lock.release()
        if failure is not None:
            with self.lock:
                self._withdraw_version(newer)
            newer.discard()
            raise failure

    def _add_handle(self, spooled: SpoolFile, writable: bool, append: bool = False) -> int:
        handle = WriteHandle(spooled, writable, append)
        spooled.retain()
        with self.lock:
            self._opened.setdefault(spooled.id, []).append(handle)
        return self.handles.add(handle)

    # -- data ------------------------------------------------------------------------------

    def _reader_for(self, entry: Entry) -> StreamReader:
        return open_stream(self.backend, entry, self.tree.options, self.tree.read_cache)

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
            spooled.save(durable=True)  # the fetched blocks before the manifest saying so
        reader = self._bases.pop(spooled.id, None)
        if reader is not None:
            reader.close()

    def read(self, handle: WriteHandle, size: int, offset: int) -> bytes:
        """From the spool (an unchanged version: from its item, keeping nothing); ESTALE once
        the file was handed back (it left the mount)."""
        spooled = handle.file
        if spooled.handed_back:
            raise fail(errno.ESTALE)
        reader = self._bases.get(spooled.id)
        if not spooled.manifest.changed and reader is not None:
            return reader.read(offset, max(0, min(size, spooled.manifest.size - offset)))
        self._fetch(spooled, offset, offset + size)
        return spooled.pread(size, offset)

    def _charge_check(self, spooled: SpoolFile, size: int) -> None:
        """NoSpaceError if the version would not fit at ``size`` bytes (an unchanged one
        counts nothing yet)."""
        grow = size - spooled.charged
        if grow > 0:
            self.uploads.charge_check(grow)

    def write(self, fh: int, data: bytes, offset: int) -> int:
        """Into the open pending file ``fh``; EBADF for any other handle or one opened
        O_RDONLY."""
        handle = self.handles.get(fh)
        if not isinstance(handle, WriteHandle) or not handle.writable:
            raise fail(errno.EBADF)
        spooled = handle.file
        if spooled.handed_back:
            raise fail(errno.ESTALE)
        if offset + len(data) > MAX_FILE_SIZE:
            raise fail(errno.EFBIG)
        self._check_refused(spooled)
        try:
            if handle.append:
                offset = spooled.manifest.size
            self._charge_check(spooled, max(offset + len(data), spooled.manifest.size))
            self._fetch_edges(spooled, offset, offset + len(data))
            written = spooled.pwrite(data, offset)
        except Exception as exc:
            self._refuse(spooled, exc)
            raise
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
        if length > MAX_FILE_SIZE:
            raise fail(errno.EFBIG)
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            if not handle.writable:
                raise fail(errno.EBADF)
            self._truncate_file(handle.file, length)
            return
        fh = self.open(path, os.O_WRONLY | (0 if length else os.O_TRUNC))
        try:
            self._truncate_file(self.handles.get(fh).file, length)
        finally:
            self.release(fh)

    def _truncate_file(self, spooled: SpoolFile, length: int) -> None:
        """To ``length``; to 0, a refused version not closed yet starts clean. To the size an
        unchanged version has: no byte changes (nothing to upload), the mtime is now (as on
        Linux), set on the item at once."""
        if length or spooled.gone:
            self._check_refused(spooled)
        if not spooled.manifest.changed and length == spooled.manifest.size:
            self.names.retime(spooled, time.time())
            return
        try:
            self._charge_check(spooled, length)
            if length < spooled.manifest.base_limit and length % BLOCK:
                self._fetch(spooled, length // BLOCK * BLOCK, length)
            spooled.truncate(length)
        except Exception as exc:
            self._refuse(spooled, exc)
            raise
        spooled.manifest.mtime = time.time()
        if not length:
            with self.lock:
                self._refused.pop(spooled.id, None)

    # -- refused versions --------------------------------------------------------------------

    def _check_refused(self, spooled: SpoolFile) -> None:
        """The error of a refused version, for every later call on it."""
        refusal = self._refused.get(spooled.id)
        if refusal is not None:
            raise fail(refusal[0])

    def _refuse(self, spooled: SpoolFile, exc: BaseException) -> None:
        """A call that changes the version failed: the version is refused, unless it is still
        the accepted version or the item's bytes, unchanged (then only that call failed)."""
        if spooled.manifest.accepted or not spooled.manifest.changed or spooled.gone:
            return
        with self.lock:
            self._refused.setdefault(spooled.id, (errno_for(exc), refusal_reason(exc)))

    def _withdraw_version(self, spooled: SpoolFile) -> None:
        """With the lock held: a version that never was. The name shows what was there
        before: the running version it was to follow, else the items it hid (but for the
        items that version, landed since, replaced: those are deleted as its landing would
        have)."""
        older = self._older.pop(spooled.id, None)
        self.overlay.unshow(spooled)
        replaces = spooled.manifest.replaces
        if older is not None and self.overlay.successor.get(older.id) is spooled:
            del self.overlay.successor[older.id]
            older.manifest.replaces, spooled.manifest.replaces = replaces, []
            self.overlay.show(older, older.manifest.parent_id, older.manifest.name)
            return
        landed = older.manifest.landed_id if older is not None else None
        if landed not in replaces:
            landed = None
        doomed = [(i, self.overlay.folder_of(i)) for i in replaces if landed not in (None, i)]
        for item_id in replaces:
            if landed in (None, item_id):
                entry = self.overlay.replaced_entries.get(item_id)
                self.overlay.unhide(item_id)
                if entry is not None:
                    self.cache.added(entry)
        if doomed:
            self.deletions.add(doomed, spooled.manifest.path)

    def _drop_refused(self, spooled: SpoolFile, reason: str) -> None:
        """The first close of a refused version: withdrawn (unless done already, or it was
        dropped), its space freed, or the data it once accepted handed back. Its handles still
        open keep failing until the last is released."""
        with self.lock:
            if spooled.gone or self.landing.target(spooled) is None:
                return
            self._withdraw_version(spooled)
        if spooled.was_accepted:
            self.spool.hand_back(spooled, f"a write was refused: {reason}")
            return
        spooled.discard()
        self.uploads.refused(spooled.manifest.path, spooled.manifest.size, reason)

    # -- names and times ---------------------------------------------------------------------

    def unlink(self, path: str) -> bool:
        """Drop a pending file (True), or False: not pending (see :class:`PendingNames`)."""
        return self.names.unlink(path)

    def rename(self, old: str, new: str, flags: int) -> bool:
        """A rename involving a pending file (True), else False."""
        return self.names.rename(old, new, flags)

    def utimens(self, path: str, mtime_ns: int | None) -> None:
        self.names.utimens(path, mtime_ns)

    # -- what put.io does not store ----------------------------------------------------------

    @staticmethod
    def refuse_link(what: str) -> NoReturn:
        """put.io has no links: ``symlink`` and ``link`` are EPERM (as on vfat)."""
        raise fail(errno.EPERM)

    def attribute_target(self, path: str) -> tuple[str, bool]:
        """The id whose mode and owner chmod and chown at ``path`` change (a pending file's or
        the put.io item's) and whether it is a folder; ENOENT if nothing is at ``path``."""
        if (spooled := self.overlay.pending_at(path)) is not None:
            return pending_id(spooled), False
        entry = self.overlay.resolve(path)
        return entry.id, entry.is_dir

    # -- closing ---------------------------------------------------------------------------

    def flush(self, handle: WriteHandle) -> None:
        """close(2), before it returns: the version is accepted and durable (uploaded after
        the last release, or by the next mount should this one die); the error the user sees
        if it cannot be (a refused version: its error)."""
        if handle.writable:
            self._accept(handle.file)

    def fsync(self, handle: WriteHandle) -> None:
        """As :meth:`flush`: data, manifest and folder on disk, the version accepted."""
        if handle.writable:
            self._accept(handle.file)

    def _accept(self, spooled: SpoolFile) -> None:
        refusal = self._refused.get(spooled.id)
        if refusal is not None:
            self._drop_refused(spooled, refusal[1])
            raise fail(refusal[0])
        if not spooled.manifest.changed:
            return  # the item's bytes: nothing to keep (a time set on it is the item's already)
        if self.landing.target(spooled) is not None:  # else dropped: nothing to keep
            try:
                spooled.accept()
            except Exception as exc:
                self._refuse(spooled, exc)
                raise
        if self.uploads.quota_refused(spooled):
            raise fail(errno.ENOSPC)

    def release(self, fh: int) -> None:
        handle = self.handles.pop(fh)
        if isinstance(handle, WriteHandle):
            self._let_go(handle)

    def _let_go(self, handle: WriteHandle) -> None:
        spooled = handle.file
        spooled.let_go()
        with self.lock:
            handles = self._opened.get(spooled.id, [])
            if handle in handles:
                handles.remove(handle)
            if not handles:
                self._opened.pop(spooled.id, None)
        if handle.writable or not handles:
            self._close_if_unused(spooled)

    def _close_if_unused(self, spooled: SpoolFile) -> None:
        """No writable handle left: queue it, accepted (its flush made it so); forget it if
        it was dropped; drop it if it was refused."""
        with self.lock:
            handles = self._opened.get(spooled.id, [])
            if any(h.writable for h in handles):
                return
            dropped = spooled.id not in self.overlay.place
            hidden = spooled.manifest.name.startswith(HIDDEN_PREFIX)
            if dropped or hidden:
                self._refused.pop(spooled.id, None)
                self._older.pop(spooled.id, None)
                # A hidden one keeps its data until the unlink of its name has dropped it
                # (pending_names: it still opens for a while).
                if not handles and dropped and spooled.id not in self.overlay.successor:
                    self.uploads.withdraw(spooled)
                    if self.uploads.job_of(spooled) is None:
                        self._discard(spooled)
                return
            if not spooled.manifest.changed:
                self._give_back(spooled)
                if not handles:
                    self._discard(spooled)
                return
            if self.uploads.job_of(spooled) is not None:
                return
            refusal = self._refused.pop(spooled.id, None)
            if refusal is None:
                # Under the lock: an open for writing must not slip in between (it would
                # write into a version already queued for upload). Without a flush (a
                # truncate by path, a write through a mapping after close) this is the fsync.
                try:
                    spooled.accept()
                except OSError as exc:
                    refusal = (errno_for(exc), refusal_reason(exc))
            if refusal is None:
                self._older.pop(spooled.id, None)
                self.uploads.submit(spooled)
                return
        self._drop_refused(spooled, refusal[1])

    def _give_back(self, spooled: SpoolFile) -> None:
        """With the lock held: an unchanged version is withdrawn, and its item shows again
        where it was, with its number and with the mode and owner the version was given."""
        self._refused.pop(spooled.id, None)
        self._withdraw_version(spooled)
        for item_id in spooled.manifest.replaces:
            self.tree.attributes.landed(pending_id(spooled), item_id)  # its number back
            try:
                self.tree.attributes.permissions.carry(pending_id(spooled), item_id)
            except Exception as exc:  # noqa: BLE001 - only the mode set while open is lost
                log.error("%s: the mode and owner set while it was open could not be kept "
                          "(%s: %s)", spooled.manifest.path, type(exc).__name__, exc)
        spooled.manifest.replaces = []

    def _discard(self, spooled: SpoolFile) -> None:
        """Forget a version no handle has open: its data, and its reader of the item."""
        reader = self._bases.pop(spooled.id, None)
        if reader is not None:
            reader.close()
        spooled.discard()


class RefusedWrites:
    """The writes of a mount that does not write file contents (an API that cannot, ``-o ro``,
    or no spool): what :class:`WriteFiles` would change is refused as the account view says
    (``EROFS``, or ``ENOTSUP``), nothing is pending, and files open for reading only.

    No handle of such a mount is a :class:`WriteHandle` (only WriteFiles makes them), so the
    calls that take one are never made; they answer as for a handle this object does not
    hold."""

    def __init__(self, tree: AccountView) -> None:
        self.tree = tree
        self.overlay = Overlay(tree.cache)
        self.edits = TreeEdits(tree.backend, tree.cache, tree.options, self.overlay,
                               changes=tree.changes)

    def start(self) -> None:
        """Nothing to take up."""

    def destroy(self, wait: float) -> None:
        """Nothing to wait for."""

    @staticmethod
    def getattr(path: str, fh: int | None) -> None:
        """Nothing is pending: every item is put.io's."""
        return None

    def open(self, path: str, flags: int) -> int:
        return self.tree.open_entry(self.overlay.resolve(path), flags)

    def create(self, path: str, mode: int) -> NoReturn:
        self.tree.refuse("create")

    def mknod(self, path: str, mode: int) -> NoReturn:
        self.tree.refuse("mknod")

    def write(self, fh: int, data: bytes, offset: int) -> NoReturn:
        self.tree.refuse("write")

    def truncate(self, path: str, length: int, fh: int | None) -> NoReturn:
        self.tree.refuse("truncate")

    @staticmethod
    def read(handle: WriteHandle, size: int, offset: int) -> NoReturn:
        raise fail(errno.EBADF)

    @staticmethod
    def flush(handle: WriteHandle) -> None:
        """Nothing to keep."""

    @staticmethod
    def fsync(handle: WriteHandle) -> None:
        """Nothing to keep."""

    @staticmethod
    def release(fh: int) -> None:
        """Nothing to let go."""

    def utimens(self, path: str, mtime_ns: int | None) -> NoReturn:
        self.tree.refuse("utimens")

    def refuse_link(self, what: str) -> NoReturn:
        self.tree.refuse(what)

    def attribute_target(self, path: str) -> tuple[str, bool]:
        """The item at ``path`` (nothing is pending); its id and whether it is a folder."""
        entry = self.overlay.resolve(path)
        return entry.id, entry.is_dir

    @staticmethod
    def unlink(path: str) -> bool:
        """Nothing is pending: the tree edits unlink."""
        return False

    @staticmethod
    def rename(old: str, new: str, flags: int) -> bool:
        """Nothing is pending: the tree edits rename."""
        return False


def refusal_reason(exc: BaseException) -> str:
    """Why a version was refused, in a few words for the log and the uploads listing."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return NO_ROOM_ON_DISK
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__


def pending_id(spooled: SpoolFile) -> str:
    """The id a pending file shows under until its upload lands (the inode it shows is the
    file's it is a new version of: :meth:`Attributes.new_version`)."""
    return f"{PENDING_PREFIX}{spooled.id}"
