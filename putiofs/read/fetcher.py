"""Checked HTTP Range requests for one remote file: the network part of a StreamReader.

A :class:`RangeFetcher` turns "bytes ``[start, end)`` of this file" into a :class:`RangeBody`
that delivers exactly those bytes, or raises. It knows nothing of buffering (that is
:mod:`putiofs.read.buffer`) nor of put.io: it is handed a session and a URL provider.

* **Checked answers.** 206 with a Content-Range equal to the request (start, end and the
  file's total size) and a matching Content-Length, or 200 only for a request from byte 0 with
  the whole file following; identity encoding only. Anything else is an error, never data.
* **Resume at the exact byte.** A dropped, timed-out or stalled body, a 5xx or a 429 is retried
  with a new Range GET from the first byte still needed, up to ``max_attempts`` consecutive
  failures (progress resets the count), waiting as :class:`putiofs.net.retry.RetryPolicy` says
  (exponential backoff with full jitter, at least what a 429 asks for).
* **Refused tokens.** A 401/403 asks the URL provider for a fresh URL (``refresh=True``) and
  tries again, as often as the URL is refused: a stream token that expires between two GETs of
  one read is simply renewed again. Only a refusal of the URL a refresh has just produced,
  with no other answer in between, is an :class:`AuthenticationError`.
* **Redirects** (a CDN) are followed; later GETs go straight to the redirect target until it
  refuses (401/403/404/410), then through the stream URL again.
* **The bandwidth limit.** With a ``limit`` (the mount's download bucket,
  :mod:`putiofs.net.bandwidth`), every socket read of a body is paid for once it returned,
  outside the watchdog's guard: the read waits there, never beyond half the deadline left.
* **The deadline.** Every request and every socket read is bounded by the calling thread's
  :mod:`putiofs.net.deadline`: socket timeouts are clipped to the time left, and the fetcher's
  :class:`putiofs.net.http.Watch` is armed around each GET and each socket read, so the watchdog
  shuts the connection down when the deadline passes even if the server trickles bytes (with a
  session from :func:`putiofs.net.http.new_session`; other sessions are bounded by socket timeouts
  only). A socket read silent for ``read_timeout`` counts as a stall and is resumed.

GETs go straight through the session's urllib3 connection pool when requests would send them
the same way (:func:`putiofs.net.http.direct_pool`). Log lines and errors name
the file by ``label`` and never show the URL, which carries a token.
"""

from __future__ import annotations

import http.client
import logging
import math
import re
from collections.abc import Callable, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from putiofs.api.errors import (
    AuthenticationError,
    NotFoundError,
    PutioError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from putiofs.logs import note_redirect, register_url_secret
from putiofs.net import deadline
from putiofs.net.bandwidth import TokenBucket
from putiofs.net.http import Watch, direct_pool, guard, live_socket, session_headers
from putiofs.net.retry import Backoff, RetryPolicy, rate_limit_wait

log = logging.getLogger("putiofs.read")

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 10

# What a broken connection can raise while a body is being read.
_BODY_ERRORS = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
                requests.RequestException)


class _Retry(Exception):
    """A failure worth another attempt; ``final`` is what to raise when attempts run out."""

    def __init__(self, final: PutioError) -> None:
        super().__init__(str(final))
        self.final = final


class _TooManyRedirects(Exception):
    pass


class _Answer:
    """What the fetcher needs of a streamed response, from requests or straight from urllib3."""

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

    def finish(self) -> None:
        """The whole body has been read: give the (reusable) connection back to the pool."""
        plain = _plain_response(self.raw)
        if plain is not None and not plain.isclosed():
            plain.read()   # the length left is 0: http.client ends the response (no I/O)
        self.raw.release_conn()


