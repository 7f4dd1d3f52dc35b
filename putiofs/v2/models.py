"""Typed results of the put.io v2 API, parsed leniently (see :mod:`putiofs.v2.parse`).

Unknown fields are ignored and missing ones become None (or an empty default); enumerations
(``file_type``, transfer ``status``, event ``type``) stay open strings, since the sources
disagree on their members. Timestamps become seconds since the epoch (UTC).

A v2 object that is one of the version-neutral models of :mod:`putiofs.api` (and perhaps a
little more) is read into a subclass of it: a friend, a zip, an MP4 conversion, a device code.
The adapters still hand the core the neutral model itself, so ``--json`` shows its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from putiofs.api import services, signin
from putiofs.v2.parse import (
    BadValue,
    mapping,
    to_bool,
    to_crc32,
    to_float,
    to_id,
    to_int,
    to_size,
    to_str,
    to_time,
)

FOLDER_CONTENT_TYPE = "application/x-directory"


@dataclass(frozen=True)
class File:
    """A file or folder (``/files/...``). ``size`` of a folder is the size of its contents."""

    id: str
    name: str
    parent_id: str | None = None
    size: int = 0
    is_dir: bool = False
    content_type: str | None = None
    file_type: str | None = None
    extension: str | None = None
    crc32: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    folder_type: str | None = None
    icon: str | None = None
    screenshot: str | None = None
    is_hidden: bool = False
    is_shared: bool = False
    is_mp4_available: bool = False
    opensubtitles_hash: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> File:
        """Raises BadValue for an object without an id or with an impossible size."""
        data = mapping(data)
        file_id = to_id(data.get("id"))
        if file_id is None:
            raise BadValue("a file object without an id")
        content_type = to_str(data.get("content_type"))
        file_type = to_str(data.get("file_type"))
        return cls(
            id=file_id,
            name=to_str(data.get("name")) or "",
            parent_id=to_id(data.get("parent_id")),
            size=to_size(data.get("size"), f"size of file {file_id}") or 0,
            is_dir=content_type == FOLDER_CONTENT_TYPE or (file_type or "").upper() == "FOLDER",
            content_type=content_type,
            file_type=file_type,
            extension=to_str(data.get("extension")),
            crc32=to_crc32(data.get("crc32")),
            created_at=to_time(data.get("created_at")),
            updated_at=to_time(data.get("updated_at")),
            folder_type=to_str(data.get("folder_type")),
            icon=to_str(data.get("icon")),
            screenshot=to_str(data.get("screenshot")),
            is_hidden=bool(to_bool(data.get("is_hidden"))),
            is_shared=bool(to_bool(data.get("is_shared"))),
            is_mp4_available=bool(to_bool(data.get("is_mp4_available"))),
            opensubtitles_hash=to_str(data.get("opensubtitles_hash")),
        )


@dataclass(frozen=True)
class TrashItem:
    """A file in the trash, with when it was deleted and when the trash will drop it."""

    file: File
    deleted_at: float | None = None
    expires_at: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> TrashItem:
        data = mapping(data)
        return cls(file=File.from_json(data), deleted_at=to_time(data.get("deleted_at")),
                   expires_at=to_time(data.get("expiration_date")))


@dataclass(frozen=True)
class MoveFailure:
    """One item a batch move could not move (reported with HTTP 200)."""

    id: str | None
    error_type: str | None = None
    status_code: int | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> MoveFailure:
        data = mapping(data)
        return cls(id=to_id(data.get("id")), error_type=to_str(data.get("error_type")),
                   status_code=to_int(data.get("status_code")), name=to_str(data.get("name")))


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

    @classmethod
    def from_json(cls, data: Any) -> Mp4Status:
        data = mapping(data)
        return cls(file_id=to_id(data.get("id")), status=to_str(data.get("status")),
                   percent_done=to_int(data.get("percent_done")),
                   size=to_size(data.get("size"), "mp4 size"))


@dataclass(frozen=True)
class AccountInfo:
    """``/account/info``: who, the disk figures (bytes) and whether deletes go to the trash."""

    user_id: int | None
    username: str | None = None
    mail: str | None = None
    account_status: str | None = None
    disk_size: int | None = None
    disk_used: int | None = None
    disk_avail: int | None = None
    trash_size: int | None = None
    trash_enabled: bool = False
    default_download_folder: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> AccountInfo:
        data = mapping(data)
        disk = mapping(data.get("disk"))
        settings = mapping(data.get("settings"))
        return cls(
            user_id=to_int(data.get("user_id")),
            username=to_str(data.get("username")),
            mail=to_str(data.get("mail")),
            account_status=to_str(data.get("account_status")),
            disk_size=to_size(disk.get("size"), "disk size"),
            disk_used=to_size(disk.get("used"), "disk used"),
            disk_avail=to_size(disk.get("avail"), "disk avail"),
            trash_size=to_size(data.get("trash_size"), "trash size"),
            trash_enabled=bool(to_bool(settings.get("trash_enabled"))),
            default_download_folder=to_id(settings.get("default_download_folder")),
        )


@dataclass(frozen=True)
class TokenInfo:
    """``/oauth2/validate``. A token is valid only with ``result`` true and a user id."""

    result: bool
    user_id: int | None = None
    token_id: int | None = None
    token_scope: str | None = None

    @property
    def valid(self) -> bool:
        return self.result and self.user_id is not None

    @classmethod
    def from_json(cls, data: Any) -> TokenInfo:
        data = mapping(data)
        return cls(result=bool(to_bool(data.get("result"))), user_id=to_int(data.get("user_id")),
                   token_id=to_int(data.get("token_id")),
                   token_scope=to_str(data.get("token_scope")))


@dataclass(frozen=True)
class DeviceCode(signin.DeviceCode):
    """A device-flow code (the neutral model: the user approves it at its ``link``) and the
    address of a QR code of that link."""

    qr_code_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Transfer:
    """A download put.io makes for the account (``/transfers``)."""

    id: str | None
    name: str | None = None
    status: str | None = None
    type: str | None = None
    source: str | None = None
    save_parent_id: str | None = None
    file_id: str | None = None
    size: int | None = None
    downloaded: int | None = None
    percent_done: int | None = None
    down_speed: float | None = None
    estimated_time: float | None = None
    created_at: float | None = None
    finished_at: float | None = None
    error_message: str | None = None

    @property
    def is_error(self) -> bool:
        return (self.status or "").upper() == "ERROR"

    @classmethod
    def from_json(cls, data: Any) -> Transfer:
        data = mapping(data)
        return cls(
            id=to_id(data.get("id")),
            name=to_str(data.get("name")),
            status=to_str(data.get("status")),
            type=to_str(data.get("type")),
            source=to_str(data.get("source")),
            save_parent_id=to_id(data.get("save_parent_id")),
            file_id=to_id(data.get("file_id")),
            size=to_size(data.get("size"), "transfer size"),
            downloaded=to_size(data.get("downloaded"), "transfer downloaded"),
            percent_done=to_int(data.get("percent_done")),
            down_speed=to_float(data.get("down_speed")),
            estimated_time=to_float(data.get("estimated_time")),
            created_at=to_time(data.get("created_at")),
            finished_at=to_time(data.get("finished_at")),
            error_message=to_str(data.get("error_message")),
        )


@dataclass(frozen=True)
class Event:
    """A history event (upload, transfer_completed, ...). Fields a type does not have are
    None; ``data`` keeps the whole object for types this client does not know."""

    id: int | None
    type: str | None = None
    created_at: float | None = None
    file_id: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    transfer_name: str | None = None
    source: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Event:
        data = mapping(data)
        return cls(
            id=to_int(data.get("id")),
            type=to_str(data.get("type")),
            created_at=to_time(data.get("created_at")),
            file_id=to_id(data.get("file_id")),
            file_name=to_str(data.get("file_name")),
            file_size=to_int(data.get("file_size")),
            transfer_name=to_str(data.get("transfer_name")),
            source=to_str(data.get("source")),
            data=dict(data),
        )


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
    account, where the answer says."""

    avatar_url: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Friend:
        data = mapping(data)
        name = data.get("name", data.get("username"))
        return cls(name=to_str(name), id=to_id(data.get("id", data.get("user_id"))),
                   avatar_url=to_str(data.get("avatar_url")), dir_id=to_id(data.get("dir_id")))


