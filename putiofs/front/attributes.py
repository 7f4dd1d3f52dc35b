"""What ``stat`` and the extended attributes show for an item: one builder for the whole mount.

The account tree and the control folder ``/.putio`` (its search results are account items) both
describe entries through :class:`Attributes`, so an item looks the same wherever it is reached.

Decisions (see docs/mount.md):

* Times are put.io's where the API gives them (``Entry.mtime`` / ``ctime``; v2's
  ``updated_at`` / ``created_at``). Items of the v1 API carry no dates, so each shows the same
  fixed second (``MountOptions.mtime``, default 2010-01-01 UTC) with its nanoseconds taken from
  the item's id: stable across listings and mounts, so ``rsync -a`` and ``make`` see nothing
  change, yet a file replaced elsewhere by a different item of the same size does not keep the
  old item's cached pages (libfuse's ``auto_cache`` compares size and mtime). For the same
  reason a modification time put.io gives in whole seconds (v2's ``updated_at``) carries the
  id in its nanoseconds: two items of one size replaced within one second differ too.
* Folders show size 0 (their put.io size, the sum of the subtree, is the ``user.putio.size``
  xattr), so ``du`` does not count a subtree twice; they report ``st_nlink`` 1, the conventional
  "subfolder count unknown" (as btrfs does), so ``find`` never skips one on a link count.
* Modes and owners are the mount's defaults (files 0644, folders 0755, ``-o uid=,gid=``)
  except where chmod, chown, create or mkdir through the mount kept others
  (:mod:`putiofs.front.permissions`).
* ``st_ino`` is the put.io id + 1 (the root, id 0, is inode 1): stable across mounts. A file
  written through the mount keeps its number though put.io gives every version a new id
  (sqlite refuses a database whose inode changed since it opened it; git's index, ``rsync -H``
  and backup tools key on it): a pending version of an item shows the item's number
  (:meth:`Attributes.new_version`), the item its upload lands as the pending file's
  (:meth:`Attributes.landed`), and the version replaced a new one from then on, so no two
  live files share a number (a copy restored from the trash, an old version still open for
  reading). The nanoseconds of a time come with the number: a landing changes no time.
* That mapping lasts for the mount, unsaved: after a remount every item shows its own id + 1,
  as other mounts (``-o ro`` has no spool) and put.io's ids say. Only files written in the
  previous mount change number then, once, and they changed anyway (times too); saving it
  would cost a disk write per landing. At most ``IDENTITIES_MAX`` ids, the oldest go first.
* Changes made through the mount show at once, as POSIX says (:meth:`Attributes.changed`, which
  the FUSE front calls once per successful create, mknod, mkdir, unlink, rmdir, rename and
  utimens): the folder(s) of an entry added, removed or renamed get mtime and ctime now, a
  renamed item and one whose times were set get ctime now. put.io's API does not promise to
  move a folder's ``updated_at`` with its contents (the emulator does not), so these are kept
  for the mount as floors under put.io's times: a listing fetched again never moves a time
  back under a program that saw it, a later put.io time shows, and ``utimens`` sets a
  folder's mtime exactly, older too (``rsync -a``). At most ``CHANGED_MAX`` items.
* The root has no put.io time: it shows when the mount started, then changes as any folder.
* put.io keeps no access time: ``st_atime`` is the mtime, except one ``utimens`` set, shown
  for the mount (reads do not move it, as with ``noatime``).
"""

from __future__ import annotations

import hashlib
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from putiofs.api.backend import ROOT_ID, Entry
from putiofs.front.options import MountOptions
from putiofs.front.permissions import Permissions

BLOCK_SIZE = 1024 * 1024
#: The one extended-attribute namespace the mount has (``user.putio.*``, and the control
#: folder's). A name in another one (``security.selinux``, ``system.posix_acl_access``,
#: ``trusted.*``) is ``ENOTSUP``, as the kernel answers for a filesystem without a handler for
#: that namespace, not ``ENODATA``: ``ls -l`` (coreutils' ``file_has_acl`` and ``getfilecon``)
#: asks for the ACL and the SELinux label of every file, and stops asking for the rest of a
#: device once it has been told the device does not support them, so a listing of 10,000 files
#: costs two such FUSE calls instead of 20,000. ``getfacl``, ``cp -a`` and ``rsync -AX`` take
#: it as "no ACLs here" and use the mode, as on vfat.
XATTR_NAMESPACE = "user."
XATTR_PREFIX = XATTR_NAMESPACE + "putio."
NS_PER_SECOND = 1_000_000_000
#: How many ids show another number than their own (see the module docstring).
IDENTITIES_MAX = 100_000
#: How many items keep the times a change through the mount gave them.
CHANGED_MAX = 65_536


