"""The control folder ``/.putio/``: the rest of the API inside the mount.

::

    /.putio/transfers       the active transfers (id, percent, status, name)
    /.putio/messages        the dashboard messages
    /.putio/subscriptions   the RSS subscriptions
    /.putio/user            the account and its friends
    /.putio/add             write links here (one per line) to start transfers
    /.putio/search/<query>/ the files put.io finds for <query>, readable like any file

The four text files are the same text ``putiofs transfers list`` (and friends) print. They are
generated when stat'ed and kept for ``refresh`` seconds. The kernel trusts the size it was last
told for a while and reads no further than it, so each open handle serves exactly the snapshot
whose size the last getattr reported; every snapshot has its own mtime, so the kernel drops
pages cached from an older one.

``add`` takes complete lines at each write (a final line without a newline at flush/close).
A write fails with EINVAL if a line is not a link or put.io refuses it (by error, or by putting
the new transfer straight into an Error state; other links of the same write are still added),
with EIO if put.io cannot be reached or fails, and with EACCES if it refuses the credentials.

The folder is not listed in the root unless ``-o show_control``, but always reachable by path.
An item that really is called ``.putio`` in the account's root is hidden behind it.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from putiofs import names, views
from putiofs.attributes import Attributes
from putiofs.backend import Entry
from putiofs.cache import Listing, split_path
from putiofs.client import PutioClient
from putiofs.errors import (
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    PutioError,
)
from putiofs.fuse_errors import ENODATA, fail
from putiofs.handles import HandleTable
from putiofs.options import MountOptions
from putiofs.v1backend import entry_from_item

log = logging.getLogger(__name__)

CONTROL_NAME = ".putio"
ADD = "add"
SEARCH = "search"
_LINK_PREFIXES = ("http://", "https://", "ftp://", "magnet:")


@dataclass(frozen=True)
class Snapshot:
    """One generation of a control file's text."""

    data: bytes
    mtime_ns: int
    made_at: float


@dataclass
class _ReadHandle:
    snapshot: Snapshot


@dataclass
class _AddHandle:
    pending: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _generators(client: PutioClient) -> dict[str, Callable[[], str]]:
    return {
        "transfers": lambda: views.render_transfers(client.list_transfers()),
        "messages": lambda: views.render_messages(client.list_messages()),
        "subscriptions": lambda: views.render_subscriptions(client.list_subscriptions()),
        "user": lambda: views.render_user(client.user_info(), client.friends()),
    }