@dataclass(frozen=True)
class Zip(services.ZipArchive):
    """A zip of files being built (``/zips/{id}``): the version-neutral model and when put.io
    started it; ``url`` is set once it is ready."""

    created_at: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Zip:
        data = mapping(data)
        missing = data.get("missing_files")
        names = missing if isinstance(missing, list) else []
        return cls(
            id=to_id(data.get("id")),
            status=to_str(data.get("zip_status", data.get("status"))),
            size=to_size(data.get("size"), "zip size"),
            url=to_str(data.get("url")) or None,
            created_at=to_time(data.get("created_at")),
            missing_files=tuple(str(to_str(n.get("name") if isinstance(n, Mapping) else n))
                                for n in names if n is not None),
        )


@dataclass(frozen=True)
class SharedFile:
    """One of the account's items it shares (``/files/shared``): ``everyone``, or
    ``friend_count`` named friends (their names: ``/files/{id}/shared-with``)."""

    file_id: str | None
    file_name: str | None = None
    everyone: bool = False
    friend_count: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> SharedFile:
        data = mapping(data)
        with_whom = data.get("shared_with")
        everyone = isinstance(with_whom, str) and with_whom.strip().lower() == "everyone"
        return cls(file_id=to_id(data.get("file_id")), file_name=to_str(data.get("file_name")),
                   everyone=everyone, friend_count=None if everyone else to_int(with_whom))


@dataclass(frozen=True)
class FileShare:
    """A friend an item is shared with (``/files/{id}/shared-with``)."""

    share_id: str | None
    user_name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> FileShare:
        data = mapping(data)
        return cls(share_id=to_id(data.get("share_id")), user_name=to_str(data.get("user_name")))
