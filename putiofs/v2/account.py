"""The account services of put.io's v2 API (:class:`putiofs.v2.client.V2Client`), as the
version-neutral models of :mod:`putiofs.api.services`.

v2 has history events, transfer retry and clean-up, trash figures and settings; it has no
dashboard messages, no RSS subscriptions in the API clients use, and no link analysis or
extraction (those raise NotSupportedError: "... is not available on the put.io API v2").

Decisions:

- Transfer statuses are worded as v1 words them (``IN_QUEUE`` -> "In queue", ``COMPLETED`` ->
  "Completed", ``ERROR`` -> "Error: <put.io's message>"), so every view and ``transfers
  watch`` read them the same way on both versions.
- Adding links sends one ``/transfers/add`` per link (never repeated: it would add twice). A
  link put.io refuses (e.g. ``EMPTY_URL``) does not stop the others; it is reported among
  ``failed`` as an error transfer without an id, like a transfer that failed at once.
- A .torrent file is uploaded as put.io's clients do: a multipart ``POST /v2/files/upload``
  (``torrent=true``) to the upload host, which answers with the new transfer; never
  repeated. ``parent_id`` becomes the transfer's ``save_parent_id`` (the upload's
  ``parent_id`` for a .torrent).
- Cancelling an id put.io does not know is an error here (put.io itself answers OK): the
  transfer is looked up first, so ``transfers cancel 999`` does not claim to have cancelled
  something that never existed.
- Events are the newest page of the history (put.io's default page), newest first; times are
  shown as ``YYYY-MM-DD HH:MM:SS`` (UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from putiofs.api.backend import Entry
from putiofs.api.errors import BadRequestError
from putiofs.api.services import (
    Account,
    AccountServices,
    Extraction,
    Friend,
    HistoryEvent,
    Mp4Conversion,
    Service,
    Share,
    SharedItem,
    Transfer,
    TransfersAdded,
    TrashItem,
    ZipArchive,
)
from putiofs.config import DEFAULT_UPLOAD_URL
from putiofs.v2 import models
from putiofs.v2.backend import entry_from_file
from putiofs.v2.client import V2Client
from putiofs.v2.parse import to_int, to_str
from putiofs.v2.wire import PAGE_SIZE


class V2Services(AccountServices):
    """:class:`~putiofs.api.services.AccountServices` over a v2 client (shared with the Backend)."""

    version = "v2"
    available = frozenset(Service) - {Service.MESSAGES, Service.SUBSCRIPTIONS,
                                      Service.LINK_ANALYSIS, Service.LINK_EXTRACTION}

    def __init__(self, client: V2Client, *, upload_url: str = DEFAULT_UPLOAD_URL) -> None:
        self.client = client
        self.upload_url = upload_url

    def __repr__(self) -> str:
        return f"V2Services({self.client!r})"

    # -- transfers ------------------------------------------------------------------------

    def list_transfers(self) -> list[Transfer]:
        return [neutral_transfer(t) for t in self.client.list_transfers()]

    def add_transfers(self, links: Sequence[str],
                      parent_id: str | None = None) -> TransfersAdded:
        """One link: ``transfers/add``; several: one ``transfers/add-multi`` call, where a link
        put.io refuses is reported and the others start all the same."""
        added: list[Transfer] = []
        refused: list[Transfer] = []
        if len(links) > 1:
            started, errors = self.client.add_transfers(links, save_parent_id=parent_id)
            added = [neutral_transfer(t) for t in started]
            refused = [Transfer(id=None, name=url, status=f"Error: refused ({kind})", source=url)
                       for url, kind in errors]
            links = []
        for link in links:
            try:
                added.append(neutral_transfer(
                    self.client.add_transfer(link, save_parent_id=parent_id)))
            except BadRequestError as exc:
                refused.append(Transfer(id=None, name=link, status=f"Error: {exc.message}",
                                        source=link))
        return TransfersAdded(transfers=added + refused,
                              failed=[t for t in added if t.is_error] + refused)

    def add_torrent(self, name: str, data: bytes,
                    parent_id: str | None = None) -> TransfersAdded:
        try:
            transfer = neutral_transfer(
                self.client.upload_torrent(self.upload_url, name, data, parent_id=parent_id))
        except BadRequestError as exc:
            refused = Transfer(id=None, name=name, status=f"Error: {exc.message}", source=name)
            return TransfersAdded(transfers=[refused], failed=[refused])
        return TransfersAdded(transfers=[transfer], failed=[transfer] if transfer.is_error else [])

    def cancel_transfer(self, transfer_id: str) -> None:
        self.client.get_transfer(transfer_id)  # NotFoundError for an unknown id
        self.client.cancel_transfers([transfer_id])

    def retry_transfer(self, transfer_id: str) -> Transfer:
        return neutral_transfer(self.client.retry_transfer(transfer_id))

    def clean_transfers(self) -> list[str]:
        return self.client.clean_transfers()

    # -- events ---------------------------------------------------------------------------

    def list_events(self, *, before: int | None = None,
                    limit: int | None = None) -> list[HistoryEvent]:
        """Pages back (``before`` = the oldest id seen) until ``limit`` events are in hand or
        the history ends; without ``limit``, put.io's first page."""
        events: list[HistoryEvent] = []
        while True:
            want = None if limit is None else min(limit - len(events), PAGE_SIZE)
            page = self.client.list_events(before=before, per_page=want)
            older = [e for e in page.events
                     if before is None or (e.id is not None and e.id < before)]
            events.extend(_event(e) for e in older)
            if limit is None or len(events) >= limit or not page.has_more or not older:
                return events[:limit] if limit is not None else events
            if older[-1].id is None:
                return events  # no id to page back from
            before = older[-1].id

    # -- the account ----------------------------------------------------------------------

    def account(self) -> Account:
        info = self.client.account_info()
        available = info.disk_avail
        if available is None and info.disk_size is not None and info.disk_used is not None:
            available = max(0, info.disk_size - info.disk_used)
        return Account(user_id=info.user_id, user_name=info.username,
                       disk_quota=info.disk_size, disk_quota_available=available,
                       disk_used=info.disk_used, trash_size=info.trash_size,
                       trash_enabled=info.trash_enabled, account_status=info.account_status)

    def friends(self) -> list[Friend]:
        return [Friend(id=f.id, name=f.name, dir_id=f.dir_id) for f in self.client.list_friends()]

    # -- files ----------------------------------------------------------------------------

    def search(self, query: str) -> list[Entry]:
        api = self.client.wire.base_url
        return [entry_from_file(file, api_url=api) for file in self.client.search(query)]

    # -- trash ----------------------------------------------------------------------------

    def list_trash(self) -> list[tuple[TrashItem, Entry]]:
        api = self.client.wire.base_url
        found = []
        for item in self.client.list_trash():
            entry = entry_from_file(item.file, api_url=api)
            found.append((TrashItem(id=entry.id, name=entry.name, is_dir=entry.is_dir,
                                    size=entry.size, original_folder_id=entry.parent_id,
                                    deleted_at=_when(item.deleted_at),
                                    expires_at=_when(item.expires_at)), entry))
        return found

    def restore_from_trash(self, item_ids: Sequence[str]) -> None:
        self.client.restore_from_trash(list(item_ids))

    def delete_from_trash(self, item_ids: Sequence[str]) -> None:
        self.client.delete_from_trash(list(item_ids))

    def empty_trash(self) -> None:
        self.client.empty_trash()

    # -- shares ---------------------------------------------------------------------------

    def share(self, file_id: str, friends: Sequence[str] | None) -> None:
        self.client.share_files([file_id], friends)

    def shared(self) -> list[Share]:
        """put.io lists how many friends each item is shared with; their names take one more
        call per item shared with named friends (as many as the user chose to share)."""
        shares = []
        for item in self.client.list_shared():
            friends: tuple[str, ...] = ()
            if item.friend_count and item.file_id is not None:
                friends = tuple(s.user_name for s in self.client.shared_with(item.file_id)
                                if s.user_name)
            shares.append(Share(file_id=item.file_id, name=item.file_name,
                                everyone=item.everyone, friends=friends))
        return shares

    def unshare(self, file_id: str) -> None:
        self.client.unshare(file_id)

    def shared_with_me(self) -> list[SharedItem]:
        return [SharedItem(id=item.file.id, name=item.file.name, is_dir=item.file.is_dir,
                           size=item.file.size, sender=item.sender_name)
                for item in self.client.list_shared_with_you()]

    def copy_shared(self, item_ids: Sequence[str], parent_id: str) -> str:
        return self.client.clone_shared(list(item_ids), parent_id)

    def shared_copy_status(self, copy_id: str) -> str:
        return self.client.clone_status(copy_id) or "UNKNOWN"

    # -- archives -------------------------------------------------------------------------

    def start_extractions(self, file_ids: Sequence[str],
                          password: str | None = None) -> list[Extraction]:
        return [_extraction(job) for job in self.client.start_extraction(list(file_ids),
                                                                         password)]

    def list_extractions(self) -> list[Extraction]:
        return [_extraction(job) for job in self.client.list_extractions()]

    # -- zips and MP4 ---------------------------------------------------------------------

    def create_zip(self, file_ids: Sequence[str]) -> str:
        return self.client.create_zip(list(file_ids))

    def get_zip(self, zip_id: str) -> ZipArchive:
        found = self.client.get_zip(zip_id)
        return ZipArchive(id=found.id or zip_id, status=found.status, size=found.size,
                          url=found.url, missing_files=found.missing_files)

    def mp4_status(self, file_id: str) -> Mp4Conversion:
        return _mp4(file_id, self.client.mp4_status(file_id))

    def start_mp4(self, file_id: str) -> Mp4Conversion:
        return _mp4(file_id, self.client.start_mp4(file_id))


