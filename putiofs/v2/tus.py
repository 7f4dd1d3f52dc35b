"""put.io's resumable uploads: TUS 1.0.0 at ``<upload URL>/files/``, on the v2 wire.

Four calls of :class:`TusClient` (``V2Client.tus``); the upload URL (``upload_url``, default
``https://upload.put.io``) is an argument, the token, session and retry policy are the wire's.

- **Create** (:meth:`TusClient.create`): ``POST <upload URL>/files/`` with no body and
  ``Tus-Resumable: 1.0.0``, ``Upload-Length`` and ``Upload-Metadata`` (comma-separated
  ``key base64(value)``): ``name``, ``parent_id``, ``no-torrent`` = ``true`` (a ``.torrent``
  written through the mount stays a file, never becomes a transfer) and, when a time is
  given, ``updated-at`` in whole seconds, ``YYYY-MM-DDTHH:MM:SSZ`` (as rclone sends it; put.io
  keeps second precision). No ``overwrite``: the caller replaces an old item only after the
  new one is complete. The answer is 201 with ``Location``, absolute or relative to the
  upload URL (resolved here). A Location on another origin than the upload URL is refused:
  every later request to it carries the token.
- **Send** (:meth:`TusClient.send`): one ``PATCH`` of exactly ``length`` bytes with
  ``Upload-Offset``, ``Content-Type: application/offset+octet-stream`` and ``Content-Length``.
  The body is read from the caller's file object through a length-limited reader
  (:class:`LimitedReader`), which requests and http.client send block by block: a chunk is
  never held in memory whole, whatever its size. The answer is 204 with ``Upload-Offset``; the
  last one also carries ``Putio-File-Id``. A PATCH is **never repeated here**: its body is a
  stream already consumed, and after a failure the server may hold part of it; the caller asks
  the offset (HEAD) and sends again from there. Its socket timeouts bound a stalled transfer;
  no overall deadline is set (a large chunk on a slow line takes what it takes), other than
  the calling thread's own :mod:`putiofs.net.deadline`, if it has one.
- **Offset** (:meth:`TusClient.offset`): ``HEAD``, 200 with ``Upload-Offset``.
- **Abort** (:meth:`TusClient.abort`): ``DELETE``, 204.

Create, offset and abort are repeated after a temporary failure with the wire's
:class:`~putiofs.net.retry.RetryPolicy`. A create whose answer was lost and that is then repeated
leaves an empty upload behind on the server; put.io drops unfinished uploads itself.

**Errors** (:func:`tus_error`), decided by the status first:

====================================  =====================================================
409, 423                              UploadOffsetError: the server is at another offset,
                                      or still holds an earlier PATCH of the upload (the
                                      emulator answers 409; tusd, which many TUS servers run,
                                      answers 423 Locked): the caller asks the offset and
                                      goes on, or backs off if it has not moved
413, or an ``error_type`` naming      QuotaExceededError (ENOSPC). The emulator answers 413
``DISK``, ``SPACE`` or ``QUOTA``      ``NOT_ENOUGH_DISK_SPACE``; what put.io itself answers
                                      is not documented, so both signs count. A 413 from a
                                      proxy's body limit lands here too: the data stays in
                                      the spool and is tried again later either way
404, 410 on an upload URL             NotFoundError: the upload is gone (a HEAD answer has no
                                      body to say more), start anew
402 (inactive account), 401/403,      as every v2 call (:func:`putiofs.v2.errors.error_for`):
429, 5xx, other 4xx                   PermissionDeniedError, AuthenticationError,
                                      RateLimitedError, ServerError, BadRequestError
no answer                             TransportError
====================================  =====================================================

**Secrets**: the upload URL names an upload of the account; it is registered with
:func:`putiofs.logs.register_url_secret` (urllib3's debug lines show its path) and no message
or log line of these calls contains it: they are named ``TUS create``, ``TUS PATCH``...
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests

from putiofs.api.errors import (
    BadRequestError,
    NotFoundError,
    PutioError,
    QuotaExceededError,
    ServerError,
    UploadOffsetError,
)
from putiofs.logs import register_url_secret
from putiofs.v2.errors import error_for, error_message, error_type_of
from putiofs.v2.parse import format_time
from putiofs.v2.wire import V2Wire, decode_envelope

TUS_VERSION = "1.0.0"
#: How much of the body one read takes (http.client sends what each read returns).
UPLOAD_READ_SIZE = 256 * 1024
_QUOTA_WORDS = ("DISK", "SPACE", "QUOTA")


class UploadSourceError(PutioError):
    """The caller's file object could not give the bytes promised for a PATCH (it ended early
    or failed to read): a local problem, not put.io's (EIO)."""