class ControlFolder:
    """The FUSE operations for paths under ``/.putio`` (the FUSE front routes them here).

    From the account tree it is given, and uses for search results: ``attributes`` (how an item
    looks), ``listing`` (a folder's cached listing by id), ``open_entry`` (open an item for
    reading; the handle number) and ``handles`` (the mount's one handle table); ``options``
    are the mount's. ``refresh``: seconds a generated file's text is reused. ``search_ttl``:
    seconds a search's results are reused (the mount passes its ``cache_ttl``).
    """

    def __init__(self, client: PutioClient, *, attributes: Attributes,
                 listing: Callable[[str], Listing], open_entry: Callable[[Entry, int], int],
                 handles: HandleTable, options: MountOptions, refresh: float = 2.0,
                 search_ttl: float = 30.0, max_searches: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.attributes = attributes
        self.listing = listing
        self.open_entry = open_entry
        self.options = options
        self.refresh = refresh
        self._clock = clock
        self._generate = _generators(client)
        self._snapshots: dict[str, Snapshot] = {}
        self._reported: dict[str, Snapshot] = {}
        self._name_locks = {name: threading.Lock() for name in self._generate}
        self._searches: TTLCache[str, dict[str, Entry]] = TTLCache(
            max_searches, max(search_ttl, 0.1), timer=clock)
        self._handles = handles
        self._handle_ids = handles.ids
        self._lock = threading.Lock()

    # -- what is ours ---------------------------------------------------------------------

    @staticmethod
    def owns(path: str) -> bool:
        parts = split_path(path)
        return bool(parts) and parts[0] == CONTROL_NAME

    def root_names(self) -> list[str]:
        """What the root listing adds: ``.putio`` with ``-o show_control``, else nothing."""
        return [CONTROL_NAME] if self.options.show_control else []

    def has_handle(self, fh: int | None) -> bool:
        return isinstance(self._handles.get(fh), _ReadHandle | _AddHandle)

    # -- generated text -------------------------------------------------------------------

    def snapshot(self, name: str) -> Snapshot:
        """The current text of a generated file: reused for ``refresh`` seconds; an older one
        is served (and logged) if regenerating it fails."""
        with self._name_locks[name]:
            old = self._snapshots.get(name)
            if old is not None and self._clock() - old.made_at < self.refresh:
                return old
            try:
                text = self._generate[name]()
            except PutioError as exc:
                if old is None:
                    raise
                log.warning("/.putio/%s: serving the last text: %s", name, type(exc).__name__)
                return old
            mtime_ns = time.time_ns()
            if old is not None and mtime_ns <= old.mtime_ns:
                mtime_ns = old.mtime_ns + 1
            new = Snapshot(text.encode("utf-8"), mtime_ns, self._clock())
            self._snapshots[name] = new
            return new

    def _expire(self, name: str) -> None:
        with self._name_locks[name]:
            self._snapshots.pop(name, None)

    # -- attributes -----------------------------------------------------------------------

    def _base_stat(self, key: str, *, is_dir: bool, size: int = 0) -> dict[str, Any]:
        entry = Entry(id=f"putio-control:{key}", name=key, is_dir=is_dir, size=size,
                      parent_id="", type="folder" if is_dir else "text")
        return self.attributes.stat(entry)

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        parts = split_path(path)[1:]
        if not parts or parts == [SEARCH] or (len(parts) == 2 and parts[0] == SEARCH):
            if len(parts) == 2:
                self._search(parts[1])  # an unsearchable query is no folder (ENOENT)
            st = self._base_stat("/".join(parts), is_dir=True)
            st["st_mode"] = stat.S_IFDIR | 0o555
            return st
        if len(parts) == 1 and parts[0] in self._generate:
            handle = self._handles.get(fh) if fh is not None else None
            if isinstance(handle, _ReadHandle):
                snap = handle.snapshot
            else:
                snap = self.snapshot(parts[0])
                self._reported[parts[0]] = snap
            st = self._base_stat(parts[0], is_dir=False, size=len(snap.data))
            st.update(st_mode=stat.S_IFREG | 0o444, st_mtime=snap.mtime_ns,
                      st_ctime=snap.mtime_ns)
            return st
        if parts == [ADD]:
            st = self._base_stat(ADD, is_dir=False)
            st["st_mode"] = stat.S_IFREG | (0o444 if self.options.read_only else 0o644)
            return st
        return self.attributes.stat(self._search_entry(parts))

    def access(self, path: str, amode: int) -> int:
        parts = split_path(path)[1:]
        entry = self._search_entry(parts) if len(parts) > 2 else None
        is_dir = entry.is_dir if entry is not None else stat.S_ISDIR(self.getattr(path)["st_mode"])
        if amode & os.X_OK and not is_dir:
            raise fail(errno.EACCES)
        if amode & os.W_OK:
            if parts != [ADD]:
                raise fail(errno.EACCES)
            if self.options.read_only:
                raise fail(errno.EROFS)
        return 0

    def readdir(self, path: str) -> list[str]:
        parts = split_path(path)[1:]
        if not parts:
            return [".", "..", *sorted([ADD, SEARCH, *self._generate])]
        if parts == [SEARCH]:
            with self._lock:
                queries = [names.clean(q) for q in list(self._searches.keys())]
            return [".", "..", *sorted(set(queries))]
        if len(parts) == 2 and parts[0] == SEARCH:
            return [".", "..", *sorted(self._search(parts[1]))]
        entry = self._search_entry(parts)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        return [".", "..", *sorted(self.listing(entry.id).by_name)]

    def getxattr(self, path: str, name: str) -> bytes:
        value = self._xattrs(path).get(name)
        if value is None:
            raise fail(ENODATA)
        return value.encode("utf-8")

    def listxattr(self, path: str) -> list[str]:
        return sorted(self._xattrs(path))

    def _xattrs(self, path: str) -> dict[str, str]:
        parts = split_path(path)[1:]
        if len(parts) > 2 and parts[0] == SEARCH:
            return self.attributes.xattrs(self._search_entry(parts))
        self.getattr(path)  # ENOENT for what does not exist
        return {}

    # -- search ---------------------------------------------------------------------------

    def _search(self, shown_query: str) -> dict[str, Entry]:
        """Shown name → Entry for a query's results (cached ``search_ttl`` seconds)."""
        query = names.to_remote(shown_query)
        with self._lock:
            found = self._searches.get(query)
        if found is not None:
            return found
        try:
            items = self.client.search(query)
        except BadRequestError as exc:
            log.debug("search %r refused: %s", query, exc)
            raise fail(errno.ENOENT) from None
        found = names.assign(entry_from_item(item) for item in items)  # type: ignore[assignment]
        with self._lock:
            self._searches[query] = found
        return found

    def _search_entry(self, parts: list[str]) -> Entry:
        """The Entry at ``search/<query>/<name>[/...]``; deeper parts walk put.io folders."""
        if len(parts) < 3 or parts[0] != SEARCH:
            raise fail(errno.ENOENT)
        entry = self._search(parts[1]).get(parts[2])
        if entry is None:
            raise fail(errno.ENOENT)
        for part in parts[3:]:
            if not entry.is_dir:
                raise fail(errno.ENOTDIR)
            child = self.listing(entry.id).by_name.get(part)
            if child is None:
                raise fail(errno.ENOENT)
            entry = child
        return entry

    # -- open, read, write ----------------------------------------------------------------

    def _new_handle(self, handle: _ReadHandle | _AddHandle) -> int:
        with self._lock:
            fh = next(self._handle_ids)
            self._handles[fh] = handle
        return fh

    def open(self, path: str, flags: int) -> int:
        parts = split_path(path)[1:]
        writing = flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC
        if len(parts) == 1 and parts[0] in self._generate:
            if writing:
                raise fail(errno.EACCES)
            name = parts[0]
            snap = self._reported.get(name) or self.snapshot(name)
            return self._new_handle(_ReadHandle(snap))
        if parts == [ADD]:
            if writing and self.options.read_only:
                raise fail(errno.EROFS)
            return self._new_handle(_AddHandle())
        if len(parts) <= 2:
            self.getattr(path)
            raise fail(errno.EISDIR)
        entry = self._search_entry(parts)
        if entry.is_dir:
            raise fail(errno.EISDIR)
        if writing:
            raise fail(errno.EACCES)
        return self.open_entry(entry, flags)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        handle = self._handles.get(fh)
        if isinstance(handle, _ReadHandle):
            return handle.snapshot.data[offset:offset + size]
        if isinstance(handle, _AddHandle):
            return b""
        raise fail(errno.EBADF)

    def write(self, path: str, data: bytes, offset: int, fh: int | None) -> int:
        handle = self._handles.get(fh) if fh is not None else None
        if not isinstance(handle, _AddHandle):
            raise fail(errno.EACCES if self.owns(path) else errno.EBADF)
        with handle.lock:
            handle.pending += data
            complete, newline, rest = bytes(handle.pending).rpartition(b"\n")
            if not newline:
                return len(data)
            handle.pending = bytearray(rest)
        self._add(complete)
        return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        """Only ``add`` may be truncated (shells open it with O_TRUNC); nothing else is."""
        parts = split_path(path)[1:]
        if parts != [ADD]:
            self.getattr(path)
            raise fail(errno.EACCES)
        if self.options.read_only:
            raise fail(errno.EROFS)
        handle = self._handles.get(fh) if fh is not None else None
        if isinstance(handle, _AddHandle) and length == 0:
            with handle.lock:
                handle.pending.clear()
        return 0

    def flush(self, path: str, fh: int) -> int:
        """Send a last line that had no newline; its failure is close()'s error."""
        handle = self._handles.get(fh)
        if isinstance(handle, _AddHandle):
            with handle.lock:
                rest, handle.pending = bytes(handle.pending), bytearray()
            if rest.strip():
                self._add(rest)
        return 0

    def release(self, path: str, fh: int) -> int:
        with self._lock:
            handle = self._handles.pop(fh, None)
        if isinstance(handle, _AddHandle) and handle.pending.strip():
            try:
                self._add(bytes(handle.pending))
            except OSError as exc:
                log.warning("/.putio/add: the last line was not added: %s", exc.strerror)
        return 0

    def destroy(self) -> None:
        with self._lock:
            self._handles.clear()

    def _add(self, text: bytes) -> None:
        """transfers.add for every link in ``text``; OSError(EINVAL/EIO/EACCES) on refusal."""
        try:
            lines = text.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            log.warning("/.putio/add: refused bytes that are not UTF-8 text (EINVAL)")
            raise fail(errno.EINVAL) from None
        links = [line.strip() for line in lines
                 if line.strip() and not line.lstrip().startswith("#")]
        not_links = [link for link in links if not link.lower().startswith(_LINK_PREFIXES)]
        links = [link for link in links if link not in not_links]
        for bad in not_links:
            log.warning("/.putio/add: %r is not a link (http, https, ftp or magnet) (EINVAL)",
                        bad[:200])
        if links:
            self._send(links)
        if not_links:
            raise fail(errno.EINVAL)

    def _send(self, links: list[str]) -> None:
        try:
            before = self._error_transfers()
            after = self.client.add_transfers(links)
        except (AuthenticationError, PermissionDeniedError) as exc:
            log.warning("/.putio/add: put.io refused: %s (EACCES)", exc)
            raise fail(errno.EACCES) from None
        except BadRequestError as exc:
            log.warning("/.putio/add: put.io refused the links: %s (EINVAL)", exc)
            raise fail(errno.EINVAL) from None
        except PutioError as exc:
            log.error("/.putio/add: transfers.add failed: %s: %s (EIO)", type(exc).__name__, exc)
            raise fail(errno.EIO) from None
        finally:
            self._expire("transfers")
        failed = Counter((t.name, t.status) for t in after if t.is_error) - before
        if failed:
            for name, status in failed:
                log.warning("/.putio/add: %s: %s (EINVAL)", name, status)
            raise fail(errno.EINVAL)
        log.info("/.putio/add: %d transfer(s) added", len(links))

    def _error_transfers(self) -> Counter[tuple[str | None, str | None]]:
        """The transfers already in error (they have no id: counted by name and status), so
        that only new failures fail the write."""
        return Counter((t.name, t.status) for t in self.client.list_transfers() if t.is_error)