def _extraction(job: models.Extraction) -> Extraction:
    return Extraction(id=job.id, name=job.name, file_id=job.user_file_id, status=job.status,
                      message=job.message, percent_done=job.percent_done,
                      folder_id=job.folder_id, files_count=job.files_count,
                      created_at=_when(job.created_at))


def _mp4(file_id: str, status: models.Mp4Status) -> Mp4Conversion:
    return Mp4Conversion(file_id=file_id, status=status.status,
                         percent_done=status.percent_done, size=status.size)


def status_words(status: str | None, error_message: str | None = None) -> str | None:
    """A v2 transfer status in v1's words: ``IN_QUEUE`` -> "In queue", ``ERROR`` ->
    "Error: <message>"."""
    if not status:
        return None
    if status.strip().upper() == "ERROR":
        message = (error_message or "").strip()
        if message.lower().startswith("error"):
            message = message[5:].lstrip(" :")  # put.io's messages may say "Error: ..." already
        return f"Error: {message}" if message else "Error"
    return status.strip().replace("_", " ").capitalize()


def neutral_transfer(transfer: models.Transfer) -> Transfer:
    """A v2 transfer as the version-neutral model (the realtime feed's transfers too)."""
    return Transfer(id=transfer.id, name=transfer.name,
                    status=status_words(transfer.status, transfer.error_message),
                    percent_done=transfer.percent_done, size=transfer.size,
                    source=transfer.source, file_id=transfer.file_id,
                    down_speed=transfer.down_speed, estimated_time=transfer.estimated_time)


def _event(event: models.Event) -> HistoryEvent:
    data = event.data
    size = event.file_size if event.file_size is not None else to_int(data.get("transfer_size"))
    detail = to_str(data.get("message") or data.get("error_message"))
    return HistoryEvent(id=event.id, type=event.type, created_at=_when(event.created_at),
                        name=event.file_name or event.transfer_name, size=size,
                        file_id=event.file_id, detail=detail)


def _when(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
