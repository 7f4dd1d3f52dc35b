"""The small interface the filesystem layer talks to.

The filesystem (:mod:`putiofs.front`, :mod:`putiofs.tree`, :mod:`putiofs.read`,
:mod:`putiofs.write`) knows folders, items and stream URLs, never a request envelope: each API
version implements :class:`Backend` (``putiofs.v1.backend.V1Backend`` over put.io's v1 API,
``putiofs.v2.backend.V2Backend`` over its v2 API). Backends raise the exceptions of
``putiofs.api.errors``.

What one API version can do and another cannot is said by data, not by version checks: each
backend has ``capabilities`` (:class:`Capabilities`), and an operation its API lacks raises
``NotSupportedError`` (the default of :class:`Backend`'s optional methods). The layers above
read the flags (or catch the error once and remember it); they never ask which version they
talk to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar, Protocol

from putiofs.api.errors import NotSupportedError

ROOT_ID = "0"
#: ``Entry.type`` of a video (v2's ``VIDEO``, v1's ``movie``, lower-cased).
VIDEO_TYPES = frozenset({"video", "movie"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder as the filesystem needs it. ``name`` is put.io's name, unmodified."""

    id: str
    name: str
    is_dir: bool
    size: int
    parent_id: str
    type: str = "file"
    download_url: str | None = None
    stream_url: str | None = None
    screenshot_url: str | None = None
    thumb_url: str | None = None
    # mtime, ctime: seconds since the epoch (UTC), None where the API has no dates (v1)
    mtime: float | None = None
    ctime: float | None = None
    crc32: str | None = None  # 8 lowercase hex digits, where the API gives it

    @property
    def contents_key(self) -> str:
        """What identifies this item's contents: id, size and CRC-32 (else ``updated_at``;
        v1, with neither, makes a new item of each upload). Two entries with the same key have
        the same bytes: what is kept of a file's contents (the read cache, its subtitles) is
        kept under it, so a file replaced on put.io never finds its old version's."""
        version = self.crc32 or (f"t{self.mtime:.0f}" if self.mtime is not None else "")
        return f"{self.id}:{self.size}:{version}"


@dataclass(frozen=True)
class FolderRef:
    """One folder of the account's folder map (dirmap): enough to resolve a deep path."""

    id: str
    name: str
    parent_id: str
    is_dir: ClassVar[bool] = True


@dataclass(frozen=True)
class Subtitle:
    """One subtitle put.io has for a video. ``key`` names it to :meth:`Backend.subtitle_text`;
    ``language_code`` is put.io's (ISO 639-2, e.g. ``eng``; None where it does not know);
    ``source`` where put.io found it: ``folder`` (a .srt file beside the video, which the
    folder already shows), ``opensubtitles``, ``mkv`` (a track of the file) or another word."""

    key: str
    language_code: str | None = None
    language: str | None = None
    name: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Quota:
    """Disk quota in bytes, where the API reports it."""

    total: int
    available: int


@dataclass(frozen=True)
class Capabilities:
    """What a backend's API can do where the versions differ.

    ``slash_in_names``: put.io stores a '/' inside a name over this API (v1), so a name typed
    in the mount with '∕' (U+2215, how the mount shows a '/') is sent with '/'. Where put.io
    refuses '/' (v2's ``SLASH_IN_NAME``) it is False and a typed '∕' is stored as typed.
    ``blank_names``: put.io stores a name of nothing but white space over this API (v1); v2
    refuses it (``EMPTY_NAME``), and the mount then refuses it before sending anything.
    """

    folder_map: bool = False      # every folder of the account in one call (v1 dirmap)
    write_contents: bool = False  # create files and write their bytes (upload)
    set_times: bool = False       # set an item's modification time
    trash: bool = False           # deleted items go to a trash they can be restored from
    slash_in_names: bool = True   # a '/' inside a name can be stored
    blank_names: bool = True      # a name of nothing but white space can be stored
    # pushes changes made elsewhere (putiofs.api.realtime.ChangeSource)
    live_events: bool = False
    # the subtitles put.io found for a video (Backend.subtitles / subtitle_text)
    subtitles: bool = False


@dataclass(frozen=True)
class UploadTicket:
    """A resumable upload started on the server; JSON-serialisable by dataclasses.asdict (it is
    saved in the spool manifest so the next mount can resume it).

    ``url`` is the TUS upload URL (the server's ``Location``, made absolute). It is not
    self-authorizing (every request to it carries the account's credentials), but it names an
    upload of the account, so it is kept out of logs and error messages all the same.
    """

    url: str
    size: int


@dataclass(frozen=True)
class UploadProgress:
    """Where an upload stands after one :meth:`Backend.upload_send`."""

    offset: int                 # the server's offset after the call
    entry: Entry | None = None  # the new item, once the upload is complete


