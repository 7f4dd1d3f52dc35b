"""Streaming reads of one open file over a kept-open HTTP Range GET.

A :class:`StreamReader` serves ``read(offset, length)`` for one FUSE file handle. It knows
nothing about FUSE or put.io's API: it is handed a ``requests.Session`` and a URL provider.

How a read is served, cheapest first:

* the **edge blocks**: the first and last ``edge_cache`` bytes of the file, fetched whole on
  first touch and kept (players read the header, then the index at the end, then play);
* the **back buffer**: the most recent ``back_buffer`` bytes taken from the stream, which absorbs
  the slightly out-of-order and backward requests the kernel's readahead sends from several
  threads;
* the **open stream**: a Range GET consumed incrementally. A jump forward of at most
  ``forward_skip_max`` bytes is read through; a farther jump closes it and reopens at the new
  offset;
* the **side segment**: a request at most ``forward_skip_max`` bytes before the back buffer (a
  late block of the kernel's readahead, which sends blocks in parallel from several threads
  when ``read_ahead_kb`` is raised, or a short seek back) is fetched by a bounded GET of its
  own, leaving the stream and its window alone. That GET reaches at most to the back buffer;
  its window starts at ``readahead_min`` and doubles while side reads follow each other.
  Farther back is a seek.

Each GET asks for a window (``bytes=start-end``) that starts at ``readahead_min`` and doubles
every time a window is read to its end sequentially; once it reaches ``readahead_max`` the GET is
open-ended (``bytes=start-``), so a whole-file copy costs a handful of GETs whatever the file's
size. A far seek resets the window. Bounded windows keep random access cheap: what is left of a
small window is drained and the keep-alive connection reused, not torn down. When the stream
URL redirects (a CDN), later GETs of the handle go straight to the redirect target until it
refuses (401/403/404/410), then through the stream URL again.

GETs go straight through the session's urllib3 connection pool when requests would send them
the same way (plain adapter, no proxy, no session auth or cookies): requests' own per-call work
costs more than a loopback Range GET (about 0.9 ms against 0.5 ms). A read that is exactly one
socket read of the stream is returned without a copy.

The first late block also doubles the back buffer (once: at most ``2 * back_buffer``), since
the kernel's readahead evidently runs wider than it: with ``read_ahead_kb`` at 4096 that takes
a 1 GiB read from 63-176 GETs to 9.

Memory per handle is bounded by ``2 * back_buffer + forward_skip_max + 2 * edge_cache`` (back
buffer, side segment, edge blocks) plus the bytes of the read in
progress (the kernel caps those: 128 KiB on libfuse2, 1 MiB on libfuse3) and one socket read of
at most 1 MiB (256 KiB until the stream is open-ended: a deep sequential read takes 1 MiB per
socket read, so several kernel requests are served from the buffer per trip through urllib3).

Every answer is checked: 206 with a Content-Range equal to the request (start, end and the
file's total size), or 200 only for a request from byte 0 with the whole file following. Anything
else is an error, never data. A dropped, timed-out or stalled body is resumed at the exact byte
still needed, up to ``max_attempts`` consecutive failures (progress resets the count; the
default, 8, makes a read fail on a server that fails one request in ten about once in 10^8
reads instead of once in 10^4, and the deadline still bounds the time), and a
whole ``read()`` never takes longer than ``deadline``. Log lines name the handle by ``label`` and
never show the URL, which carries a token.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy

from putiofs.client import parse_retry_after
from putiofs.errors import (
    AuthenticationError,
    NotFoundError,
    PutioError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from putiofs.logs import note_redirect, register_url_secret

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024          # at most this much per socket read
_AHEAD = 1024 * 1024         # socket read size once the stream is open-ended (deep sequential)
_DRAIN_MAX = 64 * 1024       # a response with at most this much left is drained, not closed
_DRAIN_TIME = 1.0            # ... if that takes at most this long per socket read
_BACKOFF_FIRST = 0.05
_BACKOFF_MAX = 1.0
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)

# What a broken connection can raise while a body is being read.
_BODY_ERRORS = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
                requests.RequestException)


class _Retry(Exception):
    """A failure worth another attempt; ``final`` is what to raise when attempts run out."""

    def __init__(self, final: PutioError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


class _TooManyRedirects(Exception):
    pass


class _Answer:
    """What the reader needs of a streamed response, from requests or straight from urllib3."""

    __slots__ = ("raw", "status_code", "headers", "url", "redirected")

    def __init__(self, raw: urllib3.BaseHTTPResponse, status: int, headers: Mapping[str, str],
                 url: str, redirected: bool) -> None:
        self.raw = raw
        self.status_code = status
        self.headers = headers
        self.url = url
        self.redirected = redirected

    def close(self) -> None:
        """Close the body; a connection whose body was read to the end is already pooled."""
        self.raw.close()
        self.raw.release_conn()


_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 10
_direct_cache: weakref.WeakKeyDictionary[requests.Session, dict[str, Any]] = (
    weakref.WeakKeyDictionary())
_direct_lock = threading.Lock()


def _direct_pool(session: requests.Session, url: str) -> Any:
    """The urllib3 connection pool requests would use for ``url``, or None to go through
    ``session.get`` (proxy, custom adapter, session auth or cookies). Decided once per host."""
    parts = urlsplit(url)
    key = f"{parts.scheme}://{parts.netloc}".lower()
    with _direct_lock:
        per_session = _direct_cache.setdefault(session, {})
        decided = per_session.get(key, _UNDECIDED)
    if decided is _UNDECIDED:
        decided = _decide_direct(session, url)
        with _direct_lock:
            per_session[key] = decided
    if decided is None:
        return None
    pool = decided[4]
    if pool is None or pool.pool is None:  # not fetched yet, or closed by the pool manager
        adapter, prepared, verify, cert = decided[:4]
        pool = decided[4] = adapter.get_connection_with_tls_context(prepared, verify, None, cert)
    return pool


_UNDECIDED = object()


def _decide_direct(session: requests.Session, url: str) -> list[Any] | None:
    try:
        adapter = session.get_adapter(url)
    except requests.RequestException:
        return None
    if (type(adapter) is not HTTPAdapter
            or not hasattr(adapter, "get_connection_with_tls_context")
            or session.auth is not None or len(session.cookies) or session.hooks.get("response")):
        return None
    env = session.merge_environment_settings(url, {}, None, None, None)
    if select_proxy(url, env.get("proxies") or {}):
        return None
    base = urlsplit(url)
    prepared = requests.Request("GET", f"{base.scheme}://{base.netloc}/").prepare()
    return [adapter, prepared, env.get("verify", True), env.get("cert"), None]


def _session_headers(session: requests.Session) -> dict[str, str]:
    return {k: v for k, v in session.headers.items() if v is not None}


class StreamReader:
    """Serves reads of one open remote file from one kept-open HTTP Range stream.

    ``url_provider(refresh)`` returns the full stream URL, token included; ``refresh=True`` asks
    for a fresh token and is called once after a 401/403. It is called before every GET, so it
    should be cheap (the caller caches the token). ``read`` may be called from several threads;
    calls on one reader are serialised by a lock. ``close`` waits for a read in progress (at
    most ``deadline``).
    """

    def __init__(
        self,
        session: requests.Session,
        url_provider: Callable[[bool], str],
        size: int,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_attempts: int = 8,
        deadline: float = 60.0,
        readahead_min: int = 128 * 1024,
        readahead_max: int = 8 * 1024 * 1024,
        forward_skip_max: int = 4 * 1024 * 1024,
        back_buffer: int = 4 * 1024 * 1024,
        edge_cache: int = 256 * 1024,
        label: str = "",
    ) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self._session = session
        self._url_provider = url_provider
        self._size = size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max(1, max_attempts)
        self._deadline = deadline
        self._readahead_min = max(1, readahead_min)
        self._readahead_max = max(self._readahead_min, readahead_max)
        self._forward_skip_max = max(0, forward_skip_max)
        self._back_buffer = max(0, back_buffer)
        self._back_max = 2 * self._back_buffer  # what late readahead blocks may grow it to
        self._label = label or "stream"

        self._head_end = min(max(0, edge_cache), size)
        self._tail_start = max(self._head_end, size - max(0, edge_cache))
        self._head: bytes | None = None
        self._tail: bytes | None = None

        self._lock = threading.Lock()
        self._closed = False
        self._resp: _Answer | None = None
        self._resp_end = 0            # exclusive end of what the open response will send
        self._window = 0              # size of the last GET's window; 0 before the first GET
        self._pos = 0                 # next byte the stream delivers; the buffer ends here
        self._buf_start = 0
        self._chunks: deque[tuple[int, bytes]] = deque()
        self._side = b""              # the side segment: bytes fetched behind the back buffer
        self._side_start = 0
        self._side_window = 0
        self._failures = 0            # consecutive failed attempts in the current read
        self._refreshed = False       # the token was refreshed during the current read
        self._resuming = False        # the next GET continues after a failure
        self._target: str | None = None   # where the stream URL last redirected to

    def __repr__(self) -> str:
        return f"StreamReader({self._label!r}, size={self._size})"

    @property
    def size(self) -> int:
        return self._size

    @property
    def buffered(self) -> int:
        """Bytes of file data this reader holds now (back buffer and edge blocks)."""
        return (sum(len(data) for _, data in self._chunks) + len(self._head or b"")
                + len(self._tail or b"") + len(self._side))

    # -- public --------------------------------------------------------------------------

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``min(length, size - offset)`` bytes from ``offset``; ``b""`` at or past EOF.

        Raises AuthenticationError, NotFoundError, ServerError or TransportError (also when the
        call would take longer than ``deadline``); never returns bytes the server did not
        promise for exactly this range.
        """
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        end = min(offset + length, self._size)
        if offset >= end:
            return b""
        deadline = time.monotonic() + self._deadline
        if not self._lock.acquire(timeout=max(0.0, self._deadline)):
            raise TransportError("read timed out waiting for another read of the same file")
        try:
            if self._closed:
                raise TransportError("read of a closed file handle")
            self._failures = 0
            self._refreshed = False
            data = self._read_locked(offset, end, deadline)
        finally:
            self._lock.release()
        if len(data) != end - offset:
            raise ServerError(f"{self._label}: assembled {len(data)} bytes, expected "
                              f"{end - offset}")
        return data

    def close(self) -> None:
        """Release the HTTP connection (drained back to the pool if little is left). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._discard(reuse=True)
            self._chunks.clear()
            self._side = b""
            self._head = self._tail = None
            self._target = None

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- assembling a read ---------------------------------------------------------------

    def _read_locked(self, offset: int, end: int, deadline: float) -> bytes:
        head_end, tail_start = self._head_end, self._tail_start
        if self._head is None and offset < head_end:
            self._head = self._fetch(0, head_end, deadline)
        if self._tail is None and tail_start < self._size and end > tail_start:
            self._tail = self._fetch(tail_start, self._size, deadline)
        pieces: list[bytes] = []
        cur = offset
        while cur < end:
            if self._head is not None and cur < head_end:
                stop = min(end, head_end)
                pieces.append(self._head[cur:stop])
            elif self._tail is not None and cur >= tail_start:
                stop = end
                pieces.append(self._tail[cur - tail_start:stop - tail_start])
            else:
                stop = min(end, tail_start) if self._tail is not None else end
                pieces.append(self._fetch(cur, stop, deadline))
            cur = stop
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _fetch(self, start: int, end: int, deadline: float) -> bytes:
        """Bytes [start, end) from the back buffer and the stream, reopening as needed."""
        pieces: list[bytes] = []
        cur = start
        while cur < end:
            if self._buf_start <= cur < self._pos:
                stop = min(end, self._pos)
                pieces.append(self._copy(cur, stop))
                cur = stop
                continue
            side_end = self._side_start + len(self._side)
            if self._side_start <= cur < side_end:
                stop = min(end, side_end)
                pieces.append(self._side[cur - self._side_start:stop - self._side_start])
                cur = stop
                continue
            try:
                if self._behind(cur):
                    self._side_read(cur, end, deadline)
                    continue
                if not self._can_serve(cur):
                    self._open(cur, end, deadline)
                self._pull(min(end, self._resp_end), cur, deadline)
            except _Retry as failure:
                self._discard(reuse=False)
                self._target = None
                self._failures += 1
                if self._failures >= self._max_attempts:
                    log.debug("%s: giving up after %d attempts: %s", self._label,
                              self._failures, failure)
                    raise failure.final from None
                self._backoff(deadline, failure)
                self._resuming = True
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _behind(self, cur: int) -> bool:
        """``cur`` is a little before the back buffer: a late request of the kernel's readahead
        (it sends blocks from several threads), not a seek worth giving up the stream for."""
        return (self._window > 0 and cur < self._buf_start
                and self._buf_start - cur <= self._forward_skip_max)

    def _side_read(self, start: int, want_end: int, deadline: float) -> None:
        """Fetch from ``start`` towards the back buffer by a GET of its own into the side
        segment, leaving the stream and its window alone. The side window starts at
        ``readahead_min`` and doubles while side reads follow each other, so reading on after a
        short seek backwards costs a few GETs, not one per kernel request."""
        # late blocks: this stream's readahead runs wider than the buffer; let it hold more
        self._back_buffer = min(self._back_buffer * 2, self._back_max)
        follows = self._side and start == self._side_start + len(self._side)
        window = (min(self._side_window * 2, self._readahead_max) if follows
                  else self._readahead_min)
        stop = min(self._buf_start, start + max(window, want_end - start))
        resp, _ = self._request(start, stop, deadline)
        pieces: list[bytes] = []
        cur = start
        try:
            while cur < stop:
                _set_socket_timeout(resp, min(self._read_timeout, self._remaining(deadline)))
                try:
                    data = resp.raw.read1(min(stop - cur, _AHEAD), decode_content=False)
                except _BODY_ERRORS as exc:
                    raise _Retry(TransportError(
                        f"{self._label}: GET from byte {start} broke at byte {cur}: "
                        f"{type(exc).__name__}")) from None
                if not data:
                    raise _Retry(ServerError(f"{self._label}: body ended at byte {cur}, "
                                             f"{stop} promised"))
                pieces.append(data)
                cur += len(data)
        finally:
            resp.close()  # read to its end, the connection is back in the pool already
        log.debug("%s: bytes %d-%d by a side GET (window %d)", self._label, start, stop - 1,
                  window)
        self._side_start, self._side_window = start, window
        self._side = pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _can_serve(self, cur: int) -> bool:
        """The open response reaches ``cur`` by reading forward a short way."""
        return (self._resp is not None and self._pos < self._resp_end
                and self._pos <= cur <= self._pos + self._forward_skip_max)

    # -- the back buffer -----------------------------------------------------------------

    def _copy(self, start: int, stop: int) -> bytes:
        out: list[memoryview] = []
        for chunk_start, data in reversed(self._chunks):  # sequential reads want the newest
            chunk_end = chunk_start + len(data)
            if chunk_start >= stop:
                continue
            if chunk_end <= start:
                break
            if chunk_start == start and chunk_end == stop:
                return data  # the common sequential case: the read is one socket read, no copy
            out.append(memoryview(data)[max(start, chunk_start) - chunk_start:
                                        min(stop, chunk_end) - chunk_start])
        out.reverse()
        return b"".join(out)

    def _append(self, data: bytes, keep_from: int) -> None:
        self._chunks.append((self._pos, data))
        self._pos += len(data)
        limit = min(self._pos - self._back_buffer, keep_from)
        while self._chunks:
            chunk_start, first = self._chunks[0]
            if chunk_start + len(first) > limit:
                break
            self._chunks.popleft()
        self._buf_start = self._chunks[0][0] if self._chunks else self._pos

    def _reset_buffer(self, pos: int) -> None:
        self._side = b""
        self._chunks.clear()
        self._buf_start = self._pos = pos

    # -- the HTTP stream -----------------------------------------------------------------

    def _open(self, cur: int, want_end: int, deadline: float) -> None:
        """Start a GET that will deliver ``cur`` (from ``self._pos`` when that is close)."""
        near = self._window > 0 and self._pos <= cur <= self._pos + self._forward_skip_max
        if self._resuming:
            reason = "resume"
        elif near:
            reason = "sequential"
            self._window = min(self._window * 2, self._readahead_max)
        else:
            reason = "first read" if self._window == 0 else "seek"
            self._window = self._readahead_min
        self._resuming = False
        self._discard(reuse=True, deadline=deadline)
        if not near:
            self._reset_buffer(cur)
        start = self._pos
        if self._window >= self._readahead_max:
            req_end = self._size
        else:
            req_end = min(self._size, start + max(self._window, want_end - start))
        log.debug("%s: GET bytes %d-%d (%s, window %d)", self._label, start, req_end - 1,
                  reason, self._window)
        self._resp, self._resp_end = self._request(start, req_end, deadline)

    def _request(self, start: int, req_end: int, deadline: float) -> tuple[_Answer, int]:
        """One checked Range GET for [start, req_end); returns the response and its end."""
        spec = f"bytes={start}-" if req_end >= self._size else f"bytes={start}-{req_end - 1}"
        headers = {"Range": spec, "Accept-Encoding": "identity"}
        refresh = False
        while True:
            direct = self._target
            url = direct or self._url_provider(refresh)  # may be an API call: time it too
            refresh = False
            remaining = self._remaining(deadline)
            try:
                resp = self._get(url, headers, min(self._connect_timeout, remaining),
                                 min(self._read_timeout, remaining))
            except (requests.TooManyRedirects, _TooManyRedirects):
                raise ServerError(f"{self._label}: too many redirects") from None
            except (requests.RequestException, *_BODY_ERRORS) as exc:
                self._target = None
                # str(exc) would carry the URL and its token: name the type only.
                raise _Retry(TransportError(
                    f"{self._label}: GET from byte {start} failed: {type(exc).__name__}")) from None
            status = resp.status_code
            if direct is not None and status in (401, 403, 404, 410):
                resp.close()
                log.debug("%s: redirect target answered %d, asking again", self._label, status)
                self._target = None
                continue
            if status in (401, 403):
                resp.close()
                if self._refreshed:
                    raise AuthenticationError(
                        f"{self._label}: stream refused ({status}) after a token refresh",
                        status=status)
                log.debug("%s: stream answered %d, refreshing the token", self._label, status)
                self._refreshed = True
                refresh = True
                continue
            try:
                end = self._check(resp, start, req_end)
            except BaseException:
                resp.close()
                raise
            if direct is None and resp.redirected:
                self._target = resp.url  # later GETs of this handle skip the redirect hop
            return resp, end

    def _get(self, url: str, headers: dict[str, str], connect: float, read: float) -> _Answer:
        """GET with a streamed body, following redirects.

        Straight through the session's urllib3 pool where that is what requests would do anyway
        (a plain HTTPAdapter, no proxy, no session auth or cookies): requests' per-call work
        (environment proxies, hooks, cookie jars) costs more than a loopback GET itself. Anything
        else goes through ``session.get``.
        """
        redirected = False
        for _ in range(_MAX_REDIRECTS + 1):
            pool = _direct_pool(self._session, url)
            if pool is None:
                resp = self._session.get(url, headers=headers, stream=True, allow_redirects=True,
                                         timeout=(connect, read),
                                         hooks={"response": note_redirect})
                return _Answer(resp.raw, resp.status_code, resp.headers, resp.url,
                               redirected or bool(resp.history))
            parts = urlsplit(url)
            raw = pool.urlopen(
                "GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                headers={**_session_headers(self._session), **headers}, redirect=False,
                retries=False, preload_content=False, decode_content=False,
                assert_same_host=False, timeout=urllib3.Timeout(connect=connect, read=read))
            location = raw.headers.get("Location")
            if raw.status not in _REDIRECTS or not location:
                return _Answer(raw, raw.status, raw.headers, url, redirected)
            raw.drain_conn()
            raw.release_conn()
            url = urljoin(url, location)
            register_url_secret(url)  # a signed link: never in a log line
            redirected = True
        raise _TooManyRedirects()

    def _check(self, resp: _Answer, start: int, req_end: int) -> int:
        """Validate status and headers against the request; the response's exclusive end."""
        status = resp.status_code
        label = self._label
        if status in (404, 410):
            raise NotFoundError(f"{label}: the file is gone ({status})", status=status)
        if status == 429:
            retry_after = parse_retry_after(resp.headers)
            raise _Retry(RateLimitedError(f"{label}: stream rate limited",
                                          retry_after=retry_after), retry_after)
        if status >= 500:
            raise _Retry(ServerError(f"{label}: stream answered {status}", status=status))
        if status not in (200, 206):
            raise ServerError(f"{label}: unexpected answer {status} to a Range GET from byte "
                              f"{start}", status=status)
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ServerError(f"{label}: stream sent Content-Encoding {encoding!r}", status=status)
        length = resp.headers.get("Content-Length")
        if status == 200:
            if start != 0:
                raise ServerError(f"{label}: server ignored Range (200 for a read from byte "
                                  f"{start})", status=status)
            if length is not None and length.strip() != str(self._size):
                raise ServerError(f"{label}: 200 with Content-Length {length.strip()!r}, file "
                                  f"size {self._size}", status=status)
            return self._size
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        want = (start, req_end - 1, str(self._size))
        got = (int(match.group(1)), int(match.group(2)), match.group(3)) if match else None
        if got != want:
            raise ServerError(f"{label}: Content-Range {resp.headers.get('Content-Range')!r} "
                              f"does not match bytes {want[0]}-{want[1]}/{want[2]}",
                              status=status)
        if length is not None and length.strip() != str(req_end - start):
            raise ServerError(f"{label}: Content-Length {length.strip()!r} does not match "
                              f"bytes {start}-{req_end - 1}", status=status)
        return req_end

    def _pull(self, target: int, keep_from: int, deadline: float) -> None:
        """Read the open response up to ``target`` into the back buffer."""
        resp = self._resp
        assert resp is not None
        while self._pos < target:
            remaining = self._remaining(deadline)
            _set_socket_timeout(resp, min(self._read_timeout, remaining))
            try:
                want = min(target - self._pos, _CHUNK)
                if self._window >= self._readahead_max:
                    # one socket read serves the next several kernel requests from the buffer
                    want = min(_AHEAD, self._resp_end - self._pos)
                data = resp.raw.read1(want, decode_content=False)
            except _BODY_ERRORS as exc:
                raise _Retry(TransportError(
                    f"{self._label}: stream broke at byte {self._pos}: {type(exc).__name__}")
                ) from None
            if not data:
                raise _Retry(ServerError(
                    f"{self._label}: body ended at byte {self._pos}, "
                    f"{self._resp_end} promised"))
            self._append(data, keep_from)
            self._failures = 0
        if self._pos >= self._resp_end:
            self._resp = None
            resp.close()  # fully read: urllib3 has already put the connection back in the pool

    def _discard(self, *, reuse: bool, deadline: float | None = None) -> None:
        """Let go of the open response: drain a short rest to keep the connection, else close."""
        resp, self._resp = self._resp, None
        if resp is None:
            return
        left = self._resp_end - self._pos
        budget = min(_DRAIN_TIME, self._read_timeout)
        if deadline is not None:
            budget = min(budget, deadline - time.monotonic())
        if reuse and 0 < left <= _DRAIN_MAX and budget > 0:
            try:
                _set_socket_timeout(resp, budget)
                while left > 0:
                    data = resp.raw.read1(left, decode_content=False)
                    if not data:
                        break
                    left -= len(data)
            except _BODY_ERRORS:
                pass
        resp.close()

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransportError(f"{self._label}: read took longer than {self._deadline:g} s")
        return remaining

    def _backoff(self, deadline: float, failure: _Retry) -> None:
        delay = min(_BACKOFF_FIRST * 2 ** (self._failures - 1), _BACKOFF_MAX)
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        remaining = deadline - time.monotonic()
        if delay >= remaining:
            raise TransportError(f"{self._label}: read took longer than {self._deadline:g} s "
                                 f"(last failure: {failure})") from None
        log.debug("%s: attempt %d failed (%s); retrying in %.2f s", self._label,
                  self._failures, failure, delay)
        time.sleep(delay)


def _set_socket_timeout(resp: _Answer, timeout: float) -> None:
    """Bound the next socket read of a streamed body (urllib3 keeps the connection on it)."""
    sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, timeout))
