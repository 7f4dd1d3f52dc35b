"""HTTP sessions whose requests end by the calling thread's deadline, headers and body included.

A socket timeout is not a deadline: requests and urllib3 give every ``recv`` the full read
timeout again, so a server that sends one byte every half second keeps a request alive for as
long as it likes (a listing took 109 s with ``--timeout 5``). Here every request made through
a session from :func:`new_session`, and every body read the stream fetcher makes, is bounded as
a whole by :mod:`putiofs.net.deadline`:

* one **watchdog** thread keeps a heap of armed :class:`Watch` objects, each with the
  monotonic time it must end by and the connections its owner has checked out of a pool. When
  that time passes while the watch is still armed, the watchdog shuts those sockets down
  (``shutdown(SHUT_RDWR)``), so the ``recv`` blocked in http.client's status-line and header
  loop, or in a body read, returns at once and the request fails with a connection error
  (``TransportError`` for the callers);
* the session's connection pools note every connection a thread takes out
  (``_get_conn``) in that thread's current watch and forget it when it goes back
  (``_put_conn``), so the watchdog never touches a connection another request is using;
* each connection remembers the socket it connected with (:func:`live_socket`): when an
  answer's headers say the connection closes after it (``Connection: close``, HTTP/1.0),
  http.client drops the connection's ``sock`` and the response reads the body from that socket
  alone, and a trickling body must still be cut and its reads timed;
* connect and read timeouts are still clipped to the time left, so a silent server is noticed
  by its socket timeout first; the watchdog is what stops a *trickling* one.

Arming is cheap on the hot path: a watch has at most one heap entry; arming it again with a
later time only updates the time (the watchdog re-queues the entry when it comes due), and
disarming only clears a flag, so a stream that arms once per socket read never wakes the
watchdog thread. Name resolution (``getaddrinfo``) cannot be interrupted this way; connecting is
bounded by the clipped connect timeout. Outside any deadline nothing is armed and requests
behave as plain requests ones (bounded by their socket timeouts).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from putiofs.net import deadline

__all__ = ["REQUEST_TIMEOUT", "CallCounts", "SessionClient", "Watch", "call_counts", "clip_timeout",
           "direct_get", "direct_pool", "guard", "live_socket", "new_session", "session_headers",
           "watchdog"]

#: (connect, read) seconds of one API request, where its client is given no other (both API
#: versions' wires); a call's own deadline (:mod:`putiofs.net.deadline`) clips them further.
REQUEST_TIMEOUT = (5.0, 30.0)


class Watch:
    """The connections one owner (a thread's API call, a file's stream) has checked out, and
    the time they must be done by while the watch is armed. Thread-safe through the watchdog's
    lock; ``fired`` tells the owner that its deadline, not the server, ended a request."""

    __slots__ = ("at", "armed", "fired", "queued_at", "conns")

    def __init__(self) -> None:
        self.at = 0.0
        self.armed = False
        self.fired = False
        self.queued_at: float | None = None   # the time of its heap entry, if it has one
        self.conns: set[Any] = set()

    def attach(self, conn: Any) -> None:
        """Watch ``conn`` (an urllib3 connection) until it is detached."""
        with _dog.lock:
            self.conns.add(conn)
            conn.putiofs_watch = self

    def detach(self, conn: Any) -> None:
        with _dog.lock:
            self.conns.discard(conn)
            if getattr(conn, "putiofs_watch", None) is self:
                conn.putiofs_watch = None

    def arm(self, at: float) -> None:
        """Shut the attached connections down if still armed at ``at`` (time.monotonic)."""
        _dog.arm(self, at)

    def disarm(self) -> None:
        """Stop watching the time; connections closed meanwhile are forgotten."""
        with _dog.lock:
            self.armed = False
            if self.conns:
                self.conns = {c for c in self.conns if live_socket(c) is not None}


class _Watchdog:
    """One daemon thread for the whole process, started on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._wake = threading.Condition(self.lock)
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.fired = 0   # how many watches have fired (for tests and debugging)

    def arm(self, watch: Watch, at: float) -> None:
        if self._pid != os.getpid():
            self._after_fork()
        with self.lock:
            watch.at, watch.armed, watch.fired = at, True, False
            if watch.queued_at is not None and watch.queued_at <= at:
                return   # its entry comes due first and is re-queued then: nothing to do
            watch.queued_at = at
            heapq.heappush(self._heap, (at, next(self._seq), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="putiofs-watchdog",
                                                daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._wake.notify()

    def _after_fork(self) -> None:
        """In a child forked by libfuse's move to the background (a fork Python is not told
        of): the thread is gone and its lock may look taken, so both are made anew; the
        watches armed in the parent stay queued."""
        self.lock = threading.Lock()
        self._wake = threading.Condition(self.lock)
        self._thread = None
        self._pid = os.getpid()

    def _run(self) -> None:
        with self.lock:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                at, _, watch = self._heap[0]
                now = time.monotonic()
                if at > now:
                    self._wake.wait(at - now)
                    continue
                heapq.heappop(self._heap)
                if watch.queued_at != at:
                    continue   # a stale entry: the watch was queued again earlier
                watch.queued_at = None
                if not watch.armed:
                    continue
                if watch.at > now:   # armed again with a later time since it was queued
                    watch.queued_at = watch.at
                    heapq.heappush(self._heap, (watch.at, next(self._seq), watch))
                    continue
                watch.armed, watch.fired = False, True
                self.fired += 1
                for conn in watch.conns:
                    _shut(conn)


def live_socket(conn: Any) -> socket.socket | None:
    """The open socket ``conn`` (an urllib3 connection) talks over, or None.

    Once an answer's headers say the connection closes after it, http.client sets the
    connection's ``sock`` to None and closes it, but the response still reads the body from
    it (the socket stays open until the response is done): then this is the socket the
    connection last connected with, while it is open."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        sock = getattr(conn, "putiofs_sock", None)
        if sock is not None and sock.fileno() < 0:
            return None
    return sock


def _shut(conn: Any) -> None:
    sock = live_socket(conn)
    if sock is not None:
        # the plain socket's shutdown, also under TLS: ends a recv blocked in another thread
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_dog = _Watchdog()
watchdog = _dog
_local = threading.local()


class _QuietWhenCut(logging.Filter):
    """urllib3 logs a warning with a traceback (and the URL) when headers end early; when the
    watchdog cut them, the caller gets a TransportError instead and the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        watch: Watch | None = getattr(_local, "current", None)
        return not (watch is not None and watch.fired
                    and str(record.msg).startswith("Failed to parse headers"))


logging.getLogger("urllib3.connection").addFilter(_QuietWhenCut())


@contextlib.contextmanager
def guard(watch: Watch | None = None) -> Iterator[Watch | None]:
    """Arm ``watch`` (default: this thread's own) at this thread's deadline for the block and
    make it the one that pool connections taken in the block are noted in; yields the watch
    in charge, None when there is no deadline. Nested guards keep the outer watch armed."""
    outer: Watch | None = getattr(_local, "current", None)
    at = deadline.at()
    if at is None or (outer is not None and watch in (None, outer)):
        yield outer
        return
    if watch is None:
        watch = _thread_watch()
    watch.arm(at)
    _local.current = watch
    try:
        yield watch
    finally:
        watch.disarm()
        _local.current = outer


def _thread_watch() -> Watch:
    watch: Watch | None = getattr(_local, "watch", None)
    if watch is None:
        watch = _local.watch = Watch()
    return watch


def _taken(conn: Any) -> Any:
    watch: Watch | None = getattr(_local, "current", None)
    if watch is not None:
        watch.attach(conn)
    return conn


def _returned(conn: Any) -> None:
    watch: Watch | None = getattr(conn, "putiofs_watch", None) if conn is not None else None
    if watch is not None:
        watch.detach(conn)


class _KeepsSocket:
    """A connection that remembers the socket it connected with (see :func:`live_socket`)."""

    putiofs_sock: socket.socket | None = None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.putiofs_sock = self.sock  # type: ignore[attr-defined]


class _WatchedHTTPConnection(_KeepsSocket, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_KeepsSocket, HTTPSConnection):
    pass


class _Watched:
    """A connection pool that notes the connections it hands out in the taker's watch."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _taken(super()._get_conn(timeout))  # type: ignore[misc]

    def _put_conn(self, conn: Any) -> None:
        _returned(conn)
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedHTTPPool(_Watched, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools report connections to the watchdog; no retries of its own
    (the callers' retry policy decides, see :mod:`putiofs.net.retry`)."""

    def __init__(self, pool_size: int = 16) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool,
                                                   "https": _WatchedHTTPSPool}


class CallCounts:
    """Requests to put.io made by this process through :func:`new_session` sessions (API calls,
    stream ranges, upload chunks alike): how many, how many got no answer (a connection
    failure, a timeout, the deadline), how many were answered with an HTTP error (4xx, 5xx), and
    the last problem (its kind and status, never a URL). One lock, taken once per request,
    never per byte; ``putiofs status`` shows them (see :mod:`putiofs.front.control.status`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.failed = 0
        self.error_answers = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    def answered(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            if status >= 400:
                self.error_answers += 1
                self.last_error, self.last_error_at = f"HTTP {status}", time.time()

    def no_answer(self, exc: BaseException) -> None:
        with self._lock:
            self.requests += 1
            self.failed += 1
            self.last_error, self.last_error_at = type(exc).__name__, time.time()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self.requests, "failed": self.failed,
                    "error_answers": self.error_answers, "last_error": self.last_error,
                    "last_error_at": self.last_error_at}


#: This process's counts (one mount per process).
call_counts = CallCounts()


class DeadlineSession(requests.Session):
    """A session whose every request (redirects and, unless streamed, the body) ends by the
    calling thread's :mod:`putiofs.net.deadline`; its timeouts are clipped to the time left.

    What requests takes from the environment for a request (proxies, ``NO_PROXY``, CA bundle)
    is worked out once per host and per setting and kept: requests does it again for every
    request by walking the whole environment twice, about 0.1 ms of each API call (of 0.8 ms
    on loopback). The process's environment does not change while it runs.
    """

    _ENV_CACHE_SIZE = 64

    def __init__(self) -> None:
        super().__init__()
        self._env_cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        parts = urlsplit(url if isinstance(url, str) else str(url))
        try:
            key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream,
                   verify, cert, self.trust_env, tuple(sorted(self.proxies.items())),
                   self.verify, self.cert, self.stream)
            hash(key)
        except TypeError:   # an unhashable setting: work it out as requests does
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        found = self._env_cache.get(key)
        if found is None:
            found = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if len(self._env_cache) >= self._ENV_CACHE_SIZE:
                self._env_cache.clear()
            self._env_cache[key] = found
        return {name: dict(value) if isinstance(value, dict) else value
                for name, value in found.items()}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        timeout = kwargs.get("timeout")
        if deadline.at() is not None and timeout is not None:
            kwargs["timeout"] = clip_timeout(timeout)
        if deadline.expired():
            raise requests.Timeout("out of time for this call before the request was sent")
        with guard() as watch:
            try:
                response = super().send(request, **kwargs)
            except requests.RequestException as exc:
                call_counts.no_answer(exc)
                if watch is not None and watch.fired:
                    raise _cut(request) from None
                raise
            if watch is not None and watch.fired:
                # http.client takes a connection shut down half-way through the headers for
                # their end: what arrived is not an answer
                response.close()
                call_counts.no_answer(requests.Timeout())
                raise _cut(request)
            call_counts.answered(response.status_code)
            return response


def _cut(request: requests.PreparedRequest) -> requests.Timeout:
    return requests.Timeout("the call's deadline passed during the request", request=request)


def clip_timeout(timeout: Any) -> Any:
    """A request's timeout (one number or a (connect, read) pair) shortened to the time left
    of the calling thread's :mod:`putiofs.net.deadline`."""
    if isinstance(timeout, tuple):
        return tuple(None if t is None else deadline.clip(t) for t in timeout)
    return deadline.clip(timeout)


def new_session(pool_size: int = 16) -> requests.Session:
    """A session whose every request honours the calling thread's :mod:`putiofs.net.deadline` as a
    whole (connect, status line, headers and, unless streamed, body); ``pool_size``
    connections per host; no retries at the adapter level."""
    session = DeadlineSession()
    adapter = WatchedAdapter(pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class SessionClient:
    """What both API clients share about their pooled session: their own from
    :func:`new_session` unless the caller hands one in, closed by :meth:`close` (or the end of
    a ``with`` block) only if the client made it."""

    def __init__(self, session: requests.Session | None, pool_size: int) -> None:
        self._owns_session = session is None
        self.session: requests.Session = session or new_session(pool_size)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled session (only if this client created it)."""
        if self._owns_session:
            self.session.close()


# -- the direct urllib3 path of the stream fetcher -------------------------------------------


_direct_cache: weakref.WeakKeyDictionary[requests.Session, dict[str, Any]] = (
    weakref.WeakKeyDictionary())
_direct_lock = threading.Lock()
_UNDECIDED = object()


def direct_pool(session: requests.Session, url: str) -> Any:
    """The urllib3 connection pool requests would use for ``url``, or None to go through
    ``session.get`` (proxy, custom adapter, session auth or cookies). Decided once per host.

    Requests' own per-call work (environment proxies, hooks, cookie jars) costs more than a
    loopback Range GET (about 0.9 ms against 0.5 ms), so the stream fetcher sends its GETs
    straight through this pool where that is what requests would do anyway."""
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


def _decide_direct(session: requests.Session, url: str) -> list[Any] | None:
    try:
        adapter = session.get_adapter(url)
    except requests.RequestException:
        return None
    if (type(adapter) not in (HTTPAdapter, WatchedAdapter)
            or not hasattr(adapter, "get_connection_with_tls_context")
            or session.auth is not None or len(session.cookies) or session.hooks.get("response")):
        return None
    env = session.merge_environment_settings(url, {}, None, None, None)
    if select_proxy(url, env.get("proxies") or {}):
        return None
    base = urlsplit(url)
    prepared = requests.Request("GET", f"{base.scheme}://{base.netloc}/").prepare()
    return [adapter, prepared, env.get("verify", True), env.get("cert"), None]


def direct_get(session: requests.Session, url: str, *, params: dict[str, str] | None,
               headers: dict[str, str], timeout: Any) -> requests.Response | None:
    """A body-less GET of a whole (small) answer, not following redirects, straight through
    the session's urllib3 pool (:func:`direct_pool`); None where requests must send it.

    As :class:`WatchedAdapter` does: the timeout is clipped to the calling thread's deadline,
    the watchdog shuts the socket when the deadline passes, and the answer is counted. The
    answer is a ``requests.Response`` (status, headers, content, url); what cannot be sent or
    read raises ``requests.RequestException``, as ``session.request`` would. For an API call on
    loopback this is 0.5 ms less of requests' per-call work (hooks, cookies, preparing)."""
    pool = direct_pool(session, url)
    if pool is None:
        return None
    if params:
        url = f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"
    parts = urlsplit(url)
    clipped = clip_timeout(timeout)
    connect, read = clipped if isinstance(clipped, tuple) else (clipped, clipped)
    if deadline.expired():
        raise requests.Timeout("out of time for this call before the request was sent")
    with guard() as watch:
        try:
            raw = pool.urlopen(
                "GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                headers={**session_headers(session), **headers}, redirect=False,
                retries=False, preload_content=True, decode_content=True,
                assert_same_host=False, timeout=urllib3.Timeout(connect=connect, read=read))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            call_counts.no_answer(exc)
            if watch is not None and watch.fired:
                raise requests.Timeout("the call's deadline passed during the request") from None
            raise requests.ConnectionError(type(exc).__name__) from None
        if watch is not None and watch.fired:
            call_counts.no_answer(requests.Timeout())
            raise requests.Timeout("the call's deadline passed during the request")
    call_counts.answered(raw.status)
    response = requests.Response()
    response.status_code = raw.status
    response.headers = CaseInsensitiveDict(raw.headers)
    response._content = raw.data
    response.url = url
    response.reason = raw.reason
    return response


def session_headers(session: requests.Session) -> dict[str, str]:
    """The session's default headers, without those set to None."""
    return {k: v for k, v in session.headers.items() if v is not None}
