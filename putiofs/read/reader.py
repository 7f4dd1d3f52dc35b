"""Streaming reads of one open file: a buffer policy over checked HTTP Range requests.

A :class:`StreamReader` serves ``read(offset, length)`` for one FUSE file handle. It knows
nothing about FUSE or put.io's API. It is three parts with one job each:

* the reader itself: the handle's reads, one at a time across threads, each within the
  deadline, none after close;
* :mod:`putiofs.read.buffer` decides which bytes to ask for and which to keep (edge blocks,
  back buffer, side reads, a growing window over one kept-open stream) and knows no HTTP;
* its source, for a real file :mod:`putiofs.read.fetcher`, turns a range into checked bytes
  (redirects, status, Content-Range and length checks, refreshed tokens, resumes at the exact
  byte with the retry policy of :mod:`putiofs.net.retry`, every request and socket read
  bounded by the call's deadline). It is handed a ``requests.Session`` (one from
  :func:`putiofs.net.http.new_session`, so that the deadline bounds a server that trickles
  bytes) and a URL provider.

:func:`open_stream` puts the three together for an entry of the account, as the mount opens it.
With the mount's persistent read cache (:mod:`putiofs.read.disk_cache`) a read takes what the
cache holds first and asks the buffer only for the rest; the source is then wrapped so that what
the network delivers is also kept (a tee), and the URL is asked only once a byte is missing.

Every answer is checked, so a misbehaving server yields an error, never wrong bytes; a whole
``read()`` never takes longer than ``deadline`` seconds (nor than the calling thread's own
:mod:`putiofs.net.deadline`). Log lines name the handle by ``label`` and never show the URL, which
carries a token.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from putiofs.api.backend import Backend, Entry
from putiofs.api.errors import TransportError
from putiofs.net import deadline as call_deadline
from putiofs.net.bandwidth import Bandwidth
from putiofs.read.buffer import DEFAULT_POLICY, BufferPolicy, RangeSource, StreamBuffer
from putiofs.read.disk_cache import ReadCache, TeeSource
from putiofs.read.fetcher import RangeFetcher

__all__ = ["BufferPolicy", "ReadLimits", "StreamReader", "open_stream"]

#: Seconds over which :meth:`StreamReader.speed` measures.
_SPEED_WINDOW = 1.0


class StreamReader:
    """Serves reads of one open file of ``size`` bytes from ``source`` (a
    :class:`~putiofs.read.fetcher.RangeFetcher` for a remote file), buffered as ``policy`` says.

    ``read`` and ``read_into`` may be called from several threads; calls are serialised by a
    lock, and each ends within ``deadline`` seconds. ``close`` waits for a read in progress (at
    most ``deadline``).
    """

    def __init__(self, source: RangeSource, size: int, *, deadline: float = 60.0,
                 policy: BufferPolicy = DEFAULT_POLICY, label: str = "stream",
                 cache: ReadCache | None = None, key: str = "") -> None:
        # with a read cache: cached bytes are served from it, the source's bytes kept in it
        self._cache, self._key = cache, key
        if cache is not None:
            source = TeeSource(source, cache.stager_for(key, size))
        self._buffer = StreamBuffer(source, size, policy, label=label)
        self._size = size
        self._deadline = deadline
        self._label = label
        self._lock = threading.Lock()
        self._closed = False
        #: Bytes served to the reader so far (``putiofs status``); see :meth:`speed`.
        self.bytes_read = 0
        self._window_start = time.monotonic()
        self._window_bytes = 0
        self._rate = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._label!r}, size={self._size})"

    @property
    def size(self) -> int:
        return self._size

    @property
    def buffered(self) -> int:
        """Bytes of file data this reader holds now (back buffer and edge blocks)."""
        return self._buffer.buffered

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``min(length, size - offset)`` bytes from ``offset``; ``b""`` at or past EOF.

        Raises what the source raises (AuthenticationError, NotFoundError, ServerError,
        TransportError, the latter also when the call would take longer than ``deadline``).
        """
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        count = max(0, min(offset + length, self._size) - offset)
        if count == 0:
            return b""
        out = bytearray(count)
        self.read_into(offset, memoryview(out))
        return bytes(out)

    def read_into(self, offset: int, dest: memoryview) -> int:
        """Fill ``dest`` with the bytes from ``offset`` (fewer only at the end of the file); the
        count, 0 at or past EOF. Raises as :meth:`read` does; ``dest`` may then hold part of
        the answer."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        end = min(offset + len(dest), self._size)
        if offset >= end:
            return 0
        with call_deadline.within(self._deadline):
            if not self._lock.acquire(timeout=call_deadline.remaining() or 0.0):
                raise TransportError(f"{self._label}: read timed out waiting for another read "
                                     f"of the same file")
            try:
                if self._closed:
                    raise TransportError(f"{self._label}: read of a closed file handle")
                if self._cache is None:
                    self._buffer.fill(offset, end, dest)
                else:
                    self._fill_cached(offset, end, dest)
                self._count(end - offset)
            finally:
                self._lock.release()
        return end - offset

    def _fill_cached(self, offset: int, end: int, dest: memoryview) -> None:
        """What the read cache has, from there; the rest through the buffer."""
        cache, key = self._cache, self._key
        assert cache is not None
        cur = offset
        while cur < end:
            served = cache.serve(key, cur, dest[cur - offset:end - offset])
            if served:
                cur += served
                continue
            stop = cache.next_cached(key, cur, end)
            self._buffer.fill(cur, stop, dest[cur - offset:stop - offset])
            cache.missed(stop - cur)
            cur = stop

    def _count(self, served: int) -> None:
        """Under the read lock already held: a few adds per read, no lock of its own."""
        self.bytes_read += served
        now = time.monotonic()
        if now - self._window_start >= _SPEED_WINDOW:
            self._rate = self._window_bytes / (now - self._window_start)
            self._window_start, self._window_bytes = now, 0
        self._window_bytes += served

    def speed(self) -> float:
        """Bytes per second served lately: over the last whole second of reads, or less once
        the reader idles (read without the lock: a status may be a read behind)."""
        elapsed = time.monotonic() - self._window_start
        if elapsed >= _SPEED_WINDOW:
            return self._window_bytes / elapsed
        return self._rate

    def close(self) -> None:
        """Let go of the stream (drained for reuse if little is left). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._buffer.close()   # the tee's staged run goes to the cache then

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReadLimits(Protocol):
    """The time limits of a mount's reads (its :class:`~putiofs.front.options.MountOptions`)."""

    #: A socket read silent this long is a stall, and is resumed.
    read_timeout: float
    #: A whole ``read()`` ends within this many seconds.
    call_deadline: float
    #: The mount's bandwidth limit: every stream spends from its ``down`` bucket.
    bandwidth: Bandwidth


def open_stream(backend: Backend, entry: Entry, limits: ReadLimits,
                cache: ReadCache | None = None) -> StreamReader:
    """The reader of one handle on ``entry``: its bytes at ``backend.stream_url(entry)``
    (asked again with a fresh token when the URL is refused; asked only once a byte is not
    in ``cache``), through the backend's pooled session, within ``limits`` (time, and the
    mount's download bucket), buffered by the default policy; log lines name it
    ``item <id>``."""

    def url_provider(refresh: bool) -> str:
        return backend.stream_url(entry, refresh_token=refresh)

    label = f"item {entry.id}"
    fetcher = RangeFetcher(backend.http_session, url_provider, entry.size,
                           read_timeout=limits.read_timeout, label=label,
                           limit=limits.bandwidth.down)
    return StreamReader(fetcher, entry.size, deadline=limits.call_deadline, label=label,
                        cache=cache, key=entry.contents_key)
