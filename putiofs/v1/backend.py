"""The filesystem's Backend over put.io's v1 API (``putiofs.v1.client.V1Client``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from putiofs.api.backend import ROOT_ID, Backend, Capabilities, Entry, FolderRef, Quota
from putiofs.api.errors import BadRequestError, PutioError, ServerError, TransportError
from putiofs.net import deadline
from putiofs.v1.client import V1Client
from putiofs.v1.models import Item

log = logging.getLogger(__name__)


def entry_from_item(item: Item, parent_id: str | None = None) -> Entry:
    """An Entry for the filesystem; the stream URL falls back to the download URL (the doc's
    items carry only ``download_url``, the live server's also ``stream_url``)."""
    return Entry(
        id=item.id,
        name=item.name,
        is_dir=item.is_dir,
        size=item.size,
        parent_id=item.parent_id if item.parent_id is not None else (parent_id or ROOT_ID),
        type=item.type or ("folder" if item.is_dir else "file"),
        download_url=item.download_url,
        stream_url=item.stream_url or item.download_url,
        screenshot_url=item.screenshot_url,
        thumb_url=item.thumb_url,
    )


class V1Backend(Backend):
    """Backend over the v1 API: a folder map; no uploads and no times (they raise
    NotSupportedError, from :class:`~putiofs.api.backend.Backend`).

    The access token for stream URLs is fetched once, shared by all threads, and replaced
    only when a caller reports it refused (``refresh_token``).

    Many readers often hit the expired token at once: a token younger than
    ``token_refresh_interval`` seconds is not replaced again, so they share one new token.
    Such a young token cannot have expired yet (put.io's live for hours, the emulator's for
    ``--token-ttl``), so a reader refused again *right after* a refresh is refused for good;
    a token refused later is replaced whenever it is refused (see :mod:`putiofs.read.fetcher`).
    """

    version = "v1"
    capabilities = Capabilities(folder_map=True)  # v1 has dirmap; no upload, no times, no trash

    def __init__(self, client: V1Client, *, token_refresh_interval: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._token: str | None = None
        self._token_time = 0.0
        self._token_lock = threading.Lock()
        self._refresh_interval = token_refresh_interval
        self._clock = clock

    def __repr__(self) -> str:
        return f"V1Backend({self.client!r})"

    def list_folder(self, folder_id: str) -> Iterator[Entry]:
        for item in self.client.iter_folder(folder_id):
            yield entry_from_item(item, folder_id)

    def lookup(self, item_id: str) -> Entry:
        return entry_from_item(self.client.info(item_id))

    def folder_map(self) -> list[FolderRef]:
        return self.client.dirmap()

    def rename(self, item_id: str, name: str) -> Entry:
        return entry_from_item(self.client.rename(item_id, name))

    def move(self, item_id: str, parent_id: str, name: str | None = None) -> Entry:
        """Move into ``parent_id``; with ``name``, rename it there too.

        v1 has no call that does both, so that is ``info`` (the folder it is in), ``move``
        and ``rename``; if the rename fails, the item is moved back to that folder (once,
        logged if that fails too) and the rename's error raised, so a failed rename never
        leaves the item moved under its old name. The ``info`` costs a call, but the folder
        it names is the item's real one, not what a listing said a while ago."""
        if name is None:
            return entry_from_item(self.client.move(item_id, parent_id), parent_id)
        origin = self.client.info(item_id).parent_id
        moved = self.client.move(item_id, parent_id)
        if moved.name == name:
            return entry_from_item(moved, parent_id)
        try:
            renamed = self.client.rename(item_id, name)
        except PutioError:
            self._move_back(item_id, origin)
            raise
        return entry_from_item(renamed, parent_id)

    def _move_back(self, item_id: str, origin: str | None) -> None:
        try:
            if origin is None:
                raise ServerError("files.info named no folder")
            self.client.move(item_id, origin)
        except PutioError as exc:
            log.error("move and rename of item %s: moved, but neither renamed nor moved back "
                      "(%s); it is in its new folder under its old name", item_id,
                      type(exc).__name__)

    def delete(self, item_id: str) -> None:
        self.client.delete(item_id)

    def make_folder(self, parent_id: str, name: str) -> Entry:
        return entry_from_item(self.client.create_dir(name, parent_id), parent_id)

    def access_token(self, *, refresh: bool = False) -> str:
        """The cached acctoken; a new one if ``refresh`` (one fetch even if many threads ask).

        Every GET of every open file asks, so the cached token is returned without the lock; a
        thread waiting for another's fetch waits no longer than its own call deadline.
        """
        token = self._token
        if token is not None and not refresh:
            return token
        left = deadline.remaining()
        if not self._token_lock.acquire(timeout=-1 if left is None else max(0.0, left)):
            raise TransportError("out of time waiting for a stream token")
        try:
            fresh = self._clock() - self._token_time < self._refresh_interval
            if self._token is None or (refresh and not fresh):
                self._token = self.client.acctoken()
                self._token_time = self._clock()
            return self._token
        finally:
            self._token_lock.release()

    def stream_url(self, entry: Entry, *, refresh_token: bool = False) -> str:
        base = entry.stream_url or entry.download_url
        if entry.is_dir or not base:
            raise BadRequestError(f"item {entry.id} has no stream URL")
        return f"{base.rstrip('/')}/atk/{self.access_token(refresh=refresh_token)}"

    def quota(self) -> Quota | None:
        user = self.client.user_info()
        if user.disk_quota is None or user.disk_quota_available is None:
            return None
        return Quota(total=user.disk_quota, available=user.disk_quota_available)

    @property
    def http_session(self) -> Any:
        return self.client.wire.session
