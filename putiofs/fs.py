"""The FUSE operations: a put.io account as a directory tree.

This class speaks fusepy's high-level API (paths in, stat dicts and bytes out) but does not import
the binding: FUSE errors are plain ``OSError(errno)``, which fusepy passes to the kernel as they
are. That keeps it callable directly in tests on machines without libfuse. Every method is
wrapped by :func:`putiofs.fuse_errors.fuse_call`, the one place where exceptions from the layers
below become errno values. The tree-changing methods live in :mod:`putiofs.tree_ops`.

Decisions (see README, "How the mount behaves"):

* Items of the v1 API carry no dates, so every item shows the same fixed second (``mtime``,
  default 2010-01-01 UTC), its nanoseconds taken from the item's id: stable across listings and
  mounts, so ``rsync -a`` and ``make`` see nothing change, yet a file replaced elsewhere by a
  different item of the same size does not keep the old item's cached pages. Folders show
  size 0 (their put.io size, the sum of the subtree, is the ``user.putio.size`` xattr), so
  ``du`` does not count a subtree twice.
* ``st_ino`` is the put.io id (+1, so the root, id 0, is inode 1): stable across mounts.
* Folders report ``st_nlink`` 1, the conventional "subfolder count unknown" (as btrfs does), so
  ``find`` never skips a folder on the strength of a link count.
* File contents cannot be written through the v1 API (it has no upload): create, write,
  truncate, mknod, symlink, link, chmod, chown and utimens answer ``EROFS``
  ("Read-only file system"), logged once each at debug level. Names can change: mkdir, rename,
  unlink and rmdir work with POSIX meaning (:mod:`putiofs.tree_ops`).
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from putiofs import names
from putiofs.backend import Backend, Entry, Quota
from putiofs.cache import ROOT, MetadataCache
from putiofs.errors import (
    PutioError,
)
from putiofs.fuse_errors import ENODATA, fail, fail_fast_repeats, fuse_call
from putiofs.reader import StreamReader
from putiofs.tree_ops import TreeChanges

if TYPE_CHECKING:
    from putiofs.control import ControlFolder

log = logging.getLogger(__name__)

DEFAULT_MTIME = 1262304000  # 2010-01-01T00:00:00Z
BLOCK_SIZE = 1024 * 1024
XATTR_PREFIX = "user.putio."

@dataclass
class MountOptions:
    """What the mount shows and how long it trusts what it saw."""

    uid: int = -1
    gid: int = -1
    read_only: bool = False
    mtime: float = DEFAULT_MTIME
    cache_ttl: float = 30.0
    stale_ttl: float = 600.0
    read_timeout: float = 30.0
    call_deadline: float = 60.0
    show_control: bool = False

    def __post_init__(self) -> None:
        if self.uid < 0:
            self.uid = os.getuid()
        if self.gid < 0:
            self.gid = os.getgid()


@dataclass
class OpenFile:
    entry: Entry
    reader: StreamReader | None


class PutioFS(TreeChanges):
    """fusepy operations over a :class:`~putiofs.backend.Backend`."""

    use_ns = True

    def __init__(self, backend: Backend, options: MountOptions | None = None,
                 cache: MetadataCache | None = None,
                 control: ControlFolder | None = None) -> None:
        self.backend = backend
        self.options = options or MountOptions()
        self.cache = cache or MetadataCache(backend, ttl=self.options.cache_ttl,
                                            stale_ttl=self.options.stale_ttl)
        self._handles: dict[int, OpenFile] = {}
        self._handle_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._refusals_logged: set[str] = set()
        self._quota: tuple[float, Quota | None] | None = None
        self.control = control  # the /.putio folder (putiofs.control), if any
        if control is not None:
            control.bind(self)

    def __call__(self, op: str, *args: Any) -> Any:
        method = getattr(self, op, None)
        if method is None:
            raise fail(errno.ENOSYS)
        return method(*args)

    # -- attributes -----------------------------------------------------------------------

    def stat_of(self, entry: Entry) -> dict[str, Any]:
        # The same second for every item, but the item's own nanoseconds: libfuse's auto_cache
        # keeps a path's cached pages while size and mtime stay the same, so a file replaced
        # elsewhere by another of the same size must not look unchanged.
        mtime = int(self.options.mtime) * 1_000_000_000 + _inode(entry.id) % 1_000_000_000
        if entry.is_dir:
            mode = stat.S_IFDIR | (0o555 if self.options.read_only else 0o755)
            size = 0
        else:
            mode = stat.S_IFREG | (0o444 if self.options.read_only else 0o644)
            size = entry.size
        return {
            "st_mode": mode,
            "st_ino": _inode(entry.id),
            "st_nlink": 1,
            "st_uid": self.options.uid,
            "st_gid": self.options.gid,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_blksize": BLOCK_SIZE,
            "st_atime": mtime,
            "st_mtime": mtime,
            "st_ctime": mtime,
        }

    @fuse_call
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if self._controls(path):
            return self.control.getattr(path, fh)  # type: ignore[union-attr]
        if fh is not None and fh in self._handles:
            return self.stat_of(self._handles[fh].entry)
        return self.stat_of(self.cache.resolve(path))

    @fuse_call
    def readdir(self, path: str, fh: int | None = None) -> list[str]:
        if self._controls(path):
            return self.control.readdir(path)  # type: ignore[union-attr]
        entry = self.cache.resolve(path)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        shown = set(self.cache.listing(entry.id).by_name)
        if entry is ROOT and self.control is not None:
            shown.update(self.control.root_names())
        return [".", "..", *sorted(shown)]

    def direct_io(self, fh: int) -> bool:
        """Should the kernel bypass its page cache and cached size for this open handle?
        (mount.py asks after every open.) Only for the generated /.putio files."""
        return self.control is not None and self.control.direct_io(fh)

    def _controls(self, path: str) -> bool:
        """Is ``path`` in the control folder /.putio (handled by putiofs.control)?"""
        return self.control is not None and self.control.owns(path)

    def _guard_control(self, *paths: str) -> None:
        """Names in /.putio are fixed: mkdir, rename, unlink and rmdir there are EPERM."""
        if any(self._controls(path) for path in paths):
            raise fail(errno.EPERM)

    @fuse_call
    def access(self, path: str, amode: int) -> int:
        """As the mode bits say. W_OK on a file succeeds (``rm`` would otherwise ask before
        deleting every "write-protected" file); writing its contents still fails with EROFS."""
        if self._controls(path):
            return self.control.access(path, amode)  # type: ignore[union-attr]
        entry = self.cache.resolve(path)
        if amode & os.W_OK and self.options.read_only:
            raise fail(errno.EROFS)
        if amode & os.X_OK and not entry.is_dir:
            raise fail(errno.EACCES)
        return 0

    @fuse_call
    def statfs(self, path: str) -> dict[str, int]:
        quota = self._cached_quota()
        frsize = 4096
        total = quota.total // frsize if quota else 0
        free = min(quota.available // frsize, total) if quota else 0
        return {
            "f_bsize": BLOCK_SIZE,
            "f_frsize": frsize,
            "f_blocks": total,
            "f_bfree": free,
            "f_bavail": free,
            "f_files": 0,
            "f_ffree": 0,
            "f_namemax": names.NAME_MAX,
        }

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

    # -- extended attributes --------------------------------------------------------------

    def xattrs_of(self, entry: Entry) -> dict[str, str]:
        values = {
            "id": entry.id,
            "type": entry.type,
            "size": str(entry.size),
            "download_url": entry.download_url,
            "screenshot_url": entry.screenshot_url,
            "thumb_url": entry.thumb_url,
        }
        if entry is ROOT:
            values = {"id": entry.id, "type": "folder"}
        return {XATTR_PREFIX + key: value for key, value in values.items() if value}

    @fuse_call
    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        if self._controls(path):
            return self.control.getxattr(path, name)  # type: ignore[union-attr]
        if not name.startswith(XATTR_PREFIX):
            # ``ls -l`` asks for security.selinux and system.posix_acl_access on every file:
            # answer without resolving the path.
            raise fail(ENODATA)
        value = self.xattrs_of(self.cache.resolve(path)).get(name)
        if value is None:
            raise fail(ENODATA)
        return value.encode("utf-8")

    @fuse_call
    def listxattr(self, path: str) -> list[str]:
        if self._controls(path):
            return self.control.listxattr(path)  # type: ignore[union-attr]
        return sorted(self.xattrs_of(self.cache.resolve(path)))

    # -- reading --------------------------------------------------------------------------

    @fuse_call
    def open(self, path: str, flags: int) -> int:
        if self._controls(path):
            return self.control.open(path, flags)  # type: ignore[union-attr]
        return self.open_entry(self.cache.resolve(path), flags)

    def open_entry(self, entry: Entry, flags: int) -> int:
        """Open a file for reading (a path's, or a /.putio/search result's); the handle."""
        if entry.is_dir:
            raise fail(errno.EISDIR)
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC:
            self._refuse("open for writing")
        reader = None
        if entry.size > 0:
            self.backend.stream_url(entry)  # fail at open, not at the first read

            def url_provider(refresh: bool) -> str:
                return self.backend.stream_url(entry, refresh_token=refresh)

            reader = StreamReader(self.backend.http_session, url_provider, entry.size,
                                  read_timeout=self.options.read_timeout,
                                  deadline=self.options.call_deadline,
                                  label=f"item {entry.id}")
        with self._lock:
            fh = next(self._handle_ids)
            self._handles[fh] = OpenFile(entry, reader)
        return fh

    @fail_fast_repeats
    @fuse_call
    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        if self.control is not None and self.control.has_handle(fh):
            return self.control.read(path, size, offset, fh)
        handle = self._handles.get(fh)
        if handle is None:
            raise fail(errno.EBADF)
        if handle.reader is None or offset >= handle.entry.size:
            return b""
        return handle.reader.read(offset, size)

    @fuse_call
    def release(self, path: str, fh: int) -> int:
        if self.control is not None and self.control.has_handle(fh):
            return self.control.release(path, fh)
        with self._lock:
            handle = self._handles.pop(fh, None)
        if handle is not None and handle.reader is not None:
            handle.reader.close()
        return 0

    @fuse_call
    def flush(self, path: str, fh: int) -> int:
        if self.control is not None and self.control.has_handle(fh):
            return self.control.flush(path, fh)
        return 0

    def destroy(self, path: str) -> None:
        if self.control is not None:
            self.control.destroy()
        with self._lock:
            handles = list(self._handles.values())
            self._handles.clear()
        for handle in handles:
            if handle.reader is not None:
                handle.reader.close()

    # -- refused: file contents cannot be written through the v1 API -----------------------

    def _refuse(self, what: str) -> None:
        if what not in self._refusals_logged:
            self._refusals_logged.add(what)
            log.debug("%s refused: the put.io v1 API has no upload (EROFS)", what)
        raise fail(errno.EROFS)

    @fuse_call
    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._refuse("create")
        return 0

    @fuse_call
    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        if self._controls(path):
            return self.control.write(path, data, offset, fh)  # type: ignore[union-attr]
        self._refuse("write")
        return 0

    @fuse_call
    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        if self._controls(path):
            return self.control.truncate(path, length, fh)  # type: ignore[union-attr]
        self._refuse("truncate")
        return 0

    @fuse_call
    def mknod(self, path: str, mode: int, dev: int) -> int:
        self._refuse("mknod")
        return 0

    @fuse_call
    def symlink(self, target: str, source: str) -> int:
        self._refuse("symlink")
        return 0

    @fuse_call
    def link(self, target: str, source: str) -> int:
        self._refuse("link")
        return 0

    @fuse_call
    def chmod(self, path: str, mode: int) -> int:
        self._refuse("chmod")
        return 0

    @fuse_call
    def chown(self, path: str, uid: int, gid: int) -> int:
        self._refuse("chown")
        return 0

    @fuse_call
    def utimens(self, path: str, times: Any = None) -> int:
        self._refuse("utimens")
        return 0

    @fuse_call
    def setxattr(self, path: str, name: str, value: bytes, options: int,
                 position: int = 0) -> int:
        raise fail(errno.ENOTSUP)

    @fuse_call
    def removexattr(self, path: str, name: str) -> int:
        raise fail(errno.ENOTSUP)


def _inode(item_id: str) -> int:
    """put.io's id + 1 (root 0 → inode 1); a non-numeric id (a future backend) is hashed."""
    if item_id.isdigit():
        return int(item_id) + 1
    digest = hashlib.blake2b(item_id.encode("utf-8"), digest_size=7).digest()
    return (1 << 60) | int.from_bytes(digest, "big")
