"""``/.putio/trash/``: what put.io's trash holds (API v2), read-only, restorable with ``mv``.

The folder lists every item of the trash under the name it had, by the mount's name rules
(:func:`putiofs.tree.names.assign` over the whole trash: two deleted ``a.txt`` are ``a.txt`` and
``a [#<id>].txt``; ``/`` shows as ``∕``), the same names ``putiofs trash list`` prints. An item
opens through the account tree's reading path, as search results do (put.io does not serve a
trashed file's bytes, so reading it fails as put.io answers: restore it first); each
top-level item adds the xattrs ``user.putio.deleted_at`` and ``user.putio.expires_at``
(``YYYY-MM-DD HH:MM:SS`` UTC) and ``user.putio.original_folder_id`` (the folder put.io
restores it to; v2 has no folder map, so the id, not a path).

The trash is listed once per ``refresh`` seconds (like the generated files), and at once anew
after a restore through the mount, so a delete through the mount shows here within that time.
Nothing in it can be written, created or deleted (EACCES for opening to write, EPERM for
mkdir, unlink, rmdir and renames within ``/.putio``); the one change allowed is renaming a
top-level item out of ``/.putio``, which restores it (see :meth:`TrashFolder.restore` and
:mod:`putiofs.front.operations`).
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable

from putiofs.api.backend import Entry
from putiofs.api.services import AccountServices, TrashItem
from putiofs.front.attributes import XATTR_PREFIX
from putiofs.front.errno_map import fail
from putiofs.tree import names


class TrashFolder:
    """Shown name -> (item, Entry) of the trash, listed anew after ``refresh`` seconds."""

    def __init__(self, services: AccountServices, *, refresh: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self.refresh = refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._named: dict[str, tuple[TrashItem, Entry]] = {}
        self._listed_at = float("-inf")

    def named(self) -> dict[str, tuple[TrashItem, Entry]]:
        with self._lock:
            if self._clock() - self._listed_at < self.refresh:
                return self._named
            found = self.services.list_trash()
            items = {entry.id: (item, entry) for item, entry in found}
            self._named = {shown: items[entry.id] for shown, entry in
                           names.assign(e for _, e in found).items()}
            self._listed_at = self._clock()
            return self._named

    def expire(self) -> None:
        with self._lock:
            self._listed_at = float("-inf")

    def find(self, shown: str) -> tuple[TrashItem, Entry]:
        names.check_length(shown)
        found = self.named().get(shown)
        if found is None:
            raise fail(errno.ENOENT)
        return found

    @staticmethod
    def xattrs(item: TrashItem) -> dict[str, str]:
        values = {"deleted_at": item.deleted_at, "expires_at": item.expires_at,
                  "original_folder_id": item.original_folder_id}
        return {XATTR_PREFIX + key: value for key, value in values.items() if value}

    def restore(self, shown: str) -> TrashItem:
        """Put the item back where put.io puts it (its original folder, or the root if that is
        gone); the item restored. ENOENT if it is no longer in the trash."""
        item, _ = self.find(shown)
        try:
            self.services.restore_from_trash([item.id])
        finally:
            self.expire()
        return item
