"""The account's own tree as the mount shows it: attributes, listings, reading, refusals.

Paths in, stat dicts, names and bytes out; exceptions of the layers below go up as they are
(the FUSE front, :mod:`putiofs.front.operations`, turns them into errno values). Changing the tree
(mkdir, rename, unlink, rmdir) is :mod:`putiofs.front.tree_edits`; ``/.putio`` is
:mod:`putiofs.front.control.folder`.

Decision: file contents are written only where the API can (``backend.capabilities
.write_contents``; v1 has no upload) and the mount has a spool to keep them in until put.io has
them (:mod:`putiofs.front.writes`). Where the API cannot, create, write, truncate, mknod,
symlink, link, chmod, chown and utimens are refused here with ``EROFS`` ("Read-only file
system"); where it could but the mount was built without a spool, with ``ENOTSUP`` rather than
claim the file system is read-only (``-o ro``: always ``EROFS``). Each refusal is logged once at
debug level.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

from putiofs.api.backend import Backend, Entry, Quota
from putiofs.api.errors import PutioError
from putiofs.front.attributes import XATTR_PREFIX, Attributes
from putiofs.front.errno_map import ENODATA, fail
from putiofs.front.handles import HandleTable
from putiofs.front.mp4_xattr import NAME as MP4_XATTR
from putiofs.front.mp4_xattr import Mp4Attribute
from putiofs.front.options import MountOptions
from putiofs.read.disk_cache import ReadCache
from putiofs.read.reader import StreamReader, open_stream
from putiofs.tree import names
from putiofs.tree.cache import MAX_ENTRIES, MetadataCache, split_path
from putiofs.tree.changes import ChangeFeed
from putiofs.tree.walk_ahead import WalkReadAhead
from putiofs.write.landing import ASIDE_PREFIX
from putiofs.write.overlay import HIDDEN_PREFIX

log = logging.getLogger("putiofs.front")

#: The block statfs counts the account's size and free space in (rclone's, and the page size):
#: sizes are shown rounded down to it, at most 4 KiB less than put.io says.
STATFS_BLOCK = 4096


@dataclass
class OpenFile:
    """An account file open for reading; ``reader`` is None for an empty file. ``path``: the
    path it was opened by (the FUSE front sets it) and ``opened_at`` (unix time) are what
    ``putiofs status`` shows of it."""

    entry: Entry
    reader: StreamReader | None
    path: str = ""
    opened_at: float = field(default_factory=time.time)


def hidden_by_the_mount(name: str) -> bool:
    """A put.io name the mount never shows as itself (an item set aside while it is replaced,
    one libfuse hid): its changes are not told to ``--on-change``."""
    return name.startswith((ASIDE_PREFIX, HIDDEN_PREFIX))


class AccountView:
    """Reading the account through a :class:`~putiofs.tree.cache.MetadataCache`."""

    def __init__(self, backend: Backend, options: MountOptions | None = None, *,
                 cache: MetadataCache | None = None, handles: HandleTable | None = None,
                 mp4: Mp4Attribute | None = None, read_cache: ReadCache | None = None) -> None:
        self.backend = backend
        #: The persistent read cache (None: off); closed by :meth:`destroy`.
        self.read_cache = read_cache
        self.options = options or MountOptions()
        self.cache = cache or MetadataCache(
            backend, ttl=self.options.cache_ttl, stale_ttl=self.options.stale_ttl,
            max_entries=self.options.cache_entries or MAX_ENTRIES)
        self.walks: WalkReadAhead | None = None
        if self.options.read_ahead_folders and WalkReadAhead.wanted(self.cache.ttl):
            self.walks = WalkReadAhead(self.cache, call_deadline=self.options.call_deadline)
        self.attributes = Attributes(self.options)
        #: What changes (``--on-change``): inert until the mount attaches a runner.
        self.changes = ChangeFeed(self.cache)
        self.changes.ignore_name = hidden_by_the_mount
        self.handles = handles or HandleTable()
        self.mp4 = mp4
        self._quota: tuple[float, Quota | None] | None = None
        self._refusals_logged: set[str] = set()
        self._refusals_lock = threading.Lock()

    # -- attributes -----------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        handle = self.handles.get(fh)
        if isinstance(handle, OpenFile):
            return self.attributes.stat(handle.entry)
        return self.attributes.stat(self.cache.resolve(path))

    def readdir(self, path: str) -> list[str]:
        """The shown names of a folder's children (without ``.`` and ``..``)."""
        entry = self.cache.resolve(path)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        shown = list(self.cache.listing(entry.id).by_name)
        if self.walks is not None:
            parts = split_path(path)
            self.walks.listed(entry, parts[-1] if parts else "")
        return shown

    def access(self, path: str, amode: int) -> int:
        """As the mode bits say. W_OK on a file succeeds (``rm`` would otherwise ask before
        deleting every "write-protected" file); writing its contents still fails."""
        entry = self.cache.resolve(path)
        if amode & os.W_OK and self.options.read_only:
            raise fail(errno.EROFS)
        if amode & os.X_OK and not entry.is_dir:
            raise fail(errno.EACCES)
        return 0

    def statfs(self) -> dict[str, int]:
        """The account's size and free space, in blocks of :data:`STATFS_BLOCK` bytes.

        ``f_bsize`` and ``f_frsize`` are the same, so that every reader of statvfs gets the
        account's size: df multiplies ``f_blocks`` by ``f_frsize``, GIO (GTK file managers'
        "Free space") by ``f_bsize``. With ``f_bsize`` at 1 MiB a 50 GiB account showed as
        12.5 TiB there. The I/O size hint that cp and du use is ``st_blksize`` of each file
        (:data:`~putiofs.front.attributes.BLOCK_SIZE`), not this.
        """
        quota = self._cached_quota()
        total = quota.total // STATFS_BLOCK if quota else 0
        free = min(quota.available // STATFS_BLOCK, total) if quota else 0
        return {
            "f_bsize": STATFS_BLOCK,
            "f_frsize": STATFS_BLOCK,
            "f_blocks": total,
            "f_bfree": free,
            "f_bavail": free,
            "f_files": 0,
            "f_ffree": 0,
            "f_namemax": names.NAME_MAX,
        }

    def forget_quota(self) -> None:
        """statfs asks put.io again at its next call (the last answer stays, should that
        fail)."""
        if self._quota is not None:
            self._quota = (float("-inf"), self._quota[1])

    def _cached_quota(self) -> Quota | None:
        now = time.monotonic()
        if self._quota is not None and now - self._quota[0] < self.options.cache_ttl:
            return self._quota[1]
        try:
            quota = self.backend.quota()
        except PutioError as exc:
            if self._quota is not None:
                return self._quota[1]
            log.warning("quota unavailable: %s", type(exc).__name__)
            return None
        self._quota = (now, quota)
        return quota

    def getxattr(self, path: str, name: str) -> bytes:
        if not name.startswith(XATTR_PREFIX):
            # another user.* name: answer without resolving the path
            raise fail(ENODATA)
        entry = self.cache.resolve(path)
        if name == MP4_XATTR and self.mp4 is not None and self.mp4.applies(entry):
            return self.mp4.value(entry).encode("utf-8")
        value = self.attributes.xattrs(entry).get(name)
        if value is None:
            raise fail(ENODATA)
        return value.encode("utf-8")

    def listxattr(self, path: str) -> list[str]:
        entry = self.cache.resolve(path)
        names = list(self.attributes.xattrs(entry))
        if self.mp4 is not None and self.mp4.applies(entry):
            names.append(MP4_XATTR)  # listed without asking put.io; read lazily
        return sorted(names)

    # -- reading --------------------------------------------------------------------------

    def open_entry(self, entry: Entry, flags: int) -> int:
        """Open a file for reading (a path's, or a /.putio/search result's); the handle."""
        if entry.is_dir:
            raise fail(errno.EISDIR)
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC:
            self.refuse("open for writing")
        reader = None
        if entry.size > 0:
            if self.read_cache is None or not self.read_cache.holds(entry):
                self.backend.stream_url(entry)  # fail at open, not at the first read
            reader = open_stream(self.backend, entry, self.options, self.read_cache)
        return self.handles.add(OpenFile(entry, reader))

    def read(self, handle: OpenFile, size: int, offset: int) -> bytes:
        if handle.reader is None or offset >= handle.entry.size:
            return b""
        return handle.reader.read(offset, size)

    def release(self, fh: int) -> None:
        handle = self.handles.pop(fh)
        if isinstance(handle, OpenFile) and handle.reader is not None:
            handle.reader.close()

    def destroy(self) -> None:
        if self.walks is not None:
            self.walks.close()
        for handle in self.handles.take_all(OpenFile):
            if handle.reader is not None:
                handle.reader.close()
        if self.read_cache is not None:
            self.read_cache.close()

    # -- refused --------------------------------------------------------------------------

    def refuse(self, what: str) -> NoReturn:
        """Raise EROFS (the API cannot write contents, or ``-o ro``) or ENOTSUP (it could, but
        this mount has no spool to write them in)."""
        writable = self.backend.capabilities.write_contents and not self.options.read_only
        with self._refusals_lock:
            first = what not in self._refusals_logged
            self._refusals_logged.add(what)
        if first:
            log.debug("%s refused: %s", what,
                      "this mount has no spool to write contents in (ENOTSUP)" if writable
                      else "this put.io API cannot write file contents (EROFS)")
        raise fail(errno.ENOTSUP if writable else errno.EROFS)