class Attributes:
    """Stat dicts (nanosecond times, as fusepy's ``use_ns`` expects) and xattrs of entries.

    Its records (carried numbers, changed times) have one writer at a time (its lock) and
    lock-free readers (a single ``get`` is atomic); a record is replaced in place, never
    taken out and put back, so a reader never misses one."""

    def __init__(self, options: MountOptions,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.options = options
        self._clock = clock
        self.started_ns: int = clock()
        self._lock = threading.Lock()
        #: id -> the inode it shows, where not its own (least recently set first)
        self._inodes: OrderedDict[str, int] = OrderedDict()
        #: inode -> (mtime floor or 0, ctime floor) in ns, of items changed through the mount
        self._changed: OrderedDict[int, tuple[int, int]] = OrderedDict()
        #: inode -> the access time ``utimens`` set, in ns
        self._atimes: OrderedDict[int, int] = OrderedDict()
        #: The modes and owners kept for items (a mount that writes is given its store).
        self.permissions = Permissions(None, options)

    # -- identity ---------------------------------------------------------------------------

    def inode(self, item_id: str) -> int:
        """The number item ``item_id`` shows: its own (:func:`inode`) or one carried to it."""
        carried = self._inodes.get(item_id)
        return inode(item_id) if carried is None else carried

    def new_version(self, old_id: str, new_id: str) -> None:
        """``new_id`` (a pending file) is a new version of the file ``old_id`` (a put.io item,
        or a pending file whose upload runs): it shows ``old_id``'s number, and ``old_id``
        a number of its own from now on."""
        with self._lock:
            self._carry(self.inode(old_id), new_id)
            self._carry(inode(f"{old_id}/replaced by/{new_id}"), old_id)

    def landed(self, pending_id: str, item_id: str) -> None:
        """The pending file ``pending_id`` is on put.io as ``item_id``: the item shows its
        number (and so the nanoseconds of its time: vim refuses to save a file whose time
        changed since it read it)."""
        with self._lock:
            self._carry(self.inode(pending_id), item_id)

    def _carry(self, number: int, item_id: str) -> None:
        self._inodes[item_id] = number
        self._inodes.move_to_end(item_id)
        while len(self._inodes) > IDENTITIES_MAX:
            self._inodes.popitem(last=False)

    # -- times changed through the mount ----------------------------------------------------

    def changed(self, number: int, *, contents: bool = False, mtime_set: bool = False) -> None:
        """The item of inode ``number`` was changed through the mount just now: its ctime is
        now at least; with ``contents`` (a folder an entry was added to, removed from or
        renamed in) its mtime too; with ``mtime_set`` (``utimens``) its mtime is what put.io
        or the pending file now says, however old."""
        now = self._clock()
        with self._lock:
            mtime_floor = self._changed.get(number, (0, 0))[0]
            if contents:
                mtime_floor = now
            elif mtime_set:
                mtime_floor = 0
            self._changed[number] = (mtime_floor, now)
            self._changed.move_to_end(number)
            while len(self._changed) > CHANGED_MAX:
                self._changed.popitem(last=False)

    def set_atime(self, number: int, atime_ns: int | None) -> None:
        """``utimens`` set the access time of inode ``number`` (None: now). put.io keeps no
        access times: the mount shows this one until it ends (at most ``CHANGED_MAX``), the
        mtime otherwise; reads do not move it (as ``noatime``)."""
        with self._lock:
            self._atimes[number] = self._clock() if atime_ns is None else atime_ns
            self._atimes.move_to_end(number)
            while len(self._atimes) > CHANGED_MAX:
                self._atimes.popitem(last=False)

    # -- attributes -------------------------------------------------------------------------

    def stat(self, entry: Entry) -> dict[str, Any]:
        number = self.inode(entry.id)
        mtime, ctime = self._times(entry, number)
        floors = self._changed.get(number)
        if floors is not None:
            mtime, ctime = max(mtime, floors[0]), max(ctime, floors[1])
        mode = (stat.S_IFDIR if entry.is_dir else stat.S_IFREG) | \
            self.permissions.default(entry.is_dir).mode
        size = 0 if entry.is_dir else entry.size
        uid, gid = self.options.uid, self.options.gid
        if (kept := self.permissions.kept(entry.id)) is not None:
            mode, uid, gid = stat.S_IFMT(mode) | kept.mode, kept.uid, kept.gid
            if kept.ctime is not None:
                ctime = max(ctime, round(kept.ctime * NS_PER_SECOND))
        return {
            "st_mode": mode,
            "st_ino": number,
            "st_nlink": 1,
            "st_uid": uid,
            "st_gid": gid,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_blksize": BLOCK_SIZE,
            "st_atime": self._atimes.get(number, mtime),
            "st_mtime": mtime,
            "st_ctime": ctime,
        }

    def _times(self, entry: Entry, number: int) -> tuple[int, int]:
        """(mtime, ctime) in nanoseconds: put.io's, else the fixed second (the root: the
        mount's start); a whole-second mtime gets the inode's nanoseconds."""
        mtime = entry.mtime if entry.mtime is not None else entry.ctime
        ctime = entry.ctime if entry.ctime is not None else entry.mtime
        if mtime is None or ctime is None:
            if entry.id == ROOT_ID:
                return self.started_ns, self.started_ns
            fixed = int(self.options.mtime) * NS_PER_SECOND + number % NS_PER_SECOND
            return fixed, fixed
        mtime_ns = round(mtime * NS_PER_SECOND)
        if mtime_ns % NS_PER_SECOND == 0:
            mtime_ns += number % NS_PER_SECOND
        return mtime_ns, round(ctime * NS_PER_SECOND)

    @staticmethod
    def xattrs(entry: Entry) -> dict[str, str]:
        """``user.putio.*`` name → value; only the ones the item has."""
        if entry.id == ROOT_ID:
            values: dict[str, str | None] = {"id": entry.id, "type": "folder"}
        else:
            values = {
                "id": entry.id,
                "type": entry.type,
                "size": str(entry.size),
                "crc32": entry.crc32,
                "download_url": entry.download_url,
                "screenshot_url": entry.screenshot_url,
                "thumb_url": entry.thumb_url,
            }
        return {XATTR_PREFIX + key: value for key, value in values.items() if value}


def inode(item_id: str) -> int:
    """An item's own number: put.io's id + 1 (root 0 → inode 1); any other id (a pending file's,
    a future backend's) is hashed above every put.io id."""
    if item_id.isdigit():
        return int(item_id) + 1
    digest = hashlib.blake2b(item_id.encode("utf-8"), digest_size=7).digest()
    return (1 << 60) | int.from_bytes(digest, "big")
