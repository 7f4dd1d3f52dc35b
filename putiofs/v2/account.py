"""The account services of put.io's v2 API (:class:`putiofs.v2.client.V2Client`), as the
version-neutral models of :mod:`putiofs.services`.

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
- Cancelling an id put.io does not know is an error here (put.io itself answers OK): the
  transfer is looked up first, so ``transfers cancel 999`` does not claim to have cancelled
  something that never existed.
- Events are the newest page of the history (put.io's default page), newest first; times are
  shown as ``YYYY-MM-DD HH:MM:SS`` (UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from putiofs.backend import Entry
from putiofs.errors import BadRequestError
from putiofs.services import (
    Account,
    Friend,
    HistoryEvent,
    LinkAnalysis,
    Message,
    Mp4Conversion,
    Service,
    Subscription,
    SubscriptionFields,
    Transfer,
    TransfersAdded,
    ZipArchive,
    not_supported,
)
from putiofs.v2 import models
from putiofs.v2.backend import entry_from_file
from putiofs.v2.client import V2Client
from putiofs.v2.parse import to_int, to_str

VERSION = "v2"


class V2Services:
    """:class:`~putiofs.services.AccountServices` over a v2 client (shared with the Backend)."""

    available = frozenset(Service) - {Service.MESSAGES, Service.SUBSCRIPTIONS,
                                      Service.LINK_ANALYSIS, Service.LINK_EXTRACTION}

    def __init__(self, client: V2Client) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"V2Services({self.client!r})"

    # -- transfers ------------------------------------------------------------------------

    def list_transfers(self) -> list[Transfer]:
        return [_transfer(t) for t in self.client.list_transfers()]

    def add_transfers(self, links: Sequence[str]) -> TransfersAdded:
        added: list[Transfer] = []
        refused: list[Transfer] = []
        for link in links:
            try:
                added.append(_transfer(self.client.add_transfer(link)))
            except BadRequestError as exc:
                refused.append(Transfer(id=None, name=link, status=f"Error: {exc.message}",
                                        source=link))
        return TransfersAdded(transfers=added + refused,
                              failed=[t for t in added if t.is_error] + refused)

    def cancel_transfer(self, transfer_id: str) -> None:
        self.client.get_transfer(transfer_id)  # NotFoundError for an unknown id
        self.client.cancel_transfers([transfer_id])

    def retry_transfer(self, transfer_id: str) -> Transfer:
        return _transfer(self.client.retry_transfer(transfer_id))

    def clean_transfers(self) -> list[str]:
        return self.client.clean_transfers()

    # -- messages and events --------------------------------------------------------------

    def list_messages(self) -> list[Message]:
        raise not_supported(Service.MESSAGES, VERSION)

    def delete_message(self, message_id: str) -> None:
        raise not_supported(Service.MESSAGES, VERSION)

    def list_events(self) -> list[HistoryEvent]:
        return [_event(e) for e in self.client.list_events().events]

    # -- subscriptions --------------------------------------------------------------------

    def list_subscriptions(self) -> list[Subscription]:
        raise not_supported(Service.SUBSCRIPTIONS, VERSION)

    def subscription(self, subscription_id: str) -> Subscription:
        raise not_supported(Service.SUBSCRIPTIONS, VERSION)

    def create_subscription(self, fields: SubscriptionFields) -> Subscription:
        raise not_supported(Service.SUBSCRIPTIONS, VERSION)

    def edit_subscription(self, subscription_id: str,
                          fields: SubscriptionFields) -> Subscription:
        raise not_supported(Service.SUBSCRIPTIONS, VERSION)

    def toggle_subscription(self, subscription_id: str) -> Subscription:
        raise not_supported(Service.SUBSCRIPTIONS, VERSION)

    def delete_subscription(self, subscription_id: str) -> None:
        raise not_supported(Service.SUBSCRIPTIONS, VERSION)

    # -- the account ----------------------------------------------------------------------

    def account(self) -> Account:
        info = self.client.account_info()
        available = info.disk_avail
        if available is None and info.disk_size is not None and info.disk_used is not None:
            available = max(0, info.disk_size - info.disk_used)
        return Account(user_id=info.user_id, user_name=info.username,
                       disk_quota=info.disk_size, disk_quota_available=available,
                       disk_used=info.disk_used, trash_size=info.trash_size,
                       trash_enabled=info.trash_enabled)

    def friends(self) -> list[Friend]:
        return [Friend(id=f.id, name=f.name, dir_id=f.dir_id) for f in self.client.list_friends()]

    # -- files and links ------------------------------------------------------------------

    def search(self, query: str) -> list[Entry]:
        api = self.client.base_url
        return [entry_from_file(file, api_url=api) for file in self.client.search(query)]

    def analyze_links(self, links: Sequence[str]) -> LinkAnalysis:
        raise not_supported(Service.LINK_ANALYSIS, VERSION)

    def extract_links(self, text: str) -> list[str]:
        raise not_supported(Service.LINK_EXTRACTION, VERSION)

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


def _transfer(transfer: models.Transfer) -> Transfer:
    return Transfer(id=transfer.id, name=transfer.name,
                    status=status_words(transfer.status, transfer.error_message),
                    percent_done=transfer.percent_done, size=transfer.size,
                    source=transfer.source, file_id=transfer.file_id)


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
