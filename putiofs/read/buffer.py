"""Which bytes of one open file to ask for, and which to keep: the buffer of a StreamReader.

A :class:`StreamBuffer` fills a request for bytes ``[offset, end)`` from a :class:`RangeSource`
(the HTTP one is :class:`putiofs.read.fetcher.RangeFetcher`; tests hand it plain bytes). The
source delivers ranges, retries and checks them; this module only decides, as
:class:`BufferPolicy` sets it, cheapest first:

* the **edge blocks**: the first and last ``edge_cache`` bytes of the file, kept (players read
  the header, then the index at the end, then play). The last block is fetched whole on first
  touch (an index is read to the end of the file). The first is filled from byte 0, through
  the stream like any read, only as far as the reads need: the first read of a file answers
  once its own bytes are in (16 KiB for a 4 KiB ``read(2)``), not once the whole 256 KiB
  block is, and the rest of the window comes on with the next reads;
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
resets the window. A far seek that follows a far seek whose range was not read on (random
access: a database, a disk image, an archive's members) asks for exactly the bytes of the read,
not a window: nothing is fetched to be thrown away, and the range ends with the read, so its
connection goes back to the pool at once instead of being drained at the next seek (a random
64 KiB ``pread`` is one 68 KiB kernel request; a 128 KiB window fetched twice what it needed).
Reading on from there doubles the window as after any other seek. Bounded windows keep random
access cheap: what is left of a small window is drained and the keep-alive connection reused,
not torn down.

The first late block also doubles the back buffer (once: at most ``2 * back_buffer``), since
the kernel's readahead evidently runs wider than it: with ``read_ahead_kb`` at 4096 that takes
a 1 GiB read from 63-176 GETs to 9.

Memory per handle is bounded by ``2 * back_buffer + forward_skip_max + 2 * edge_cache`` (back
buffer, side segment, edge blocks) plus one source read of at most 1 MiB (256 KiB until the
stream runs to the end of the file: a deep sequential read takes 1 MiB per source read, so
several kernel requests are served per trip through the network stack).

Bytes are copied as few times as possible: the stream is read straight into a preallocated
ring (:class:`putiofs.read.byte_ring.ByteRing`, the back buffer) and :meth:`StreamBuffer.fill`
copies a request from there into the caller's buffer (the FUSE front hands the reader
libfuse's own reply buffer): socket → ring → kernel, with no allocation per read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from putiofs.api.errors import ServerError
from putiofs.read.byte_ring import ByteRing

_CHUNK = 256 * 1024          # at most this much per source read
_AHEAD = 1024 * 1024         # source read size once the stream runs to the end of the file


class RangeBody(Protocol):
    """An open range: ``pos`` is the next byte it delivers, ``end`` where it stops."""

    pos: int
    end: int

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with 1 to ``len(view)`` bytes from ``pos`` (0 only at ``end``); raises
        on failure."""
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


@dataclass(frozen=True)
class BufferPolicy:
    """How much a :class:`StreamBuffer` asks for and keeps, in bytes (see the module docstring
    for what each one does)."""

    readahead_min: int = 128 * 1024
    readahead_max: int = 8 * 1024 * 1024
    forward_skip_max: int = 4 * 1024 * 1024
    back_buffer: int = 4 * 1024 * 1024
    edge_cache: int = 256 * 1024


#: The policy of every mount's reads.
DEFAULT_POLICY = BufferPolicy()


class _Edge:
    """An edge block: file bytes ``[start, filled)`` of ``[start, end)``, kept for the
    handle's life, filled in order (the buffer is allocated on first use)."""

    __slots__ = ("start", "end", "filled", "_buf")

    def __init__(self, start: int, end: int) -> None:
        self.start = self.filled = start
        self.end = end
        self._buf: bytearray | None = None

    @property
    def held(self) -> int:
        return self.filled - self.start

    def room(self) -> memoryview:
        if self._buf is None:
            self._buf = bytearray(self.end - self.start)
        return memoryview(self._buf)

    def copy_into(self, dest: memoryview, start: int, end: int) -> None:
        assert self._buf is not None and self.start <= start <= end <= self.filled
        dest[:end - start] = memoryview(self._buf)[start - self.start:end - self.start]

    def release(self) -> None:
        self._buf = None
        self.filled = self.start