class RangeBody:
    """Bytes of the file from ``start`` as they arrive; ``pos`` is the next byte, ``end`` the
    end of what the server promised (the file's end when it answered 200 to a GET from 0)."""

    __slots__ = ("_fetcher", "start", "end", "pos", "_answer", "_failures")

    def __init__(self, fetcher: RangeFetcher, start: int, end: int) -> None:
        self._fetcher = fetcher
        self.start = self.pos = start
        self.end = end
        self._answer: _Answer | None = None
        self._failures = 0

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with at most ``len(view)`` (> 0) bytes from ``pos``: at least one
        unless at ``end``, and what one socket read gives, written where the socket puts it.
        A broken or stalled body is resumed at ``pos``; raises when attempts or time run out."""
        if self.pos >= self.end:
            return 0
        if len(view) > self.end - self.pos:
            view = view[:self.end - self.pos]
        fetcher = self._fetcher
        while True:
            if self._answer is None:
                self.connect()
            assert self._answer is not None
            try:
                count = fetcher._readinto1(self._answer, view, self.pos)
            except _Retry as failure:
                self._drop()
                self._failures += 1
                fetcher._wait_after(self._failures, failure)
                continue
            self.pos += count
            self._failures = 0
            if fetcher.limit is not None:
                fetcher.limit.spend(count)
            if self.pos >= self.end:
                answer, self._answer = self._answer, None
                answer.finish()   # read to its end: the connection goes back to the pool
            return count

    def connect(self) -> None:
        """Send the GET for ``[pos, end)`` (again, after a failure), retrying as needed."""
        while True:
            try:
                self._answer, self.end = self._fetcher._request(self.pos, self.end)
                return
            except _Retry as failure:
                self._failures += 1
                self._fetcher._wait_after(self._failures, failure)

    def close(self, *, reuse: bool = True) -> None:
        """Let go: drain a short rest to keep the connection (``reuse``), else close it."""
        answer, self._answer = self._answer, None
        if answer is not None:
            self._fetcher._release(answer, self.end - self.pos, reuse)

    def _drop(self) -> None:
        answer, self._answer = self._answer, None
        if answer is not None:
            answer.close()


class RangeFetcher:
    """Range GETs of one file of ``size`` bytes at the URL ``url_provider(refresh)`` gives.

    ``url_provider(refresh)`` returns the full stream URL, token included; ``refresh=True``
    asks for a fresh token and is called whenever the URL is refused (401/403). It is called
    before every GET, so it should be cheap (the caller caches the token). A socket read silent
    for ``read_timeout`` is a stall and is resumed; ``max_attempts`` consecutive failures
    (progress resets the count; the default, 8, makes a read fail on a server that fails one
    request in ten about once in 10^8 reads instead of once in 10^4, and the deadline still
    bounds the time) end a read with the last error.

    Not thread-safe: one caller at a time (the StreamReader's lock).
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
        label: str = "stream",
        drain_max: int = 64 * 1024,
        drain_time: float = 1.0,
        limit: TokenBucket | None = None,
    ) -> None:
        self._session = session
        self.limit = limit
        self._url_provider = url_provider
        self.size = size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._label = label
        self._drain_max = drain_max
        self._drain_time = drain_time
        self._policy = RetryPolicy(attempts=max(1, max_attempts), backoff=Backoff(0.05, 1.0),
                                   max_time=math.inf, max_retry_after=math.inf)
        self._watch = Watch()
        self._target: str | None = None   # where the stream URL last redirected to
        self._just_refreshed = False      # the last URL came from a refresh, not yet answered

    def open(self, start: int, end: int) -> RangeBody:
        """A body from ``start`` to at least ``end``; its GET is sent now (retried as needed)."""
        body = RangeBody(self, start, end)
        if start < end:
            body.connect()
        return body

    def fetch(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` by a GET of their own."""
        out = bytearray(end - start)
        view = memoryview(out)
        body = self.open(start, end)
        try:
            while body.pos < end:
                body.readinto(view[body.pos - start:])
        finally:
            body.close()
        return bytes(out)

    def forget_target(self) -> None:
        """Go through the stream URL again next time (the handle is being closed)."""
        self._target = None

    # -- one attempt --------------------------------------------------------------------

    def _request(self, start: int, end: int) -> tuple[_Answer, int]:
        """One checked Range GET for ``[start, end)``: the answer and the end it promises."""
        spec = f"bytes={start}-" if end >= self.size else f"bytes={start}-{end - 1}"
        headers = {"Range": spec, "Accept-Encoding": "identity"}
        refresh = False
        while True:
            direct = self._target
            url = direct or self._url_provider(refresh)  # may be an API call: timed as well
            if refresh:
                self._just_refreshed = True
            refresh = False
            remaining = self._remaining()
            try:
                with guard(self._watch):
                    answer = self._get(url, headers, min(self._connect_timeout, remaining),
                                       min(self._read_timeout, remaining))
            except (requests.TooManyRedirects, _TooManyRedirects):
                raise ServerError(f"{self._label}: too many redirects") from None
            except (requests.RequestException, *_BODY_ERRORS) as exc:
                self._target = None
                self._out_of_time()
                # str(exc) would carry the URL and its token: name the type only.
                raise _Retry(TransportError(
                    f"{self._label}: GET from byte {start} failed: {type(exc).__name__}")) from None
            if deadline.expired():   # headers cut short by the watchdog: not an answer
                answer.close()
                self._out_of_time()
            status = answer.status_code
            if direct is not None and status in (401, 403, 404, 410):
                answer.close()
                log.debug("%s: redirect target answered %d, asking again", self._label, status)
                self._target = None
                continue
            if status in (401, 403):
                answer.close()
                if self._just_refreshed:
                    raise AuthenticationError(
                        f"{self._label}: stream refused ({status}) right after a token refresh",
                        status=status)
                log.debug("%s: stream answered %d, refreshing the token", self._label, status)
                refresh = True
                continue
            self._just_refreshed = False
            try:
                promised = self._check(answer, start, end)
            except BaseException:
                answer.close()
                raise
            if direct is None and answer.redirected:
                self._target = answer.url  # later GETs of this handle skip the redirect hop
            return answer, promised

    def _get(self, url: str, headers: dict[str, str], connect: float, read: float) -> _Answer:
        """GET with a streamed body, following redirects; straight through the session's
        urllib3 pool where that is what requests would do anyway, else ``session.get``."""
        redirected = False
        for _ in range(_MAX_REDIRECTS + 1):
            pool = direct_pool(self._session, url)
            if pool is None:
                resp = self._session.get(url, headers=headers, stream=True, allow_redirects=True,
                                         timeout=(connect, read),
                                         hooks={"response": note_redirect})
                return _Answer(resp.raw, resp.status_code, resp.headers, resp.url,
                               redirected or bool(resp.history))
            parts = urlsplit(url)
            raw = pool.urlopen(
                "GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                headers={**session_headers(self._session), **headers}, redirect=False,
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

    def _check(self, resp: _Answer, start: int, end: int) -> int:
        """Validate status and headers against the request for ``[start, end)``; the end of
        what the answer will send."""
        status = resp.status_code
        label = self._label
        if status in (404, 410):
            raise NotFoundError(f"{label}: the file is gone ({status})", status=status)
        if status == 429:
            raise _Retry(RateLimitedError(f"{label}: stream rate limited",
                                          retry_after=rate_limit_wait(resp.headers)))
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
            if length is not None and length.strip() != str(self.size):
                raise ServerError(f"{label}: 200 with Content-Length {length.strip()!r}, file "
                                  f"size {self.size}", status=status)
            return self.size
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        want = (start, end - 1, str(self.size))
        got = (int(match.group(1)), int(match.group(2)), match.group(3)) if match else None
        if got != want:
            raise ServerError(f"{label}: Content-Range {resp.headers.get('Content-Range')!r} "
                              f"does not match bytes {want[0]}-{want[1]}/{want[2]}",
                              status=status)
        if length is not None and length.strip() != str(end - start):
            raise ServerError(f"{label}: Content-Length {length.strip()!r} does not match "
                              f"bytes {start}-{end - 1}", status=status)
        return end

    def _readinto1(self, answer: _Answer, view: memoryview, pos: int) -> int:
        """One socket read of the body into ``view``, bounded by ``read_timeout`` and the
        deadline."""
        _set_socket_timeout(answer, min(self._read_timeout, self._remaining()))
        try:
            with guard(self._watch):
                count = _readinto1(answer.raw, view)
        except _BODY_ERRORS as exc:
            self._out_of_time()
            raise _Retry(TransportError(
                f"{self._label}: stream broke at byte {pos}: {type(exc).__name__}")) from None
        if not count:
            self._out_of_time()
            raise _Retry(ServerError(f"{self._label}: body ended at byte {pos}, before the "
                                     f"end of the range"))
        return count

    def _release(self, answer: _Answer, left: int, reuse: bool) -> None:
        """Let go of a body with ``left`` bytes unread: drained and its connection given back
        to the pool (``reuse``, and little left), else closed. (Closing a drained answer would
        close its connection too: urllib3's ``close`` does.)"""
        if reuse and 0 < left <= self._drain_max:
            budget = min(self._drain_time, self._read_timeout)
            try:
                with deadline.within(budget), guard(self._watch):
                    _set_socket_timeout(answer, budget)
                    while left > 0:
                        data = answer.raw.read1(left, decode_content=False)
                        if not data:
                            break
                        left -= len(data)
                if left == 0:
                    answer.finish()
                    return
            except _BODY_ERRORS:
                pass
        answer.close()

    # -- time and retries ---------------------------------------------------------------

    def _remaining(self) -> float:
        left = deadline.remaining()
        if left is None:
            return math.inf
        if left <= 0:
            raise TransportError(f"{self._label}: out of time for this read")
        return left

    def _out_of_time(self) -> None:
        """After a failed socket operation: was it the deadline (the watchdog) that ended it?
        (The watchdog fires only once the deadline has passed.)"""
        if deadline.expired():
            self._target = None
            raise TransportError(f"{self._label}: out of time for this read")

    def _wait_after(self, failures: int, failure: _Retry) -> None:
        """Sleep before the next attempt, or raise: the last error once ``max_attempts``
        consecutive failures are reached, TransportError when the wait would pass the
        deadline."""
        if failures >= self._policy.attempts:
            log.debug("%s: giving up after %d attempts: %s", self._label, failures, failure)
            raise failure.final from None
        wait = self._policy.next_delay(failures, failure.final, 0.0)
        if wait is None:
            raise TransportError(f"{self._label}: out of time for this read (last failure: "
                                 f"{failure})") from None
        log.debug("%s: attempt %d failed (%s); retrying in %.2f s", self._label, failures,
                  failure, wait)
        self._policy.sleep(wait)


def _plain_response(raw: urllib3.BaseHTTPResponse) -> http.client.HTTPResponse | None:
    """The http.client response under urllib3's, when its body can be read without urllib3
    (identity, a known length: what :meth:`RangeFetcher._check` lets through)."""
    plain = getattr(raw, "_fp", None)
    if (isinstance(plain, http.client.HTTPResponse) and not plain.chunked
            and plain.length is not None and hasattr(plain.fp, "readinto1")):
        return plain
    return None


def _readinto1(raw: urllib3.BaseHTTPResponse, view: memoryview) -> int:
    """At most one socket read of ``raw``'s body, straight into ``view``.

    urllib3's and http.client's own ``read1`` return a new ``bytes`` per call; here the bytes
    http.client's buffered reader already holds, or else one ``recv_into``, land in ``view``.
    http.client's count of what is left is kept, so the response ends (and the connection can
    be reused) exactly as if http.client had read it. Any other response: ``read1`` and a copy.
    """
    plain = _plain_response(raw)
    if plain is None:
        data = raw.read1(len(view), decode_content=False)
        view[:len(data)] = data
        return len(data)
    if plain.fp is None or plain.length is None:
        return 0
    if len(view) > plain.length:
        view = view[:plain.length]
    count = plain.fp.readinto1(view)
    plain.length -= count
    return count


#: A socket's timeout is left as it is while it is shorter than the one wanted by at most this
#: fraction of it: ``settimeout`` costs two ``fcntl`` calls, and a stream's reads each ask for
#: about the same bound (``read_timeout``, until the call's deadline comes nearer).
_TIMEOUT_SLACK = 0.1


def _set_socket_timeout(answer: _Answer, timeout: float) -> None:
    """Bound the next socket read of a streamed body (urllib3 keeps the connection on it) by
    ``timeout`` seconds: never longer, and shorter by at most ``_TIMEOUT_SLACK`` of it."""
    sock = live_socket(getattr(answer.raw, "connection", None))
    if sock is None:
        return
    wanted = max(0.001, min(timeout, 1e9))
    current = sock.gettimeout()
    if current is None or current > wanted or current < wanted * (1 - _TIMEOUT_SLACK):
        sock.settimeout(wanted)