@dataclass(frozen=True)
class TusAnswer:
    """What a PATCH (or a create) says: the server's offset, and the new item's id once the
    upload is complete."""

    offset: int
    file_id: str | None = None


class LimitedReader:
    """Exactly ``length`` bytes of ``source``, read in blocks as the request goes out.

    requests takes the length from ``len()`` (so it sends ``Content-Length``, not a chunked
    body) and http.client calls :meth:`read` until it returns nothing. A source that ends
    early or fails raises :class:`UploadSourceError` (not an OSError, which urllib3 would
    disguise as a dropped connection).
    """

    def __init__(self, source: BinaryIO, length: int) -> None:
        self._source = source
        self._length = length
        self._left = length

    def __len__(self) -> int:
        return self._length

    @property
    def sent(self) -> int:
        """How many bytes were read so far."""
        return self._length - self._left

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        want = min(want, UPLOAD_READ_SIZE)
        try:
            block = self._source.read(want)
        except OSError as exc:
            raise UploadSourceError(f"reading the data to upload failed: {exc.strerror or exc}"
                                    ) from None
        if not block:
            raise UploadSourceError(f"the data to upload ended {self._left} bytes early")
        self._left -= len(block)
        return block

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(UPLOAD_READ_SIZE):
            yield block


def metadata(values: Mapping[str, str]) -> str:
    """``Upload-Metadata``: ``key base64(value)`` pairs, comma-separated."""
    return ",".join(f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
                    for key, value in values.items())


def tus_error(status: int, response: requests.Response, what: str, *,
              upload_url_call: bool, now: float | None = None) -> PutioError:
    """The exception for a TUS answer that is not a success (see the module doc)."""
    envelope = decode_envelope(response.headers.get("Content-Type"), response.content)
    kind = (error_type_of(envelope) or "").upper()
    if status in (409, 423):
        return UploadOffsetError(f"{what}: the server is at another offset or still holds the "
                                 f"upload (HTTP {status})", status=status)
    if status == 413 or any(word in kind for word in _QUOTA_WORDS):
        message = error_message(envelope)
        return QuotaExceededError(f"{what}: put.io has no room for this upload"
                                  + (f" ({message})" if message else f" (HTTP {status})"),
                                  status=status)
    if upload_url_call and status in (404, 410):
        return NotFoundError(f"{what}: the upload is gone (HTTP {status})", status=status)
    return error_for(status, envelope, response.headers, what, now=now)


