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
* ``st_ino`` is the put.io id + 1 (the root, id 0, is inode 1): stable across mounts.
"""

from __future__ import annotations

import hashlib
import stat
from typing import Any

from putiofs.api.backend import ROOT_ID, Entry
from putiofs.front.options import MountOptions
from putiofs.front.permissions import Permissions

BLOCK_SIZE = 1024 * 1024
XATTR_PREFIX = "user.putio."
_NS = 1_000_000_000
#: How many landed files keep the nanoseconds they showed while pending.
CARRIED_MAX = 8192


class Attributes:
    """Stat dicts (nanosecond times, as fusepy's ``use_ns`` expects) and xattrs of entries."""

    def __init__(self, options: MountOptions) -> None:
        self.options = options
        #: item id -> the nanoseconds its whole-second mtime shows, where not its inode's
        #: (a plain dict: one writer, lock-free readers; the oldest go past CARRIED_MAX)
        self._carried_ns: dict[str, int] = {}
        #: The modes and owners kept for items (a mount that writes is given its store).
        self.permissions = Permissions(None, options)

    def carry_times(self, old_id: str, new_id: str) -> None:
        """Item ``new_id`` took the place of ``old_id`` (a file written through the mount whose
        upload landed): it shows ``old_id``'s nanoseconds, so its time does not change under
        a program that holds the file (vim refuses to save a file whose time changed since
        it read it)."""
        self._carried_ns[new_id] = self._carried_ns.get(old_id, inode(old_id) % _NS)
        while len(self._carried_ns) > CARRIED_MAX:
            self._carried_ns.pop(next(iter(self._carried_ns)), None)

    def stat(self, entry: Entry) -> dict[str, Any]:
        mtime, ctime = self._times(entry)
        if entry.is_dir:
            mode = stat.S_IFDIR | (0o555 if self.options.read_only else 0o755)
            size = 0
        else:
            mode = stat.S_IFREG | (0o444 if self.options.read_only else 0o644)
            size = entry.size
        uid, gid = self.options.uid, self.options.gid
        if (kept := self.permissions.kept(entry.id)) is not None:
            mode, uid, gid = stat.S_IFMT(mode) | kept.mode, kept.uid, kept.gid
            if kept.ctime is not None:
                ctime = max(ctime, round(kept.ctime * _NS))
        return {
            "st_mode": mode,
            "st_ino": inode(entry.id),
            "st_nlink": 1,
            "st_uid": uid,
            "st_gid": gid,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_blksize": BLOCK_SIZE,
            "st_atime": mtime,
            "st_mtime": mtime,
            "st_ctime": ctime,
        }

    def _times(self, entry: Entry) -> tuple[int, int]:
        """(mtime, ctime) in nanoseconds: put.io's, else the fixed second; a whole-second
        mtime gets the id's nanoseconds."""
        mtime = entry.mtime if entry.mtime is not None else entry.ctime
        ctime = entry.ctime if entry.ctime is not None else entry.mtime
        if mtime is None or ctime is None:
            fixed = int(self.options.mtime) * _NS + inode(entry.id) % _NS
            return fixed, fixed
        mtime_ns = round(mtime * _NS)
        if mtime_ns % _NS == 0:
            carried = self._carried_ns.get(entry.id)
            mtime_ns += inode(entry.id) % _NS if carried is None else carried
        return mtime_ns, round(ctime * _NS)

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
    """put.io's id + 1 (root 0 → inode 1); a non-numeric id (a future backend) is hashed."""
    if item_id.isdigit():
        return int(item_id) + 1
    digest = hashlib.blake2b(item_id.encode("utf-8"), digest_size=7).digest()
    return (1 << 60) | int.from_bytes(digest, "big")