class Backend(Protocol):
    """What the filesystem needs from a put.io API, whatever its version. The account's root
    folder is :data:`ROOT_ID` in every version.

    A version's backend derives from this class; an optional ability it does not override
    (the folder map, uploads, times: see :class:`Capabilities`) raises NotSupportedError
    naming its :attr:`version`.
    """

    capabilities: Capabilities
    #: The API version, as messages name it ("v1", "v2"); the core never asks for it.
    version: str

    def list_folder(self, folder_id: str) -> Iterator[Entry]:
        """Every child of a folder, however many pages that takes."""

    def lookup(self, item_id: str) -> Entry:
        """One item by id; NotFoundError if it is gone."""

    def folder_map(self) -> list[FolderRef]:
        """Every folder of the account with its parent, in one call. NotSupportedError where
        the API has no such call (``capabilities.folder_map`` is then False)."""
        raise NotSupportedError(f"put.io's {self.version} API has no folder map")

    def rename(self, item_id: str, name: str) -> Entry: ...

    def move(self, item_id: str, parent_id: str, name: str | None = None) -> Entry:
        """Move an item into ``parent_id``, and rename it to ``name`` there when given: in
        one call where the API has one (v2), else a move then a rename, and a rename that
        fails after the move moves the item back before the error is raised."""

    def delete(self, item_id: str) -> None: ...

    def make_folder(self, parent_id: str, name: str) -> Entry: ...

    def stream_url(self, entry: Entry, *, refresh_token: bool = False) -> str:
        """A URL that serves the file's bytes with HTTP Range, token included.

        ``refresh_token`` asks for a new token (after a 401/403 on the old one).
        """

    def quota(self) -> Quota | None:
        """The account's disk quota, or None where the API does not give it."""

    @property
    def http_session(self) -> Any:
        """The pooled HTTP session stream reads go through (opaque to the filesystem layer)."""

    # -- uploads and times (``capabilities.write_contents`` / ``set_times``; else
    # NotSupportedError) ------------------------------------------------------------------

    def upload_begin(self, parent_id: str, name: str, size: int,
                     mtime: float | None) -> UploadTicket:
        """Start a resumable upload of ``size`` bytes named ``name`` into ``parent_id``, with
        ``mtime`` (seconds since the epoch, cut to whole seconds) as the new item's time.

        v2: TUS create (Upload-Metadata ``name``, ``parent_id``, ``no-torrent=true``,
        ``updated-at``). A zero-size upload may already be complete: call
        ``upload_send(ticket, 0, empty, 0)`` to get its entry. QuotaExceededError when the
        account has no room for ``size`` bytes.
        """
        raise NotSupportedError(f"put.io's {self.version} API has no uploads")

    def upload_offset(self, ticket: UploadTicket) -> int:
        """The server's offset of the upload (TUS HEAD). NotFoundError if the server forgot
        the upload (then start anew with :meth:`upload_begin`)."""
        raise NotSupportedError(f"put.io's {self.version} API has no uploads")

    def upload_send(self, ticket: UploadTicket, offset: int, body: BinaryIO,
                    length: int) -> UploadProgress:
        """Send ``length`` bytes read from ``body`` (streamed, never all in memory) at
        ``offset``, in one request; once the upload is complete, the new item's entry.

        Raises UploadOffsetError (the server is at another offset: ask :meth:`upload_offset`
        and go on from there), QuotaExceededError (ENOSPC), TransportError / ServerError
        (temporary: ask :meth:`upload_offset`, then go on), NotFoundError (the upload is gone:
        start anew). Never retried inside: the body is a stream, the caller owns resuming.
        """
        raise NotSupportedError(f"put.io's {self.version} API has no uploads")

    def upload_abort(self, ticket: UploadTicket) -> None:
        """Drop an unfinished upload on the server (TUS DELETE); one the server has
        forgotten already is not an error."""
        raise NotSupportedError(f"put.io's {self.version} API has no uploads")

    def set_mtime(self, item_id: str, mtime: float) -> None:
        """Set an item's (file's or folder's) modification time, in whole seconds."""
        raise NotSupportedError(f"put.io's {self.version} API cannot set an item's time")

    # -- subtitles (``capabilities.subtitles``; else NotSupportedError) ---------------------

    def subtitles(self, item_id: str) -> list[Subtitle]:
        """The subtitles put.io has for a file (none: an empty list), in put.io's order."""
        raise NotSupportedError(f"put.io's {self.version} API has no subtitles")

    def subtitle_text(self, item_id: str, key: str, max_bytes: int) -> bytes:
        """One subtitle of a file as SubRip (``.srt``) bytes; a ServerError when put.io sends
        more than ``max_bytes``."""
        raise NotSupportedError(f"put.io's {self.version} API has no subtitles")