class TusClient:
    """TUS create, send, offset and abort, over the v2 wire (whose token, session, timeouts
    and retry policy they use)."""

    def __init__(self, wire: V2Wire) -> None:
        self.wire = wire

    def __repr__(self) -> str:
        return f"TusClient({self.wire!r})"

    def create(self, upload_url: str, parent_id: str, name: str, size: int,
               mtime: float | None) -> tuple[str, TusAnswer]:
        """A new upload's absolute URL, and what the answer said (a zero-length upload may be
        complete at once: then ``file_id`` is set). Repeated after temporary failures."""
        meta = {"name": name, "parent_id": str(parent_id), "no-torrent": "true"}
        if mtime is not None:
            meta["updated-at"] = format_time(mtime)
        headers = {"Upload-Length": str(size), "Upload-Metadata": metadata(meta)}
        what = "TUS create"
        base = upload_url.rstrip("/") + "/files/"

        def attempt() -> tuple[str, TusAnswer]:
            response = self._request("POST", base, what, headers, upload_url_call=False)
            if response.status_code != 201:
                raise ServerError(f"{what}: unexpected answer HTTP {response.status_code}",
                                  status=response.status_code)
            location = response.headers.get("Location")
            if not location:
                raise ServerError(f"{what}: the answer held no Location")
            url = urljoin(base, location.strip())
            register_url_secret(url)
            if not same_origin(url, upload_url):
                raise BadRequestError(f"{what}: the upload URL is on another host than "
                                      f"{urlsplit(upload_url).netloc}; not sending the token "
                                      "there")
            return url, _answer(response, what, size, default_offset=0)

        return self.wire.retried(attempt, what)  # type: ignore[return-value]  # never None

    def offset(self, url: str, size: int) -> int:
        """The server's offset (HEAD); NotFoundError if the upload is gone."""
        what = "TUS HEAD"

        def attempt() -> int:
            response = self._request("HEAD", url, what, {}, upload_url_call=True)
            if response.status_code != 200:
                raise ServerError(f"{what}: unexpected answer HTTP {response.status_code}",
                                  status=response.status_code)
            return _answer(response, what, size).offset

        return self.wire.retried(attempt, what)  # type: ignore[return-value]  # never None

    def send(self, url: str, size: int, offset: int, body: BinaryIO, length: int) -> TusAnswer:
        """One PATCH of ``length`` bytes of ``body`` at ``offset``; never repeated."""
        what = "TUS PATCH"
        if offset < 0 or length < 0 or offset + length > size:
            raise ValueError(f"{what}: {length} bytes at {offset} do not fit an upload of "
                             f"{size} bytes")
        headers = {"Upload-Offset": str(offset),
                   "Content-Type": "application/offset+octet-stream"}
        data: LimitedReader | bytes = LimitedReader(body, length) if length else b""
        response = self._request("PATCH", url, what, headers, data=data, upload_url_call=True)
        if response.status_code not in (200, 204):
            raise ServerError(f"{what}: unexpected answer HTTP {response.status_code}",
                              status=response.status_code)
        return _answer(response, what, size)

    def abort(self, url: str) -> None:
        """Drop the upload (DELETE); NotFoundError if the server has forgotten it already."""
        what = "TUS DELETE"

        def attempt() -> None:
            response = self._request("DELETE", url, what, {}, upload_url_call=True)
            if response.status_code not in (200, 204):
                raise ServerError(f"{what}: unexpected answer HTTP {response.status_code}",
                                  status=response.status_code)

        self.wire.retried(attempt, what, gone_is_done=True)

    def _request(self, method: str, url: str, what: str, headers: Mapping[str, str], *,
                 upload_url_call: bool, data: Any = None) -> requests.Response:
        """One request; an error answer raised as :func:`tus_error` says."""
        sent = {**self.wire.request_headers(), "Tus-Resumable": TUS_VERSION, **headers}
        response = self.wire.exchange(method, url, what, headers=sent, data=data)
        if 200 <= response.status_code < 300:
            return response
        raise tus_error(response.status_code, response, what, upload_url_call=upload_url_call,
                        now=self.wire.wall_clock())


def same_origin(url: str, upload_url: str) -> bool:
    """``url`` is on the upload URL's scheme, host and port (where the token may go)."""
    a, b = urlsplit(url), urlsplit(upload_url)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def _answer(response: requests.Response, what: str, size: int,
            default_offset: int | None = None) -> TusAnswer:
    """``Upload-Offset`` (within ``0 .. size``) and ``Putio-File-Id`` of a TUS answer."""
    text = response.headers.get("Upload-Offset")
    if text is None and default_offset is not None:
        offset = default_offset
    else:
        try:
            offset = int((text or "").strip())
        except ValueError:
            raise ServerError(f"{what}: the answer held no valid Upload-Offset") from None
        if not 0 <= offset <= size:
            raise ServerError(f"{what}: Upload-Offset {offset} is outside the upload's "
                              f"{size} bytes")
    file_id = (response.headers.get("Putio-File-Id") or "").strip()
    if file_id and not file_id.isdigit():
        raise ServerError(f"{what}: the answer held an invalid Putio-File-Id")
    # put.io names the new item once the upload is complete, never before
    return TusAnswer(offset=offset, file_id=file_id if file_id and offset == size else None)
