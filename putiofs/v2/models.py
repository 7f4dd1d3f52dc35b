"""Typed results of the put.io v2 API, parsed leniently (see :mod:`putiofs.v2.parse`).

Unknown fields are ignored and missing ones become None (or an empty default); enumerations
(``file_type``, transfer ``status``, event ``type``) stay open strings, since the sources
disagree on their members. Timestamps become seconds since the epoch (UTC).

A v2 object that is one of the version-neutral models of :mod:`putiofs.api` (and perhaps a
little more) is read into a subclass of it: a friend, a zip, an MP4 conversion, a device code.
The adapters still hand the core the neutral model itself, so ``--json`` shows its fields.

Each field says how it is read (:func:`putiofs.net.lenient.json_field`); a subclass declares
again, with the same default, each neutral field it reads. ``from_json`` reads only what a
declaration cannot say: refusals, values told from other fields, nested models, and the
alternative keys read only where the first key is absent (v1's fallbacks are read where it
is null too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from putiofs.api import backend, services, signin
from putiofs.net.lenient import from_answer, json_field
from putiofs.v2.parse import (
    BadValue,
    mapping,
    size_of,
    to_crc32,
    to_flag,
    to_float,
    to_id,
    to_int,
    to_size,
    to_str,
    to_text,
    to_time,
)

FOLDER_CONTENT_TYPE = "application/x-directory"


def _is_folder(data: Mapping[str, Any]) -> bool:
    """Whether a file object is a folder: by its content type, or by its file type."""
    return (to_str(data.get("content_type")) == FOLDER_CONTENT_TYPE
            or (to_str(data.get("file_type")) or "").upper() == "FOLDER")


def _names(value: Any) -> tuple[str, ...]:
    """The files a zip left out: a list of names, or of objects with a ``name``."""
    names = value if isinstance(value, list) else []
    return tuple(str(to_str(n.get("name") if isinstance(n, Mapping) else n))
                 for n in names if n is not None)


@dataclass(frozen=True)
class File:
    """A file or folder (``/files/...``). ``size`` of a folder is the size of its contents.
    :meth:`from_json` reads ``id`` and ``size`` itself (they are refused, not guessed), and
    tells ``is_dir`` from the content and file types."""

    id: str
    name: str = json_field(to_text)
    parent_id: str | None = json_field(to_id, default=None)
    size: int = 0
    is_dir: bool = False
    content_type: str | None = json_field(to_str, default=None)
    file_type: str | None = json_field(to_str, default=None)
    extension: str | None = json_field(to_str, default=None)
    crc32: str | None = json_field(to_crc32, default=None)
    created_at: float | None = json_field(to_time, default=None)
    updated_at: float | None = json_field(to_time, default=None)
    folder_type: str | None = json_field(to_str, default=None)
    icon: str | None = json_field(to_str, default=None)
    screenshot: str | None = json_field(to_str, default=None)
    is_hidden: bool = json_field(to_flag, default=False)
    is_shared: bool = json_field(to_flag, default=False)
    is_mp4_available: bool = json_field(to_flag, default=False)
    opensubtitles_hash: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> File:
        """Raises BadValue for an object without an id or with an impossible size."""
        data = mapping(data)
        file_id = to_id(data.get("id"))
        if file_id is None:
            raise BadValue("a file object without an id")
        size = to_size(data.get("size"), f"size of file {file_id}") or 0
        return from_answer(cls, data, id=file_id, size=size, is_dir=_is_folder(data))


@dataclass(frozen=True)
class TrashItem:
    """A file in the trash, with when it was deleted and when the trash will drop it."""

    file: File
    deleted_at: float | None = json_field(to_time, default=None)
    expires_at: float | None = json_field(to_time, "expiration_date", default=None)

    @classmethod
    def from_json(cls, data: Any) -> TrashItem:
        return from_answer(cls, data, file=File.from_json(data))


@dataclass(frozen=True)
class MoveFailure:
    """One item a batch move could not move (reported with HTTP 200)."""

    id: str | None = json_field(to_id)
    error_type: str | None = json_field(to_str, default=None)
    status_code: int | None = json_field(to_int, default=None)
    name: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> MoveFailure:
        return from_answer(cls, data)


@dataclass(frozen=True)
class DeleteResult:
    """``skipped``: how many ids the server did not find. ``repeated``: the answer came to a
    repeated attempt, so a skipped id may be one the lost first attempt deleted."""

    skipped: int = 0
    repeated: bool = False


@dataclass(frozen=True)
class Mp4Status(services.Mp4Conversion):
    """The MP4 conversion of a video (NOT_AVAILABLE, IN_QUEUE, CONVERTING, COMPLETED, ERROR):
    the version-neutral model, read from a v2 answer (``file_id`` is the answer's ``id``)."""

    file_id: str | None = json_field(to_id, "id")
    status: str | None = json_field(to_str, default=None)
    percent_done: int | None = json_field(to_int, default=None)
    size: int | None = json_field(size_of("mp4 size"), default=None)

    @classmethod
    def from_json(cls, data: Any) -> Mp4Status:
        return from_answer(cls, data)


@dataclass(frozen=True)
class SubtitleInfo(backend.Subtitle):
    """One entry of ``/files/{id}/subtitles``: the version-neutral model."""

    key: str = json_field(to_str)
    language_code: str | None = json_field(to_str, default=None)
    language: str | None = json_field(to_str, default=None)
    name: str | None = json_field(to_str, default=None)
    source: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> SubtitleInfo:
        return from_answer(cls, data)


@dataclass(frozen=True)
class AccountInfo:
    """``/account/info``: who, the disk figures (bytes) and whether deletes go to the trash."""

    user_id: int | None = json_field(to_int)
    username: str | None = json_field(to_str, default=None)
    mail: str | None = json_field(to_str, default=None)
    account_status: str | None = json_field(to_str, default=None)
    disk_size: int | None = json_field(size_of("disk size"), ("disk", "size"), default=None)
    disk_used: int | None = json_field(size_of("disk used"), ("disk", "used"), default=None)
    disk_avail: int | None = json_field(size_of("disk avail"), ("disk", "avail"), default=None)
    trash_size: int | None = json_field(size_of("trash size"), default=None)
    trash_enabled: bool = json_field(to_flag, ("settings", "trash_enabled"), default=False)
    default_download_folder: str | None = json_field(
        to_id, ("settings", "default_download_folder"), default=None)

    @classmethod
    def from_json(cls, data: Any) -> AccountInfo:
        return from_answer(cls, data)


@dataclass(frozen=True)
class TokenInfo:
    """``/oauth2/validate``. A token is valid only with ``result`` true and a user id."""

    result: bool = json_field(to_flag)
    user_id: int | None = json_field(to_int, default=None)
    token_id: int | None = json_field(to_int, default=None)
    token_scope: str | None = json_field(to_str, default=None)

    @property
    def valid(self) -> bool:
        return self.result and self.user_id is not None

    @classmethod
    def from_json(cls, data: Any) -> TokenInfo:
        return from_answer(cls, data)


@dataclass(frozen=True)
class DeviceCode(signin.DeviceCode):
    """A device-flow code (the neutral model: the user approves it at its ``link``) and the
    address of a QR code of that link."""

    qr_code_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Transfer:
    """A download put.io makes for the account (``/transfers``)."""

    id: str | None = json_field(to_id)
    name: str | None = json_field(to_str, default=None)
    status: str | None = json_field(to_str, default=None)
    type: str | None = json_field(to_str, default=None)
    source: str | None = json_field(to_str, default=None)
    save_parent_id: str | None = json_field(to_id, default=None)
    file_id: str | None = json_field(to_id, default=None)
    size: int | None = json_field(size_of("transfer size"), default=None)
    downloaded: int | None = json_field(size_of("transfer downloaded"), default=None)
    percent_done: int | None = json_field(to_int, default=None)
    down_speed: float | None = json_field(to_float, default=None)
    estimated_time: float | None = json_field(to_float, default=None)
    created_at: float | None = json_field(to_time, default=None)
    finished_at: float | None = json_field(to_time, default=None)
    error_message: str | None = json_field(to_str, default=None)

    @property
    def is_error(self) -> bool:
        return (self.status or "").upper() == "ERROR"

    @classmethod
    def from_json(cls, data: Any) -> Transfer:
        return from_answer(cls, data)


@dataclass(frozen=True)
class Event:
    """A history event (upload, transfer_completed, ...). Fields a type does not have are
    None; ``data`` keeps the whole object for types this client does not know."""

    id: int | None = json_field(to_int)
    type: str | None = json_field(to_str, default=None)
    created_at: float | None = json_field(to_time, default=None)
    file_id: str | None = json_field(to_id, default=None)
    file_name: str | None = json_field(to_str, default=None)
    file_size: int | None = json_field(to_int, default=None)
    transfer_name: str | None = json_field(to_str, default=None)
    source: str | None = json_field(to_str, default=None)
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Event:
        data = mapping(data)
        return from_answer(cls, data, data=dict(data))


@dataclass(frozen=True)
class EventsPage:
    """One page of ``/events/list``, newest first; ask for the next with ``before`` = the last
    event's id while ``has_more``."""

    events: tuple[Event, ...]
    has_more: bool = False


@dataclass(frozen=True)
class Friend(services.Friend):
    """A friend of the account: the version-neutral model and the avatar (the sources do not
    show the object's fields: read leniently). ``dir_id``: the folder they share with the
    account, where the answer says. :meth:`from_json` reads ``id`` and ``name`` itself: from
    ``user_id`` and ``username`` only where the answer has no ``id`` or ``name`` at all."""

    dir_id: str | None = json_field(to_id, default=None)
    avatar_url: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> Friend:
        data = mapping(data)
        return from_answer(cls, data, id=to_id(data.get("id", data.get("user_id"))),
                           name=to_str(data.get("name", data.get("username"))))


@dataclass(frozen=True)
class Zip(services.ZipArchive):
    """A zip of files being built (``/zips/{id}``): the version-neutral model and when put.io
    started it; ``url`` is set once it is ready. :meth:`from_json` reads ``status`` from
    ``zip_status``, or from ``status`` where the answer has no ``zip_status`` at all, and an
    empty ``url`` as none."""

    id: str | None = json_field(to_id)
    size: int | None = json_field(size_of("zip size"), default=None)
    missing_files: tuple[str, ...] = json_field(_names, default=())
    created_at: float | None = json_field(to_time, default=None)

    @classmethod
    def from_json(cls, data: Any) -> Zip:
        data = mapping(data)
        return from_answer(cls, data, status=to_str(data.get("zip_status", data.get("status"))),
                           url=to_str(data.get("url")) or None)


@dataclass(frozen=True)
class SharedFile:
    """One of the account's items it shares (``/files/shared``): ``everyone``, or
    ``friend_count`` named friends (their names: ``/files/{id}/shared-with``), both read from
    the answer's ``shared_with``."""

    file_id: str | None = json_field(to_id)
    file_name: str | None = json_field(to_str, default=None)
    everyone: bool = False
    friend_count: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> SharedFile:
        data = mapping(data)
        with_whom = data.get("shared_with")
        everyone = isinstance(with_whom, str) and with_whom.strip().lower() == "everyone"
        return from_answer(cls, data, everyone=everyone,
                           friend_count=None if everyone else to_int(with_whom))


@dataclass(frozen=True)
class FileShare:
    """A friend an item is shared with (``/files/{id}/shared-with``)."""

    share_id: str | None = json_field(to_id)
    user_name: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> FileShare:
        return from_answer(cls, data)


@dataclass(frozen=True)
class Extraction:
    """A job unpacking one archive of the account (``/files/extract``). ``status`` stays
    put.io's word (NEW, EXTRACTING, DONE, ERROR; an open string); ``message`` is put.io's
    reason for an ERROR; ``folder_id`` is where the files went, once DONE."""

    id: str | None = json_field(to_id)
    name: str | None = json_field(to_str, default=None)
    user_file_id: str | None = json_field(to_id, default=None)
    status: str | None = json_field(to_str, default=None)
    message: str | None = json_field(to_str, default=None)
    percent_done: int | None = json_field(to_int, default=None)
    folder_id: str | None = json_field(to_id, default=None)
    files_count: int | None = json_field(to_int, default=None)
    created_at: float | None = json_field(to_time, default=None)

    @classmethod
    def from_json(cls, data: Any) -> Extraction:
        return from_answer(cls, data)


@dataclass(frozen=True)
class SharedWithYou:
    """An item a friend shares with the account (``/files/items-shared-with-you``): a file
    object and the friend's name, ``sender_name``."""

    file: File
    sender_name: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> SharedWithYou:
        return from_answer(cls, data, file=File.from_json(data))
