"""The control folder ``/.putio/``: the rest of the account inside the mount.

::

    /.putio/transfers       the active transfers (id, percent, status, name)
    /.putio/uploads         files written through the mount and not yet on put.io (v2)
    /.putio/status.json     what the mount is doing (``putiofs status``; see
                            :mod:`putiofs.front.control.status`)
    /.putio/messages        the dashboard messages (API v1)
    /.putio/events          the account's history (API v2)
    /.putio/subscriptions   the RSS subscriptions (API v1)
    /.putio/user            the account and its friends
    /.putio/add             write links here (one per line) to start transfers
    /.putio/refresh         write a path here to drop its cached listings (putiofs refresh)
    /.putio/search/<query>/ the files put.io finds for <query>, readable like any file
    /.putio/trash/          what the trash holds (API v2), read-only; ``mv`` out restores

Only what the account's API version offers is there (``AccountServices.available``); the rest
is not listed and answers ENOENT. The text files are the same text ``putiofs transfers list``
(and friends) print. A file's text is generated when it is opened or stat'ed and reused for
``refresh`` seconds, and at once anew after a link was added; ``uploads`` costs no API call and
is generated anew every time (it says what ``putiofs uploads`` says at the same moment), and so
is ``status.json``.

**Bounded by one --timeout.** An ``open`` (lookup, then open) or a ``cat`` asks for the text
several times: when making it fails (put.io stalled), the last text is served, or the error
raised, for ``refresh`` seconds without asking put.io again, so each call waits at most one
call deadline, and the next ones none. A call that finds another thread making the same text
waits for it within its own deadline only, then serves the last text or fails. An open handle
serves one text
from open to close (``fstat`` on it reports that text's size), and is opened with direct I/O
(:meth:`ControlFolder.direct_io`): the kernel neither keeps its pages nor stops reading at the
size it last heard of, so the next ``cat`` shows the newest text whole, whatever the kernel's
attribute cache still believes.

``add`` is :mod:`putiofs.front.control.add` (lines, links, the 64 KiB line limit, its errnos);
``refresh`` is :mod:`putiofs.front.control.refresh` (what it takes, who may write it);
``search`` is :mod:`putiofs.front.control.search`; ``trash`` is :mod:`putiofs.front.control.trash`.
Errors of put.io reach the caller through the shared mapping (:mod:`putiofs.front.errno_map`);
only a refused link (EINVAL), an over-long line (EFBIG) and a refused query (ENOENT) are
decided here.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from putiofs import views
from putiofs.api.backend import Entry
from putiofs.api.errors import PutioError, TransportError
from putiofs.api.services import AccountServices, Service
from putiofs.front.attributes import Attributes
from putiofs.front.control.add import LineBuffer, LinkAdder
from putiofs.front.control.refresh import REFRESH, RefreshHandle
from putiofs.front.control.search import Searches
from putiofs.front.control.status import STATUS_JSON, MountStatus
from putiofs.front.control.trash import TrashFolder
from putiofs.front.errno_map import ENODATA, fail
from putiofs.front.handles import HandleTable
from putiofs.front.options import MountOptions
from putiofs.net import deadline
from putiofs.tree import names
from putiofs.tree.cache import MetadataCache, split_path
from putiofs.write.status import UploadStatus

log = logging.getLogger(__name__)

CONTROL_NAME = ".putio"
ADD = "add"
SEARCH = "search"
TRASH = "trash"


@dataclass(frozen=True)
class Snapshot:
    """One generation of a control file's text."""

    data: bytes
    mtime_ns: int
    made_at: float
    epoch: int = 0  # the file's expiry count when its making began (see ``_expire``)


@dataclass(frozen=True)
class _Failure:
    """The last try of a generated file's text failed: what it raised, and when. Kept through
    an expiry (a transfer event, say): put.io is failing whatever changed."""

    error: PutioError
    at: float


@dataclass
class _ReadHandle:
    snapshot: Snapshot


@dataclass
class _AddHandle:
    lines: LineBuffer = field(default_factory=LineBuffer)


