"""What the account offers beyond the file tree, whatever the API version.

The file tree is :class:`putiofs.api.backend.Backend`; everything else -- transfers, the dashboard
messages (v1) or history events (v2), RSS subscriptions (v1), the account and its friends,
search, link analysis -- is :class:`AccountServices`. Its results are the version-neutral models
below, so :mod:`putiofs.front.control.folder`, :mod:`putiofs.views` and :mod:`putiofs.commands`
work unchanged on any version; each version's adapter (``putiofs.v1.account``,
``putiofs.v2.account``) converts its own answers.

A version that lacks a service leaves it out of :attr:`AccountServices.available` and raises
:class:`~putiofs.api.errors.NotSupportedError` (message from :func:`not_supported`) if it is called
anyway (the adapter does not override its methods): a command prints that message as its one
error line; the control folder does not list the file at all.

Field names follow put.io's v1 objects where the meaning is the same, so ``--json`` output
stays what it was; none of these models ever carries a credential or a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from putiofs.api.backend import Entry
from putiofs.api.errors import NotSupportedError


class Service(Enum):
    """One service of :class:`AccountServices`; the value is how messages name it."""

    TRANSFERS = "transfers"
    TRANSFER_RETRY = "transfers retry"
    TRANSFER_CLEAN = "transfers clean"
    MESSAGES = "messages"
    EVENTS = "events"
    SUBSCRIPTIONS = "subscriptions"
    ACCOUNT = "user info"
    FRIENDS = "user friends"
    SEARCH = "search"
    LINK_ANALYSIS = "urls analyze"
    LINK_EXTRACTION = "urls extract"
    TRASH = "trash"
    TRANSFER_FOLDER = "transfers add --to"
    TORRENT_FILE = "adding a .torrent file"
    SHARES = "shares"
    ZIPS = "zips"
    MP4 = "mp4 conversion"
    EXTRACT = "extract"
    SHARED_WITH_ME = "shared-with-me"


def not_supported(service: Service, version: str) -> NotSupportedError:
    """The error a version raises for a service it lacks: ``<service> is not available on the
    put.io API <version>``."""
    return NotSupportedError(f"{service.value} is not available on the put.io API {version}")


@dataclass(frozen=True)
class Transfer:
    """A download put.io runs for the account.

    ``status`` is human text: the API's own words where it has them (v1: "Waiting",
    "Downloading", "Completed"), else its status code in words (v2's ``IN_QUEUE``: "In queue");
    a failure is always "Error: <reason>", which is what commands test for. ``id`` and
    ``percent_done`` may be None (v1 lists a transfer that failed at once without an id).
    ``down_speed`` (bytes per second) and ``estimated_time`` (seconds left) are v2's; None
    where the API does not say.
    """

    id: str | None
    name: str | None = None
    status: str | None = None
    percent_done: int | None = None
    size: int | None = None
    source: str | None = None
    file_id: str | None = None
    down_speed: float | None = None
    estimated_time: float | None = None

    @property
    def is_error(self) -> bool:
        return (self.status or "").strip().lower().startswith("error")

    @property
    def is_completed(self) -> bool:
        return (self.status or "").strip().lower() == "completed"


@dataclass(frozen=True)
class TransfersAdded:
    """The answer to adding links: ``transfers`` as put.io lists them afterwards (v1: every
    active transfer; a version that answers per link: the new ones), and ``failed``, the new
    transfers put.io put straight into an error state (the link cannot be fetched)."""

    transfers: list[Transfer]
    failed: list[Transfer]


@dataclass(frozen=True)
class Message:
    """A dashboard message (v1). ``title`` is put.io's HTML."""

    id: int | None
    title: str | None = None
    description: str | None = None
    file_name: str | None = None
    file_type: str | None = None
    importance: int | None = None


@dataclass(frozen=True)
class HistoryEvent:
    """An entry of the account's history (v2): an upload, a finished or failed transfer, ...
    ``name`` is the file's or transfer's name, ``detail`` an error text where there is one."""

    id: int | None
    type: str | None = None
    created_at: str | None = None
    name: str | None = None
    size: int | None = None
    file_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Subscription:
    """An RSS subscription. Filters are comma-separated words."""

    id: int | None
    url: str | None = None
    name: str | None = None
    do_filters: str | None = None
    dont_filters: str | None = None
    parent_folder_id: int | None = None
    last_update_time: str | None = None
    next_update_time: str | None = None
    paused: bool = False


@dataclass(frozen=True)
class SubscriptionFields:
    """What to set when creating or editing a subscription; None leaves a field as it is.
    Filters are comma-separated words, or a sequence of words."""

    title: str | None = None
    url: str | None = None
    do_filters: str | Sequence[str] | None = None
    dont_filters: str | Sequence[str] | None = None
    parent_folder_id: str | None = None
    paused: bool | None = None


@dataclass(frozen=True)
class Account:
    """The account: who, and its quotas in bytes (None where the API does not say).

    ``trash_enabled``: deletes go to put.io's trash (v2; None where the API does not say);
    ``trash_size`` is what the trash holds, in bytes. ``account_status``: put.io's word for the
    plan's state (v2: ``active``, ...; None on v1, which does not say).
    """

    user_id: int | None
    user_name: str | None = None
    name: str | None = None
    friends_count: int | None = None
    disk_quota: int | None = None
    disk_quota_available: int | None = None
    disk_used: int | None = None
    bw_quota: int | None = None
    bw_quota_available: int | None = None
    shared_items: int | None = None
    shared_space: int | None = None
    trash_size: int | None = None
    trash_enabled: bool | None = None
    account_status: str | None = None


@dataclass(frozen=True)
class TrashItem:
    """An item in the account's trash (v2). ``original_folder_id`` is the folder it was deleted
    from, where put.io restores it (the root if that folder is gone too); ``deleted_at`` and
    ``expires_at`` (when put.io drops it for good) are ``YYYY-MM-DD HH:MM:SS`` (UTC)."""

    id: str
    name: str
    is_dir: bool
    size: int
    original_folder_id: str
    deleted_at: str | None = None
    expires_at: str | None = None


@dataclass(frozen=True)
class Friend:
    """A friend; ``dir_id`` is the folder they share with the account, if any."""

    id: str | None
    name: str | None = None
    dir_id: str | None = None


@dataclass(frozen=True)
class Share:
    """One of the account's items it shares: with ``everyone``, and/or the named ``friends``."""

    file_id: str | None
    name: str | None = None
    everyone: bool = False
    friends: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkInfo:
    """What put.io can fetch from one link; ``urls`` are a multipart download's parts."""

    url: str | None = None
    name: str | None = None
    dl_handler: str | None = None
    type_name: str | None = None
    file_size: int | None = None
    human_size: str | None = None
    error: str | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkAnalysis:
    """The analysed links, and the free disk and bandwidth where put.io reports them."""

    urls: tuple[LinkInfo, ...]
    disk_avail: int | None = None
    bw_avail: int | None = None


@dataclass(frozen=True)
class ZipArchive:
    """A zip put.io builds of some items. ``status`` is put.io's word (v2: NEW, PROCESSING,
    DONE, ERROR); ``url``, set once it is done, downloads it without credentials (it is shown
    to the user who asked for it, never logged). ``missing_files`` are names put.io left out."""

    id: str | None
    status: str | None = None
    size: int | None = None
    url: str | None = field(default=None, repr=False)
    missing_files: tuple[str, ...] = ()

    @property
    def is_done(self) -> bool:
        return (self.status or "").upper() == "DONE" or bool(self.url)

    @property
    def is_error(self) -> bool:
        return (self.status or "").upper() in {"ERROR", "FAILED"}


@dataclass(frozen=True)
class Mp4Conversion:
    """The MP4 version of a video: ``status`` is put.io's word (NOT_AVAILABLE, IN_QUEUE,
    CONVERTING, COMPLETED, ERROR); ``percent_done`` while converting, ``size`` once done."""

    file_id: str | None
    status: str | None = None
    percent_done: int | None = None
    size: int | None = None

    @property
    def summary(self) -> str:
        """``CONVERTING 45%``, ``COMPLETED <bytes>``, else the status alone."""
        status = (self.status or "UNKNOWN").upper()
        if status == "CONVERTING" and self.percent_done is not None:
            return f"{status} {self.percent_done}%"
        if status == "COMPLETED" and self.size is not None:
            return f"{status} {self.size}"
        return status


@dataclass(frozen=True)
class Extraction:
    """A job in which put.io unpacks one archive of the account on its side. ``status`` is
    put.io's word (NEW, EXTRACTING, DONE, ERROR); ``message`` is put.io's reason for an ERROR;
    ``folder_id`` is where the archive's files went (put.io makes a folder beside the archive),
    once DONE. ``created_at`` is ``YYYY-MM-DD HH:MM:SS`` (UTC)."""

    id: str | None
    name: str | None = None
    file_id: str | None = None
    status: str | None = None
    message: str | None = None
    percent_done: int | None = None
    folder_id: str | None = None
    files_count: int | None = None
    created_at: str | None = None

    @property
    def is_done(self) -> bool:
        return (self.status or "").upper() in {"DONE", "COMPLETED"}

    @property
    def is_error(self) -> bool:
        return (self.status or "").upper() in {"ERROR", "FAILED"}

    @property
    def is_finished(self) -> bool:
        return self.is_done or self.is_error


@dataclass(frozen=True)
class SharedItem:
    """An item a friend shares with the account (v2's items shared with you): ``sender`` is
    the friend's name."""

    id: str
    name: str
    is_dir: bool = False
    size: int = 0
    sender: str | None = None


class AccountServices(Protocol):
    """Everything of an account beyond its file tree. Every method raises the exceptions of
    :mod:`putiofs.api.errors`; one whose service is not in :attr:`available` raises
    NotSupportedError.

    A version's adapter derives from this class and overrides the methods of the services its
    API offers; every other method raises :func:`not_supported` with the adapter's
    :attr:`version`, so what a missing service does is said once, here.
    """

    #: The services this version offers.
    available: frozenset[Service]
    #: The API version, as messages name it ("v1", "v2").
    version: str

    def list_transfers(self) -> list[Transfer]:
        raise not_supported(Service.TRANSFERS, self.version)

    def add_transfers(self, links: Sequence[str],
                      parent_id: str | None = None) -> TransfersAdded:
        """Start downloading each link (into folder ``parent_id``, else put.io's default
        download folder). Never repeated blindly (it would add twice)."""
        raise not_supported(Service.TRANSFERS, self.version)

    def add_torrent(self, name: str, data: bytes,
                    parent_id: str | None = None) -> TransfersAdded:
        """Upload a .torrent file's bytes as a transfer (``name`` ends in ``.torrent``).
        Never repeated blindly."""
        raise not_supported(Service.TORRENT_FILE, self.version)

    def cancel_transfer(self, transfer_id: str) -> None:
        raise not_supported(Service.TRANSFERS, self.version)

    def retry_transfer(self, transfer_id: str) -> Transfer:
        raise not_supported(Service.TRANSFER_RETRY, self.version)

    def clean_transfers(self) -> list[str]:
        """Clear finished transfers from the list; the ids cleared."""
        raise not_supported(Service.TRANSFER_CLEAN, self.version)

    def list_messages(self) -> list[Message]:
        raise not_supported(Service.MESSAGES, self.version)

    def delete_message(self, message_id: str) -> None:
        raise not_supported(Service.MESSAGES, self.version)

    def list_events(self, *, before: int | None = None,
                    limit: int | None = None) -> list[HistoryEvent]:
        """The history, newest first: events older than the id ``before``, at most ``limit``
        of them (default: put.io's first page)."""
        raise not_supported(Service.EVENTS, self.version)

    def list_subscriptions(self) -> list[Subscription]:
        raise not_supported(Service.SUBSCRIPTIONS, self.version)

    def subscription(self, subscription_id: str) -> Subscription:
        raise not_supported(Service.SUBSCRIPTIONS, self.version)

    def create_subscription(self, fields: SubscriptionFields) -> Subscription:
        """Subscribe (``title`` and ``url`` required). Never repeated blindly."""
        raise not_supported(Service.SUBSCRIPTIONS, self.version)

    def edit_subscription(self, subscription_id: str,
                          fields: SubscriptionFields) -> Subscription:
        raise not_supported(Service.SUBSCRIPTIONS, self.version)

    def toggle_subscription(self, subscription_id: str) -> Subscription:
        """Pause an active subscription or resume a paused one; the subscription after."""
        raise not_supported(Service.SUBSCRIPTIONS, self.version)

    def delete_subscription(self, subscription_id: str) -> None:
        raise not_supported(Service.SUBSCRIPTIONS, self.version)

    def account(self) -> Account:
        raise not_supported(Service.ACCOUNT, self.version)

    def friends(self) -> list[Friend]:
        raise not_supported(Service.FRIENDS, self.version)

    def search(self, query: str) -> list[Entry]:
        """The account's files whose names match ``query``."""
        raise not_supported(Service.SEARCH, self.version)

    def analyze_links(self, links: Sequence[str]) -> LinkAnalysis:
        raise not_supported(Service.LINK_ANALYSIS, self.version)

    def extract_links(self, text: str) -> list[str]:
        """The links put.io finds in a text."""
        raise not_supported(Service.LINK_EXTRACTION, self.version)

    def list_trash(self) -> list[tuple[TrashItem, Entry]]:
        """What the trash holds, oldest deletion first, each with its Entry for reading."""
        raise not_supported(Service.TRASH, self.version)

    def restore_from_trash(self, item_ids: Sequence[str]) -> None:
        """Put items back into the folders they were deleted from (the root if that is gone)."""
        raise not_supported(Service.TRASH, self.version)

    def delete_from_trash(self, item_ids: Sequence[str]) -> None:
        """Delete trash items for good."""
        raise not_supported(Service.TRASH, self.version)

    def empty_trash(self) -> None:
        raise not_supported(Service.TRASH, self.version)

    def share(self, file_id: str, friends: Sequence[str] | None) -> None:
        """Share an item with friends (by name), or with everyone when ``friends`` is None."""
        raise not_supported(Service.SHARES, self.version)

    def shared(self) -> list[Share]:
        """The account's items it shares, and with whom."""
        raise not_supported(Service.SHARES, self.version)

    def unshare(self, file_id: str) -> None:
        """Stop sharing an item with anyone."""
        raise not_supported(Service.SHARES, self.version)

    def create_zip(self, file_ids: Sequence[str]) -> str:
        """Ask put.io to zip items; the zip's id. Never repeated blindly."""
        raise not_supported(Service.ZIPS, self.version)

    def get_zip(self, zip_id: str) -> ZipArchive:
        raise not_supported(Service.ZIPS, self.version)

    def start_extractions(self, file_ids: Sequence[str],
                          password: str | None = None) -> list[Extraction]:
        """Ask put.io to unpack archives (zip, rar, ...), each beside itself, with one password
        for them all if given; the new jobs. Never repeated blindly (it would unpack twice)."""
        raise not_supported(Service.EXTRACT, self.version)

    def list_extractions(self) -> list[Extraction]:
        """Every extraction job put.io still lists, oldest first."""
        raise not_supported(Service.EXTRACT, self.version)

    def shared_with_me(self) -> list[SharedItem]:
        """The items friends share with the account."""
        raise not_supported(Service.SHARED_WITH_ME, self.version)

    def copy_shared(self, item_ids: Sequence[str], parent_id: str) -> str:
        """Start copying items shared with the account into its folder ``parent_id``; the copy
        job's id (see :meth:`shared_copy_status`). Never repeated blindly (it would copy
        twice)."""
        raise not_supported(Service.SHARED_WITH_ME, self.version)

    def shared_copy_status(self, copy_id: str) -> str:
        """put.io's word for a copy job started by :meth:`copy_shared` (DONE once copied,
        ERROR if it failed)."""
        raise not_supported(Service.SHARED_WITH_ME, self.version)

    def mp4_status(self, file_id: str) -> Mp4Conversion:
        raise not_supported(Service.MP4, self.version)

    def start_mp4(self, file_id: str) -> Mp4Conversion:
        """Ask put.io to convert a video to MP4 (asking again while it runs changes nothing)."""
        raise not_supported(Service.MP4, self.version)
