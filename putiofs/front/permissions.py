"""POSIX modes and owners over put.io, which stores neither: what chmod, chown, create and mkdir
keep, and what an item shows.

The kernel enforces them (the mount passes ``default_permissions``): it checks every access
against the mode, owner and group that ``getattr`` reports, refuses a chmod or chown the caller
may not make (``EPERM``) before the mount sees it, strips the setgid bit where the caller is
not in the group, and clears setuid/setgid on a write or chown by sending a chmod. So the mount
checks nothing itself: it keeps what it is told, in the account's :class:`ModeStore`.

Decisions (see docs/mount.md):

* Items never changed through the mount show what they always did: files 0644, folders 0755
  (0666 and 0777 less ``-o umask=``, default 022; less the write bits on a read-only mount),
  owned by the mount's ``uid``/``gid`` (``-o uid=,gid=``, default the mounting user). Only
  items that differ from that have a row, so a ``cp -a`` of 0644 files keeps nothing.
* A new file or folder is owned by the process that made it (libfuse's request context), with
  the mode it was made with (the kernel applied the umask). In a setgid folder it gets the
  folder's group, and a new folder the setgid bit too, as Linux does.
* A rename keeps the item's attributes (put.io keeps its id). A new version of a file (open for
  writing, truncate) starts with the file's attributes, and the item its upload lands as takes
  them over (:meth:`carry`).
* chmod and chown set the item's ctime to now (kept with the row; an item back at the defaults
  shows put.io's ctime again).
* Without a store (a mount that does not write: v1, ``-o ro``) everything shows the defaults.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Iterable

from putiofs.api.backend import ROOT_ID, Backend, Entry
from putiofs.api.errors import NotFoundError, PutioError
from putiofs.front.options import MountOptions
from putiofs.tree.cache import MetadataCache
from putiofs.write.modes import Kept, ModeStore, Pruner
from putiofs.write.spool import Spool

#: The modes items start from, before the mount's umask (``MountOptions.umask``).
FILE_MODE = 0o666
FOLDER_MODE = 0o777
_WRITE_BITS = 0o222
#: chown's "leave it as it is" (-1, as libfuse 2's bindings pass it unsigned too).
UNCHANGED = (-1, 0xFFFFFFFF)
#: The id a pending file shows (and is kept) under until its upload lands: this + its spool id.
PENDING_PREFIX = "pending-"


class Permissions:
    """The modes and owners of one mount's items. ``caller()`` is the (uid, gid) of the process
    whose request is being served (default: the mount's owner); ``exists`` (see
    :func:`still_there`) lets the store's :class:`Pruner` drop the rows of items gone."""

    def __init__(self, store: ModeStore | None, options: MountOptions,
                 caller: Callable[[], tuple[int, int]] | None = None,
                 exists: Callable[[str], bool | None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.options = options
        self.caller = caller or (lambda: (options.uid, options.gid))
        self.pruner = Pruner(store, exists) if store is not None and exists else None
        self._clock = clock

    @property
    def keeps(self) -> bool:
        """Are chmod and chown kept (a mount that writes), or refused?"""
        return self.store is not None

    def start(self) -> None:
        """Mounted: the pruner starts."""
        if self.pruner is not None:
            self.pruner.start()

    def close(self) -> None:
        """Unmounted: the pruner stops, the store is closed."""
        if self.pruner is not None:
            self.pruner.stop()
        if self.store is not None:
            self.store.close()

    def default(self, is_dir: bool) -> Kept:
        mode = (FOLDER_MODE if is_dir else FILE_MODE) & ~self.options.umask
        if self.options.read_only:
            mode &= ~_WRITE_BITS
        return Kept(mode, self.options.uid, self.options.gid)

    def kept(self, item_id: str) -> Kept | None:
        """The item's row (None: it shows the defaults)."""
        return None if self.store is None else self.store.get(item_id)

    def of(self, item_id: str, is_dir: bool) -> Kept:
        return self.kept(item_id) or self.default(is_dir)

    # -- changes -----------------------------------------------------------------------------

    def created(self, item_id: str, is_dir: bool, mode: int, parent: Entry) -> None:
        """A new file or folder made by the caller with ``mode`` in ``parent``."""
        uid, gid = self.caller()
        bits = stat.S_IMODE(mode)
        folder = self.of(parent.id, True)
        if folder.mode & stat.S_ISGID:
            gid = folder.gid
            if is_dir:
                bits |= stat.S_ISGID
        self._set(item_id, is_dir, Kept(bits, uid, gid))

    def chmod(self, item_id: str, is_dir: bool, mode: int) -> None:
        now = self.of(item_id, is_dir)
        self._set(item_id, is_dir, Kept(stat.S_IMODE(mode), now.uid, now.gid, self._clock()))

    def chown(self, item_id: str, is_dir: bool, uid: int, gid: int) -> None:
        now = self.of(item_id, is_dir)
        self._set(item_id, is_dir, Kept(now.mode, now.uid if uid in UNCHANGED else uid,
                                        now.gid if gid in UNCHANGED else gid, self._clock()))

    def _set(self, item_id: str, is_dir: bool, kept: Kept) -> None:
        if self.store is None:
            return
        if kept._replace(ctime=None) == self.default(is_dir):
            self.store.drop([item_id])
        else:
            self.store.put(item_id, kept)

    def copy(self, source: str, target: str) -> None:
        """``target`` (a new version of ``source``) starts with ``source``'s attributes."""
        if self.store is not None:
            self.store.copy(source, target)

    def carry(self, source: str, target: str, gone: Iterable[str] = ()) -> None:
        """``target`` took ``source``'s place (a pending file landed as that item); the items
        of ``gone`` (the versions it replaced) are deleted."""
        if self.store is not None:
            self.store.move(source, target, dropping=gone)

    def forget(self, item_id: str | None) -> None:
        """The item was deleted."""
        if self.store is not None and item_id is not None:
            self.store.drop([item_id])


def still_there(backend: Backend, cache: MetadataCache,
                spool: Spool) -> Callable[[str], bool | None]:
    """For the store's pruner: is this item (or pending file) still there? A held listing that
    has it answers without asking put.io; None if put.io cannot say now."""

    def exists(item_id: str) -> bool | None:
        if item_id.startswith(PENDING_PREFIX):
            return spool.manifest_path(item_id[len(PENDING_PREFIX):]).exists()
        if item_id == ROOT_ID or cache.holders(item_id):
            return True
        try:
            backend.lookup(item_id)
        except NotFoundError:
            return False
        except PutioError:
            return None
        return True

    return exists