def _generators(services: AccountServices) -> dict[str, Callable[[], str]]:
    """The generated files this version's services allow, name -> text maker."""
    available = services.available

    def user() -> str:
        friends = services.friends() if Service.FRIENDS in available else None
        return views.render_user(services.account(), friends)

    makers: dict[str, tuple[Service, Callable[[], str]]] = {
        "transfers": (Service.TRANSFERS,
                      lambda: views.render_transfers(services.list_transfers())),
        "messages": (Service.MESSAGES, lambda: views.render_messages(services.list_messages())),
        "events": (Service.EVENTS, lambda: views.render_events(services.list_events())),
        "subscriptions": (Service.SUBSCRIPTIONS,
                          lambda: views.render_subscriptions(services.list_subscriptions())),
        "user": (Service.ACCOUNT, user),
    }
    return {name: make for name, (service, make) in makers.items() if service in available}


class AccountItems(Protocol):
    """What the control folder uses of the account view, for the account items it shows
    (search results): how an item looks, a folder's cached listing, opening an item for
    reading (the handle number), the mount's one handle table and its options."""

    attributes: Attributes
    cache: MetadataCache
    handles: HandleTable
    options: MountOptions

    def open_entry(self, entry: Entry, flags: int) -> int: ...


class ControlFolder:
    """The FUSE operations for paths under ``/.putio`` (the FUSE front routes them here).

    ``account`` is the account view, through what the control folder uses of it
    (:class:`AccountItems`). ``refresh``: seconds a generated file's text is reused. ``search_ttl``:
    seconds a search's results are reused (the mount passes its ``cache_ttl``). ``uploads``:
    the mount's uploads snapshot, where it writes file contents (``/.putio/uploads``).
    ``status``: what ``/.putio/status.json`` says (the mount gives one).
    """

    def __init__(self, services: AccountServices, account: AccountItems, *,
                 refresh: float = 2.0, search_ttl: float = 30.0, max_searches: int = 64,
                 uploads: Callable[[], list[UploadStatus]] | None = None,
                 status: MountStatus | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self.account = account
        self.options = account.options
        self.refresh = refresh
        self._clock = clock
        self._generate = _generators(services)
        if uploads is not None:
            self._generate["uploads"] = lambda: views.render_uploads(uploads())
        if status is not None:
            self._generate[STATUS_JSON] = status.text
        self._snapshots: dict[str, Snapshot] = {}
        self._failures: dict[str, _Failure] = {}
        self._epochs: dict[str, int] = {}  # name -> how often it was expired
        self._live = {"uploads", STATUS_JSON}  # local text: made anew at every look
        self._name_locks = {name: threading.Lock() for name in self._generate}
        #: What a line written to ``refresh`` calls (the front's refresh; set by the front).
        self.refresh_tree: Callable[[str], None] = lambda path: None
        self._fixed = sorted([*self._generate, REFRESH,
                              *([ADD] if Service.TRANSFERS in services.available else []),
                              *([SEARCH] if Service.SEARCH in services.available else []),
                              *([TRASH] if Service.TRASH in services.available else [])])
        self._searches = Searches(services, ttl=search_ttl, max_searches=max_searches,
                                  clock=clock)
        self._trash = TrashFolder(services, refresh=refresh, clock=clock)
        self._adder = LinkAdder(services, changed=lambda: self._expire("transfers"))
        self._lock = threading.Lock()

    # -- what is ours ---------------------------------------------------------------------

    @staticmethod
    def owns(path: str) -> bool:
        parts = split_path(path)
        return bool(parts) and parts[0] == CONTROL_NAME

    def root_names(self) -> list[str]:
        """What the root listing adds: ``.putio`` with ``-o show_control``, else nothing."""
        return [CONTROL_NAME] if self.options.show_control else []

    def direct_io(self, fh: int | None) -> bool:
        """Should the kernel bypass its page cache and cached size for this handle? Yes for
        the generated files: their text changes between opens."""
        return fh is not None and isinstance(self.account.handles.get(fh), _ReadHandle)

    # -- generated text -------------------------------------------------------------------

    def snapshot(self, name: str) -> Snapshot:
        """The current text of a generated file: reused for ``refresh`` seconds; an older one
        is served (and logged) if regenerating it fails, and for ``refresh`` seconds after
        (see the module docstring)."""
        lock = self._name_locks[name]
        left = deadline.remaining()
        if not lock.acquire(timeout=-1 if left is None else left):
            old = self._snapshots.get(name)
            if old is not None:
                return old
            raise TransportError(f"/.putio/{name}: out of time waiting for its text")
        try:
            return self._snapshot_locked(name)
        finally:
            lock.release()

    def _snapshot_locked(self, name: str) -> Snapshot:
        old = self._snapshots.get(name)
        now, epoch = self._clock(), self._epochs.get(name, 0)
        if name not in self._live:
            if old is not None and old.epoch == epoch and now - old.made_at < self.refresh:
                return old
            failed = self._failures.get(name)
            if failed is not None and now - failed.at < self.refresh:
                if old is None:
                    raise failed.error
                return old
        try:
            text = self._generate[name]()
        except PutioError as exc:
            self._failures[name] = _Failure(exc, self._clock())
            if old is None:
                raise
            log.warning("/.putio/%s: serving the last text: %s", name, type(exc).__name__)
            return old
        self._failures.pop(name, None)
        mtime_ns = time.time_ns()
        if old is not None and mtime_ns <= old.mtime_ns:
            mtime_ns = old.mtime_ns + 1
        new = Snapshot(text.encode("utf-8"), mtime_ns, self._clock(), epoch)
        self._snapshots[name] = new
        return new

    def _expire(self, name: str) -> None:
        """Make the next open or stat of ``name`` generate its text anew (also a text being
        made now, from before the change); the last text stays the fallback should that fail.
        Takes no lock: it never waits for a text being made."""
        if name in self._name_locks:
            self._epochs[name] = self._epochs.get(name, 0) + 1

    # -- attributes -----------------------------------------------------------------------

    def _base_stat(self, key: str, *, is_dir: bool, size: int = 0) -> dict[str, Any]:
        entry = Entry(id=f"putio-control:{key}", name=key, is_dir=is_dir, size=size,
                      parent_id="", type="folder" if is_dir else "text")
        return self.account.attributes.stat(entry)

    def _dir_stat(self, parts: list[str]) -> dict[str, Any]:
        st = self._base_stat("/".join(parts), is_dir=True)
        st["st_mode"] = stat.S_IFDIR | 0o555
        return st

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        parts = split_path(path)[1:]
        if not parts:
            return self._dir_stat(parts)
        if parts[0] == SEARCH and SEARCH in self._fixed and len(parts) <= 2:
            if len(parts) == 2:
                self._searches.results(parts[1])  # an unsearchable query is no folder
            return self._dir_stat(parts)
        if parts == [TRASH] and TRASH in self._fixed:
            return self._dir_stat(parts)
        if len(parts) == 1 and parts[0] in self._generate:
            handle = self.account.handles.get(fh) if fh is not None else None
            snap = handle.snapshot if isinstance(handle, _ReadHandle) else \
                self.snapshot(parts[0])
            st = self._base_stat(parts[0], is_dir=False, size=len(snap.data))
            st.update(st_mode=stat.S_IFREG | 0o444, st_mtime=snap.mtime_ns,
                      st_ctime=snap.mtime_ns)
            return st
        if len(parts) == 1 and parts[0] == ADD and ADD in self._fixed:
            st = self._base_stat(ADD, is_dir=False)
            st["st_mode"] = stat.S_IFREG | (0o444 if self.options.read_only else 0o644)
            return st
        if parts == [REFRESH]:
            st = self._base_stat(REFRESH, is_dir=False)
            st["st_mode"] = stat.S_IFREG | 0o200   # its owner's (and root's) to write
            return st
        st = self.account.attributes.stat(self._search_entry(parts))
        if parts[0] == TRASH:
            st["st_mode"] &= ~0o222  # the trash is read-only
        return st

    def access(self, path: str, amode: int) -> int:
        parts = split_path(path)[1:]
        deep = len(parts) > (1 if parts[:1] == [TRASH] else 2)
        entry = self._search_entry(parts) if deep else None
        is_dir = entry.is_dir if entry is not None else stat.S_ISDIR(self.getattr(path)["st_mode"])
        if amode & os.X_OK and not is_dir:
            raise fail(errno.EACCES)
        if amode & os.W_OK:
            if parts == [REFRESH]:
                return 0
            if parts != [ADD]:
                raise fail(errno.EACCES)
            if self.options.read_only:
                raise fail(errno.EROFS)
        elif parts == [REFRESH] and amode & os.R_OK:
            raise fail(errno.EACCES)
        return 0

    def readdir(self, path: str) -> list[str]:
        parts = split_path(path)[1:]
        if not parts:
            return [".", "..", *self._fixed]
        if parts == [SEARCH] and SEARCH in self._fixed:
            return [".", "..", *self._searches.folder_names()]
        if len(parts) == 2 and parts[0] == SEARCH and SEARCH in self._fixed:
            return [".", "..", *sorted(self._searches.results(parts[1]))]
        if parts == [TRASH] and TRASH in self._fixed:
            return [".", "..", *sorted(self._trash.named())]
        entry = self._search_entry(parts)
        if not entry.is_dir:
            raise fail(errno.ENOTDIR)
        return [".", "..", *sorted(self.account.cache.listing(entry.id).by_name)]

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
            return self.account.attributes.xattrs(self._search_entry(parts))
        if len(parts) > 1 and parts[0] == TRASH:
            values = self.account.attributes.xattrs(self._search_entry(parts))
            if len(parts) == 2:
                values.update(self._trash.xattrs(self._trash.find(parts[1])[0]))
            return values
        self.getattr(path)  # ENOENT for what does not exist
        return {}

    def _search_entry(self, parts: list[str]) -> Entry:
        """The Entry at ``search/<query>/<name>[/...]`` or ``trash/<name>[/...]``; deeper parts
        walk put.io folders."""
        if len(parts) > 1 and parts[0] == TRASH and TRASH in self._fixed:
            entry: Entry | None = self._trash.find(parts[1])[1]
            rest = parts[2:]
        elif len(parts) > 2 and parts[0] == SEARCH and SEARCH in self._fixed:
            names.check_length(parts[2])
            entry = names.lookup(self._searches.results(parts[1]), parts[2])
            rest = parts[3:]
        else:
            raise fail(errno.ENOENT)
        for part in rest:
            names.check_length(part)
        if entry is None:
            raise fail(errno.ENOENT)
        for part in rest:
            if not entry.is_dir:
                raise fail(errno.ENOTDIR)
            child = self.account.cache.listing(entry.id).find(part)
            if child is None:
                raise fail(errno.ENOENT)
            entry = child
        return entry

    # -- open, read, write ----------------------------------------------------------------

    def _new_handle(self, handle: _ReadHandle | _AddHandle | RefreshHandle) -> int:
        return self.account.handles.add(handle)

    def open(self, path: str, flags: int) -> int:
        parts = split_path(path)[1:]
        writing = flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC
        if len(parts) == 1 and parts[0] in self._generate:
            if writing:
                raise fail(errno.EACCES)
            return self._new_handle(_ReadHandle(self.snapshot(parts[0])))
        if len(parts) == 1 and parts[0] == ADD and ADD in self._fixed:
            if writing and self.options.read_only:
                raise fail(errno.EROFS)
            return self._new_handle(_AddHandle())
        if parts == [REFRESH]:
            if flags & os.O_ACCMODE == os.O_RDONLY:
                raise fail(errno.EACCES)
            return self._new_handle(RefreshHandle())
        if len(parts) <= (1 if parts[:1] == [TRASH] else 2):
            self.getattr(path)
            raise fail(errno.EISDIR)
        entry = self._search_entry(parts)
        if entry.is_dir:
            raise fail(errno.EISDIR)
        if writing:
            raise fail(errno.EACCES)
        return self.account.open_entry(entry, flags)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        handle = self.account.handles.get(fh)
        if isinstance(handle, _ReadHandle):
            return handle.snapshot.data[offset:offset + size]
        if isinstance(handle, _AddHandle):
            return b""
        raise fail(errno.EBADF)

    def write(self, path: str, data: bytes, offset: int, fh: int | None) -> int:
        """Links on every complete line, or a .torrent kept whole for close (see
        putiofs.front.control.add): EFBIG for bytes over a limit, after the complete lines of the
        same write were sent."""
        handle = self.account.handles.get(fh) if fh is not None else None
        if isinstance(handle, RefreshHandle):
            for refreshed in handle.feed(data):
                self.refresh_tree(refreshed)
            return len(data)
        if not isinstance(handle, _AddHandle):
            raise fail(errno.EACCES if self.owns(path) else errno.EBADF)
        with handle.lines.lock:
            lines, overlong = handle.lines.feed(data)
        if overlong:
            log.warning("/.putio/add: a line over %d bytes or a .torrent over %d bytes was "
                        "dropped (EFBIG)", handle.lines.limit, handle.lines.torrent_limit)
        if lines:
            self._adder.add(lines)
        if overlong:
            raise fail(errno.EFBIG)
        return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        """Only ``add`` may be truncated (shells open it with O_TRUNC); nothing else is."""
        parts = split_path(path)[1:]
        if parts == [REFRESH]:
            return 0   # a shell's ``>`` opens it with O_TRUNC: there is nothing to cut
        if parts != [ADD] or ADD not in self._fixed:
            self.getattr(path)
            raise fail(errno.EACCES)
        if self.options.read_only:
            raise fail(errno.EROFS)
        handle = self.account.handles.get(fh) if fh is not None else None
        if isinstance(handle, _AddHandle) and length == 0:
            with handle.lines.lock:
                handle.lines.clear()
        return 0

    def flush(self, path: str, fh: int) -> int:
        """Send a last line that had no newline; its failure is close()'s error."""
        handle = self.account.handles.get(fh)
        if isinstance(handle, RefreshHandle):
            for refreshed in handle.take_rest():
                self.refresh_tree(refreshed)
        if isinstance(handle, _AddHandle):
            with handle.lines.lock:
                rest = handle.lines.take_rest()
            if rest.strip():
                self._adder.add([rest])
        return 0

    def release(self, path: str, fh: int) -> int:
        handle = self.account.handles.pop(fh, None)
        if isinstance(handle, _AddHandle):
            rest = handle.lines.take_rest()
            if rest.strip():
                try:
                    self._adder.add([rest])
                except (OSError, PutioError) as exc:
                    log.warning("/.putio/add: the last line was not added: %s", exc)
        return 0

    # -- restoring ------------------------------------------------------------------------

    def refresh_texts(self) -> None:
        """A refresh of the whole mount (or of /.putio): every generated text and the trash are
        made anew at their next look."""
        for name in self._generate:
            self._expire(name)
        self._trash.expire()

    def transfers_changed(self) -> None:
        """A transfer changed (a realtime event): the next look at ``transfers`` lists anew."""
        self._expire("transfers")

    def trash_changed(self) -> None:
        """The mount deleted something (it may be in the trash now): list the trash anew."""
        self._trash.expire()

    def is_trash_item(self, path: str) -> bool:
        """Is ``path`` a top-level item of ``/.putio/trash`` (what ``mv`` out of it restores)?"""
        parts = split_path(path)
        return len(parts) == 3 and parts[:2] == [CONTROL_NAME, TRASH] and TRASH in self._fixed

    def restore(self, path: str) -> str:
        """Restore the trash item at ``path`` (see :meth:`is_trash_item`) into the folder put.io
        puts it back in; its id. EROFS on a read-only mount."""
        if self.options.read_only:
            raise fail(errno.EROFS)
        return self._trash.restore(split_path(path)[2]).id

    def destroy(self) -> None:
        """At unmount: forget this folder's handles (the account tree closes its own)."""
        self.account.handles.take_all(_ReadHandle)
        self.account.handles.take_all(_AddHandle)
        self.account.handles.take_all(RefreshHandle)


class NoControl:
    """The control folder of a mount without ``/.putio`` (no account services given): it owns
    no path and no handle, so the front's calls answer as if it were not there. (The front
    asks the rest of :class:`ControlFolder` only for paths it owns.)"""

    @staticmethod
    def owns(path: str) -> bool:
        return False

    @staticmethod
    def root_names() -> list[str]:
        return []

    @staticmethod
    def direct_io(fh: int | None) -> bool:
        return False

    @staticmethod
    def is_trash_item(path: str) -> bool:
        return False

    @staticmethod
    def restore(path: str) -> str:
        raise fail(errno.ENOENT)

    @staticmethod
    def read(path: str, size: int, offset: int, fh: int) -> bytes:
        raise fail(errno.EBADF)

    @staticmethod
    def flush(path: str, fh: int) -> int:
        return 0

    @staticmethod
    def release(path: str, fh: int) -> int:
        return 0

    def refresh_texts(self) -> None:
        """No texts to make anew."""

    def trash_changed(self) -> None:
        """No trash folder to list anew."""

    def transfers_changed(self) -> None:
        """No transfers file to make anew."""

    def destroy(self) -> None:
        """No handles to let go."""
