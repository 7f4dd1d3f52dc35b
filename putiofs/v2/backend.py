"""The filesystem's Backend over put.io's v2 API (:class:`putiofs.v2.client.V2Client`).

Differences from v1 that the core sees only through :attr:`V2Backend.capabilities`:

- no folder map: ``folder_map`` raises NotSupportedError and deep paths are resolved level
  by level;
- items carry dates and a CRC-32: ``Entry.mtime`` is ``updated_at``, ``ctime`` is
  ``created_at``, ``crc32`` put.io's checksum;
- deletes go to the trash when the account has it on (``capabilities.trash``);
- put.io refuses '/' in names (``SLASH_IN_NAME``), so ``capabilities.slash_in_names`` is
  False and a name typed in the mount with '∕' is stored as typed;
- uploads (``capabilities.write_contents``) are put.io's resumable TUS uploads
  (:mod:`putiofs.v2.tus`) to the upload URL (``upload_url``, the ``upload_url`` setting,
  default ``https://upload.put.io``); times (``capabilities.set_times``) are set with
  ``/files/touch``, in whole seconds, on files and folders alike;
- no account-wide stream token: each file has its own self-authorizing storage URL from
  ``/files/{id}/url``. One is fetched per file and reused by every open of that file until it
  is older than ``url_max_age`` (put.io does not say how long they stay valid; an hour is well
  inside what storage-signed URLs usually get) or a reader reports it refused
  (``refresh_token=True``). The cache is keyed by id, size and mtime, so a file replaced in
  place gets a new URL, and holds at most ``url_cache_size`` URLs.
- subtitles (``capabilities.subtitles``): ``/files/{id}/subtitles`` and one as SubRip;
- realtime events (``capabilities.live_events``) where the factory gives it ``listeners``
  (put.io's websocket, :mod:`putiofs.v2.realtime`): :meth:`V2Backend.change_listener`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cachetools import TTLCache

from putiofs.api.backend import (
    ROOT_ID,
    Backend,
    Capabilities,
    Entry,
    Quota,
    Subtitle,
    UploadProgress,
    UploadTicket,
)
from putiofs.api.errors import (
    BadRequestError,
    NotFoundError,
    NotSupportedError,
    PutioError,
    TransportError,
)
from putiofs.api.realtime import ChangeListener, ChangeSink
from putiofs.config import DEFAULT_UPLOAD_URL
from putiofs.logs import register_url_secret
from putiofs.net import deadline
from putiofs.v2.client import V2Client
from putiofs.v2.models import AccountInfo, File
from putiofs.v2.tus import same_origin

_LOCK_STRIPES = 32


def entry_from_file(file: File, parent_id: str | None = None, *, api_url: str = "") -> Entry:
    """An Entry for the filesystem. ``download_url`` is the API's ``/download`` address,
    which carries no credentials (it needs the token to be used).

    Memory (a listing keeps one Entry per item, see :mod:`putiofs.tree.cache`): the parent id is the
    listed folder's own string, the type an interned one, and a creation time equal to the
    modification time the same float, so those cost nothing per item.
    """
    parent = file.parent_id
    if parent is None or parent == parent_id:
        parent = parent_id or ROOT_ID
    created = file.created_at
    if created is not None and created == file.updated_at:
        created = file.updated_at
    return Entry(
        id=file.id,
        name=file.name,
        is_dir=file.is_dir,
        size=file.size,
        parent_id=parent,
        type=sys.intern((file.file_type or ("FOLDER" if file.is_dir else "FILE")).lower()),
        download_url=None if file.is_dir or not api_url else f"{api_url}/files/{file.id}/download",
        screenshot_url=file.screenshot,
        thumb_url=file.icon,
        mtime=file.updated_at,
        ctime=created,
        crc32=file.crc32,
    )


@dataclass(frozen=True)
class _CachedUrl:
    url: str
    fetched: float


class V2Backend(Backend):
    """Backend over the v2 API: no folder map (it raises NotSupportedError, from
    :class:`~putiofs.api.backend.Backend`).

    ``account``: the account's info if the caller already has it (the mount checks the token
    at start); otherwise it is fetched the first time :attr:`capabilities` is read.
    ``upload_url``: where uploads go (put.io's upload host, or an emulator's root URL).
    ``url_refresh_interval``: a URL younger than this is not replaced again when a reader
    reports it refused, so many readers that hit an expired URL at once share one new URL.
    """

    version = "v2"

    def __init__(self, client: V2Client, *, account: AccountInfo | None = None,
                 upload_url: str = DEFAULT_UPLOAD_URL, url_cache_size: int = 1024,
                 url_max_age: float = 3600.0, url_refresh_interval: float = 0.25,
                 clock: Callable[[], float] = time.monotonic,
                 listeners: Callable[[ChangeSink], ChangeListener] | None = None) -> None:
        self.client = client
        self.upload_url = upload_url.rstrip("/")
        self._listeners = listeners
        self._account = account
        self._clock = clock
        self._refresh_interval = url_refresh_interval
        self._urls: TTLCache[tuple[str, int, float | None], _CachedUrl] = TTLCache(
            maxsize=url_cache_size, ttl=url_max_age, timer=clock)
        self._urls_lock = threading.Lock()
        self._fetch_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    def __repr__(self) -> str:
        return f"V2Backend({self.client!r})"

    @property
    def capabilities(self) -> Capabilities:
        """No folder map; uploads and times; no '/' in names; trash as the account has it
        (one ``/account/info`` call the first time, False while that call fails)."""
        account = self._account
        if account is None:
            try:
                account = self._account = self.client.account_info()
            except PutioError:
                account = None
        return Capabilities(folder_map=False, write_contents=True, set_times=True,
                            trash=account.trash_enabled if account is not None else False,
                            slash_in_names=False, blank_names=False,
                            live_events=self._listeners is not None, subtitles=True)

    def change_listener(self, sink: ChangeSink) -> ChangeListener:
        """put.io's realtime events for this account, telling ``sink`` (not started yet)."""
        if self._listeners is None:
            raise NotSupportedError("no realtime events: no socket URL")
        return self._listeners(sink)

    # -- the tree -------------------------------------------------------------------------

    def list_folder(self, folder_id: str) -> Iterator[Entry]:
        api = self.client.wire.base_url
        for file in self.client.list_folder(folder_id):
            yield entry_from_file(file, folder_id, api_url=api)

    def lookup(self, item_id: str) -> Entry:
        return self._entry(self.client.get_file(item_id))

    def rename(self, item_id: str, name: str) -> Entry:
        """One rename call; the renamed item from its answer, or from one more GET."""
        file = self.client.rename(item_id, name)
        return self._entry(file if file is not None else self.client.get_file(item_id))

    def move(self, item_id: str, parent_id: str, name: str | None = None) -> Entry:
        """Move into ``parent_id``, renaming to ``name`` in the same call when given."""
        self.client.move(item_id, parent_id, name)
        return self._entry(self.client.get_file(item_id), parent_id)

    def delete(self, item_id: str) -> None:
        """Delete one item (into the trash where the account has it). NotFoundError when
        put.io did not have it, unless the answer came to a repeated attempt (then the lost
        first attempt may have deleted it)."""
        result = self.client.delete([item_id])
        if result.skipped and not result.repeated:
            raise NotFoundError(f"item {item_id} was not there to delete", status=404)

    def make_folder(self, parent_id: str, name: str) -> Entry:
        return self._entry(self.client.create_folder(parent_id, name), parent_id)

    # -- uploads and times ----------------------------------------------------------------

    def upload_begin(self, parent_id: str, name: str, size: int,
                     mtime: float | None) -> UploadTicket:
        """TUS create (see :mod:`putiofs.v2.tus` for what is sent); a zero-size upload is
        complete at once on put.io: ``upload_send(ticket, 0, empty, 0)`` gives its entry."""
        if size < 0:
            raise ValueError(f"an upload cannot have {size} bytes")
        url, _ = self.client.tus.create(self.upload_url, parent_id, name, size, mtime)
        return UploadTicket(url=url, size=size)

    def upload_offset(self, ticket: UploadTicket) -> int:
        return self.client.tus.offset(self._upload_url(ticket), ticket.size)

    def upload_send(self, ticket: UploadTicket, offset: int, body: BinaryIO,
                    length: int) -> UploadProgress:
        """One PATCH; once complete, the new item from one ``GET /files/{Putio-File-Id}``
        (if that GET fails, the error is raised: the upload is complete on put.io, and the
        next :meth:`upload_offset` says so; an empty PATCH at that offset names the item
        again)."""
        answer = self.client.tus.send(self._upload_url(ticket), ticket.size, offset, body,
                                      length)
        if answer.file_id is None:
            return UploadProgress(offset=answer.offset)
        return UploadProgress(offset=answer.offset,
                              entry=self._entry(self.client.get_file(answer.file_id)))

    def upload_abort(self, ticket: UploadTicket) -> None:
        """TUS DELETE; an upload put.io has forgotten (or a ticket for another upload host)
        needs nothing done."""
        with contextlib.suppress(NotFoundError):
            self.client.tus.abort(self._upload_url(ticket))

    def set_mtime(self, item_id: str, mtime: float) -> None:
        """``/files/touch`` with ``file_ids`` and ``updated_at`` in whole seconds (form
        fields, as put.io's TypeScript SDK sends them); files and folders alike."""
        self.client.touch([item_id], mtime)

    def _upload_url(self, ticket: UploadTicket) -> str:
        """The ticket's URL, if it is on the upload host in use (the token goes with every
        request to it); NotFoundError otherwise (a ticket saved under another setting: start
        anew)."""
        register_url_secret(ticket.url)
        if not same_origin(ticket.url, self.upload_url):
            raise NotFoundError("the upload was started on another upload host; start anew")
        return ticket.url

    # -- subtitles ------------------------------------------------------------------------

    def subtitles(self, item_id: str) -> list[Subtitle]:
        """``GET /files/{id}/subtitles``: what put.io found (a folder .srt, a track of the
        file, OpenSubtitles), in its order."""
        return list(self.client.subtitles(item_id))

    def subtitle_text(self, item_id: str, key: str, max_bytes: int) -> bytes:
        """``GET /files/{id}/subtitles/{key}?format=srt``."""
        return self.client.subtitle_file(item_id, key, fmt="srt", max_bytes=max_bytes)

    # -- reading --------------------------------------------------------------------------

    def stream_url(self, entry: Entry, *, refresh_token: bool = False) -> str:
        """The file's storage URL: cached per file; ``refresh_token`` replaces a refused one.

        A cached URL is returned without locking; a fetch holds one lock of a small stripe
        (so two opens of one file make one ``/url`` call) for no longer than the caller's
        deadline.
        """
        if entry.is_dir:
            raise BadRequestError(f"item {entry.id} is a folder: it has no stream URL")
        key = (entry.id, entry.size, entry.mtime)
        if not refresh_token:
            cached = self._cached(key)
            if cached is not None:
                return cached.url
        lock = self._fetch_locks[hash(entry.id) % _LOCK_STRIPES]
        left = deadline.remaining()
        if not lock.acquire(timeout=-1 if left is None else max(0.0, left)):
            raise TransportError(f"item {entry.id}: out of time waiting for a stream URL")
        try:
            cached = self._cached(key)
            if cached is not None and (
                    not refresh_token
                    or self._clock() - cached.fetched < self._refresh_interval):
                return cached.url
            url = self.client.file_url(entry.id)
            with self._urls_lock:
                self._urls[key] = _CachedUrl(url, self._clock())
            return url
        finally:
            lock.release()

    def _cached(self, key: tuple[str, int, float | None]) -> _CachedUrl | None:
        with self._urls_lock:
            return self._urls.get(key)

    # -- the account ----------------------------------------------------------------------

    def quota(self) -> Quota | None:
        """``disk.size`` and ``disk.avail`` of ``/account/info`` (also refreshes whether the
        account's trash is on)."""
        account = self._account = self.client.account_info()
        if account.disk_size is None:
            return None
        available = account.disk_avail
        if available is None and account.disk_used is not None:
            available = max(0, account.disk_size - account.disk_used)
        if available is None:
            return None
        return Quota(total=account.disk_size, available=available)

    @property
    def http_session(self) -> Any:
        return self.client.wire.session

    def _entry(self, file: File, parent_id: str | None = None) -> Entry:
        return entry_from_file(file, parent_id, api_url=self.client.wire.base_url)
