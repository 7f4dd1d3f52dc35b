"""Which bytes of one open file to ask for, and which to keep: the buffer half of a StreamReader.

A :class:`StreamBuffer` serves ``read(offset, length)`` from a :class:`RangeSource` (the HTTP
one is :class:`putiofs.fetcher.RangeFetcher`; tests hand it plain bytes). The source delivers
ranges, retries and checks them; this module only decides, cheapest first:

* the **edge blocks**: the first and last ``edge_cache`` bytes of the file, fetched whole on
  first touch and kept (players read the header, then the index at the end, then play);
* the **back buffer**: the most recent ``back_buffer`` bytes taken from the stream, which absorbs
  the slightly out-of-order and backward requests the kernel's readahead sends from several
  threads;
* the **open stream**: a range body consumed incrementally. A jump forward of at most
  ``forward_skip_max`` bytes is read through; a farther jump closes it and reopens at the new
  offset;
* the **side segment**: a request at most ``forward_skip_max`` bytes before the back buffer (a
  late block of the kernel's readahead, which sends blocks in parallel from several threads
  when ``read_ahead_kb`` is raised, or a short seek back) is fetched on its own, leaving the
  stream and its window alone. That fetch reaches at most to the back buffer; its window starts
  at ``readahead_min`` and doubles while side reads follow each other. Farther back is a seek.

Each opened range is a window that starts at ``readahead_min`` and doubles every time a window
is read to its end sequentially; once it reaches ``readahead_max`` the range runs to the end of
the file, so a whole-file copy costs a handful of requests whatever the file's size. A far seek
resets the window. Bounded windows keep random access cheap: what is left of a small window is
drained and the keep-alive connection reused, not torn down.

The first late block also doubles the back buffer (once: at most ``2 * back_buffer``), since
the kernel's readahead evidently runs wider than it: with ``read_ahead_kb`` at 4096 that takes
a 1 GiB read from 63-176 GETs to 9.

Memory per handle is bounded by ``2 * back_buffer + forward_skip_max + 2 * edge_cache`` (back
buffer, side segment, edge blocks) plus the bytes of the read in progress (the kernel caps
those: 128 KiB on libfuse2, 1 MiB on libfuse3) and one source read of at most 1 MiB (256 KiB
until the stream runs to the end of the file: a deep sequential read takes 1 MiB per source
read, so several kernel requests are served from the buffer per trip through the network
stack). A read that is exactly one source read is returned without a copy.

A whole ``read()`` runs inside :func:`putiofs.deadline.within` ``deadline`` seconds (never
longer than the caller's own deadline); the source honours it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from putiofs import deadline as call_deadline
from putiofs.errors import ServerError, TransportError

_CHUNK = 256 * 1024          # at most this much per source read
_AHEAD = 1024 * 1024         # source read size once the stream runs to the end of the file


class RangeBody(Protocol):
    """An open range: ``pos`` is the next byte it delivers, ``end`` where it stops."""

    pos: int
    end: int

    def read(self, size: int) -> bytes:
        """1 to ``size`` bytes from ``pos`` (``b""`` only at ``end``); raises on failure."""
        ...

    def close(self, *, reuse: bool = True) -> None: ...


class RangeSource(Protocol):
    """Where the bytes come from."""

    def open(self, start: int, end: int) -> RangeBody:
        """A body from ``start`` to at least ``end`` (it may run on to the end of the file)."""
        ...

    def fetch(self, start: int, end: int) -> bytes:
        """Exactly the bytes ``[start, end)``."""
        ...

    def forget_target(self) -> None:
        """The handle is closed: drop any per-handle state (a redirect target)."""
        ...


class StreamBuffer:
    """Serves reads of one open file of ``size`` bytes from ``source``.

    ``read`` may be called from several threads; calls are serialised by a lock. ``close``
    waits for a read in progress (at most ``deadline``).
    """

    def __init__(
        self,
        source: RangeSource,
        size: int,
        *,
        deadline: float = 60.0,
        readahead_min: int = 128 * 1024,
        readahead_max: int = 8 * 1024 * 1024,
        forward_skip_max: int = 4 * 1024 * 1024,
        back_buffer: int = 4 * 1024 * 1024,
        edge_cache: int = 256 * 1024,
        label: str = "stream",
    ) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self._source = source
        self._size = size
        self._deadline = deadline
        self._readahead_min = max(1, readahead_min)
        self._readahead_max = max(self._readahead_min, readahead_max)
        self._forward_skip_max = max(0, forward_skip_max)
        self._back_buffer = max(0, back_buffer)
        self._back_max = 2 * self._back_buffer  # what late readahead blocks may grow it to
        self._label = label

        self._head_end = min(max(0, edge_cache), size)
        self._tail_start = max(self._head_end, size - max(0, edge_cache))
        self._head: bytes | None = None
        self._tail: bytes | None = None

        self._lock = threading.Lock()
        self._closed = False
        self._body: RangeBody | None = None
        self._window = 0              # size of the last range's window; 0 before the first
        self._pos = 0                 # next byte the stream delivers; the buffer ends here
        self._buf_start = 0
        self._chunks: deque[tuple[int, bytes]] = deque()
        self._side = b""              # the side segment: bytes fetched behind the back buffer
        self._side_start = 0
        self._side_window = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._label!r}, size={self._size})"

    @property
    def size(self) -> int:
        return self._size

    @property
    def buffered(self) -> int:
        """Bytes of file data this reader holds now (back buffer and edge blocks)."""
        return (sum(len(data) for _, data in self._chunks) + len(self._head or b"")
                + len(self._tail or b"") + len(self._side))

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``min(length, size - offset)`` bytes from ``offset``; ``b""`` at or past EOF.

        Raises what the source raises (AuthenticationError, NotFoundError, ServerError,
        TransportError, the latter also when the call would take longer than ``deadline``).
        """
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        end = min(offset + length, self._size)
        if offset >= end:
            return b""
        with call_deadline.within(self._deadline):
            if not self._lock.acquire(timeout=call_deadline.remaining() or 0.0):
                raise TransportError(f"{self._label}: read timed out waiting for another read "
                                     f"of the same file")
            try:
                if self._closed:
                    raise TransportError(f"{self._label}: read of a closed file handle")
                data = self._read_locked(offset, end)
            finally:
                self._lock.release()
        if len(data) != end - offset:
            raise ServerError(f"{self._label}: assembled {len(data)} bytes, expected "
                              f"{end - offset}")
        return data

    def close(self) -> None:
        """Let go of the stream (drained for reuse if little is left). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._discard(reuse=True)
            self._chunks.clear()
            self._side = b""
            self._head = self._tail = None
            self._source.forget_target()

    def __enter__(self) -> StreamBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- assembling a read ---------------------------------------------------------------

    def _read_locked(self, offset: int, end: int) -> bytes:
        head_end, tail_start = self._head_end, self._tail_start
        if self._head is None and offset < head_end:
            self._head = self._fetch(0, head_end)
        if self._tail is None and tail_start < self._size and end > tail_start:
            self._tail = self._fetch(tail_start, self._size)
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
                pieces.append(self._fetch(cur, stop))
            cur = stop
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes [start, end) from the back buffer, the side segment and the stream."""
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
                    self._side_read(cur, end)
                    continue
                if not self._can_serve(cur):
                    self._open(cur, end)
                assert self._body is not None
                self._pull(min(end, self._body.end), cur)
            except BaseException:
                self._discard(reuse=False)   # the source gave up on it
                raise
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _behind(self, cur: int) -> bool:
        """``cur`` is a little before the back buffer: a late request of the kernel's readahead
        (it sends blocks from several threads), not a seek worth giving up the stream for."""
        return (self._window > 0 and cur < self._buf_start
                and self._buf_start - cur <= self._forward_skip_max)

    def _side_read(self, start: int, want_end: int) -> None:
        """Fetch from ``start`` towards the back buffer into the side segment, leaving the
        stream and its window alone. The side window starts at ``readahead_min`` and doubles
        while side reads follow each other, so reading on after a short seek backwards costs a
        few requests, not one per kernel request."""
        # late blocks: this stream's readahead runs wider than the buffer; let it hold more
        self._back_buffer = min(self._back_buffer * 2, self._back_max)
        follows = self._side and start == self._side_start + len(self._side)
        window = (min(self._side_window * 2, self._readahead_max) if follows
                  else self._readahead_min)
        stop = min(self._buf_start, start + max(window, want_end - start))
        self._side = self._source.fetch(start, stop)
        self._side_start, self._side_window = start, window

    def _can_serve(self, cur: int) -> bool:
        """The open stream reaches ``cur`` by reading forward a short way."""
        return (self._body is not None and self._pos < self._body.end
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
                return data  # the common sequential case: the read is one source read, no copy
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

    # -- the stream ----------------------------------------------------------------------

    def _open(self, cur: int, want_end: int) -> None:
        """Open a range that will deliver ``cur`` (from the buffer's end when that is close)."""
        near = self._window > 0 and self._pos <= cur <= self._pos + self._forward_skip_max
        if near:
            self._window = min(self._window * 2, self._readahead_max)
        else:
            self._window = self._readahead_min
        self._discard(reuse=True)
        if not near:
            self._reset_buffer(cur)
        start = self._pos
        if self._window >= self._readahead_max:
            req_end = self._size
        else:
            req_end = min(self._size, start + max(self._window, want_end - start))
        self._body = self._source.open(start, req_end)

    def _pull(self, target: int, keep_from: int) -> None:
        """Read the open stream up to ``target`` into the back buffer."""
        body = self._body
        assert body is not None
        # once open-ended, one source read serves the next several kernel requests
        open_ended = self._window >= self._readahead_max
        while self._pos < target:
            data = body.read(_AHEAD if open_ended else min(target - self._pos, _CHUNK))
            if not data:
                raise ServerError(f"{self._label}: the stream ended at byte {self._pos}")
            self._append(data, keep_from)
        if self._pos >= body.end:
            self._body = None
            body.close()

    def _discard(self, *, reuse: bool) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close(reuse=reuse)