class StreamBuffer:
    """The bytes of one open file of ``size`` bytes, from ``source``, kept as ``policy`` says.

    Not thread-safe, and no time limit of its own: the StreamReader that owns it serialises
    the calls and sets their deadline (which the source honours).
    """

    def __init__(self, source: RangeSource, size: int, policy: BufferPolicy = DEFAULT_POLICY,
                 *, label: str = "stream") -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self._source = source
        self._size = size
        self._readahead_min = max(1, policy.readahead_min)
        self._readahead_max = max(self._readahead_min, policy.readahead_max)
        self._forward_skip_max = max(0, policy.forward_skip_max)
        self._back_buffer = max(0, policy.back_buffer)
        self._back_max = 2 * self._back_buffer  # what late readahead blocks may grow it to
        self._label = label

        edge_cache = max(0, policy.edge_cache)
        self._head_end = min(edge_cache, size)
        self._tail_start = max(self._head_end, size - edge_cache)
        self._head = _Edge(0, self._head_end)
        self._tail = _Edge(self._tail_start, size)

        self._body: RangeBody | None = None
        self._window = 0              # size of the last range's window; 0 before the first
        # the back buffer: what the stream delivered last; ring.end is the stream's next byte
        self._ring = ByteRing(self._back_buffer + _AHEAD)
        self._side = b""              # the side segment: bytes fetched behind the back buffer
        self._side_start = 0
        self._side_window = 0
        self._seek_end: int | None = None   # end of the read that opened the range at a seek

    @property
    def buffered(self) -> int:
        """Bytes of file data held now (back buffer, side segment and edge blocks)."""
        return len(self._ring) + self._head.held + self._tail.held + len(self._side)

    def fill(self, offset: int, end: int, dest: memoryview) -> None:
        """Copy the file's bytes ``[offset, end)`` (``end`` at most the size) into ``dest``.
        Raises what the source raises; ``dest`` may then hold part of the answer."""
        head_end, tail_start = self._head_end, self._tail_start
        if offset >= head_end:
            self._finish_head()
        cur = offset
        while cur < end:
            if cur < head_end:
                stop = min(end, head_end)
                self._from_edge(self._head, cur, stop, dest[cur - offset:stop - offset])
            elif cur >= tail_start:
                stop = end
                self._from_edge(self._tail, cur, stop, dest[cur - offset:stop - offset],
                                whole=True)
            else:
                stop = min(end, tail_start)
                self._fetch(cur, stop, dest[cur - offset:stop - offset])
            cur = stop

    def close(self) -> None:
        """Let go of the stream (drained for reuse if little is left), of every byte held,
        and of the source's per-handle state."""
        self._discard(reuse=True)
        self._ring.release()
        self._side = b""
        self._head.release()
        self._tail.release()
        self._source.forget_target()

    # -- assembling a read ---------------------------------------------------------------

    def _from_edge(self, edge: _Edge, start: int, end: int, dest: memoryview, *,
                   whole: bool = False) -> None:
        """Bytes ``[start, end)`` of an edge block, which is filled from its first byte on
        through the stream as far as a read needs (``whole``: to its end at once), and kept."""
        if edge.filled < end:
            stop = edge.end if whole else end
            view = edge.room()
            self._fetch(edge.filled, stop, view[edge.filled - edge.start:stop - edge.start])
            edge.filled = stop
        edge.copy_into(dest, start, end)

    def _finish_head(self) -> None:
        """Before a read beyond the first edge block: the rest of the block, if the open
        stream is where its filling stopped and already runs past its end (the block's first
        range asks for all of it), is read into it now, so a player that comes back to the
        header (after the index at the end, at a seek) costs no round trip for it."""
        head, body = self._head, self._body
        if (head.start < head.filled < head.end and body is not None
                and self._ring.end == head.filled and body.end >= head.end):
            view = head.room()
            self._fetch(head.filled, head.end, view[head.filled - head.start:])
            head.filled = head.end

    def _fetch(self, start: int, end: int, dest: memoryview) -> None:
        """Copy bytes [start, end) into ``dest`` from the back buffer, the side segment and the
        stream, reading the stream one source read at a time."""
        ring = self._ring
        cur = start
        while cur < end:
            if ring.start <= cur < ring.end:
                stop = min(end, ring.end)
                ring.copy_into(dest[cur - start:stop - start], cur, stop)
                cur = stop
                continue
            side_end = self._side_start + len(self._side)
            if self._side_start <= cur < side_end:
                stop = min(end, side_end)
                dest[cur - start:stop - start] = self._side[cur - self._side_start:
                                                            stop - self._side_start]
                cur = stop
                continue
            try:
                if self._behind(cur):
                    self._side_read(cur, end)
                    continue
                if not self._can_serve(cur):
                    self._open(cur, end)
                self._pull(end)
            except BaseException:
                self._discard(reuse=False)   # the source gave up on it
                raise

    def _behind(self, cur: int) -> bool:
        """``cur`` is a little before the back buffer: a late request of the kernel's readahead
        (it sends blocks from several threads), not a seek worth giving up the stream for."""
        start = self._ring.start
        return self._window > 0 and cur < start and start - cur <= self._forward_skip_max

    def _side_read(self, start: int, want_end: int) -> None:
        """Fetch from ``start`` towards the back buffer into the side segment, leaving the
        stream and its window alone. The side window starts at ``readahead_min`` and doubles
        while side reads follow each other, so reading on after a short seek backwards costs a
        few requests, not one per kernel request."""
        # late blocks: this stream's readahead runs wider than the buffer; let it hold more
        if self._back_buffer < self._back_max:
            self._back_buffer = self._back_max
            self._ring.resize(self._back_buffer + _AHEAD)
        follows = self._side and start == self._side_start + len(self._side)
        window = (min(self._side_window * 2, self._readahead_max) if follows
                  else self._readahead_min)
        stop = min(self._ring.start, start + max(window, want_end - start))
        self._side = self._source.fetch(start, stop)
        self._side_start, self._side_window = start, window

    def _can_serve(self, cur: int) -> bool:
        """The open stream reaches ``cur`` by reading forward a short way."""
        pos = self._ring.end
        return (self._body is not None and pos < self._body.end
                and pos <= cur <= pos + self._forward_skip_max)

    # -- the stream ----------------------------------------------------------------------

    def _open(self, cur: int, want_end: int) -> None:
        """Open a range that will deliver ``cur`` (from the buffer's end when that is close)."""
        pos = self._ring.end
        near = self._window > 0 and pos <= cur <= pos + self._forward_skip_max
        # a far seek right after a far seek whose range was not read on: random access
        random_access = not near and self._seek_end is not None and pos <= self._seek_end
        if near:
            self._window = min(self._window * 2, self._readahead_max)
            self._seek_end = None
        else:
            self._window = self._readahead_min
            self._seek_end = want_end
        self._discard(reuse=True)
        if not near:
            self._side = b""
            self._ring.reset(cur)
        start = self._ring.end
        if self._window >= self._readahead_max:
            req_end = self._size
        elif random_access:
            req_end = want_end
        else:
            req_end = min(self._size, start + max(self._window, want_end - start))
            if start < self._head_end:  # the first edge block is asked for whole, see
                req_end = max(req_end, self._head_end)  # _finish_head
        self._body = self._source.open(start, req_end)

    def _pull(self, want_end: int) -> None:
        """One source read from the open stream into the back buffer."""
        body = self._body
        assert body is not None
        ring = self._ring
        # once open-ended, one source read serves the next several kernel requests
        if self._window >= self._readahead_max:
            size = _AHEAD
        else:
            size = min(max(want_end - ring.end, 1), _CHUNK)
        room = ring.writable(min(size, body.end - ring.end))
        count = body.readinto(room)
        if count <= 0:
            raise ServerError(f"{self._label}: the stream ended at byte {ring.end}")
        ring.commit(count)
        ring.trim(ring.end - self._back_buffer - count)
        if ring.end >= body.end:
            self._body = None
            body.close()

    def _discard(self, *, reuse: bool) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close(reuse=reuse)
