"""The most recent bytes of a stream in one preallocated buffer, reused as a ring.

A :class:`ByteRing` holds the file bytes ``[start, end)`` (at most ``capacity`` of them). The
network reads straight into it (:meth:`writable` hands out the free space at its end as a
``memoryview`` for ``readinto``) and reads are served by copying out of it
(:meth:`copy_into`), so a byte taken from the socket is copied once more on its way to the
caller, never concatenated and never in a fresh allocation: a new ``bytes`` per socket read
costs the kernel a page fault per 4 KiB (a 1 MiB allocation is a fresh ``mmap`` each time),
about a fifth of the mount's CPU before this buffer existed.

The buffer is allocated on first use as an anonymous memory map: the kernel maps its pages as
they are first written, so a handle that reads little holds little, and its first read pays
for the pages it fills, not for all of them (a ``bytearray`` of the same 5 MiB is zeroed by
``memset`` at once: 0.2 ms of every first read, 18 µs as a map). Not thread-safe: the owner's
lock serialises it.
"""

from __future__ import annotations

import mmap

__all__ = ["ByteRing"]


class ByteRing:
    """File bytes ``[start, end)`` in a ring of ``capacity`` bytes."""

    __slots__ = ("_buf", "_view", "_cap", "start", "end")

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self._cap = capacity
        self._buf: mmap.mmap | None = None
        self._view: memoryview | None = None
        self.start = self.end = 0

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def capacity(self) -> int:
        return self._cap

    def reset(self, pos: int) -> None:
        """Hold nothing; the next byte written is file byte ``pos``."""
        self.start = self.end = pos

    def trim(self, keep_from: int) -> None:
        """Forget the bytes before ``keep_from``."""
        self.start = min(self.end, max(self.start, keep_from))

    def writable(self, size: int) -> memoryview:
        """Room for up to ``size`` (> 0) bytes at ``end``, contiguous (shorter where the ring
        wraps). The oldest bytes it reuses are forgotten now; :meth:`commit` what was written."""
        view = self._ensure()
        at = self.end % self._cap
        size = min(size, self._cap - at)
        self.start = max(self.start, self.end + size - self._cap)
        return view[at:at + size]

    def commit(self, count: int) -> None:
        """``count`` bytes were written into the last :meth:`writable` view."""
        self.end += count

    def copy_into(self, dest: memoryview, start: int, stop: int) -> None:
        """Copy file bytes ``[start, stop)`` (held) to the beginning of ``dest``."""
        view = self._ensure()
        at = start % self._cap
        first = min(stop - start, self._cap - at)
        dest[:first] = view[at:at + first]
        if first < stop - start:
            dest[first:stop - start] = view[:stop - start - first]

    def resize(self, capacity: int) -> None:
        """A larger (or smaller) ring keeping the most recent bytes that fit."""
        if capacity == self._cap:
            return
        old_start = max(self.start, self.end - capacity)
        held = bytearray(self.end - old_start)
        if held:
            self.copy_into(memoryview(held), old_start, self.end)
        self._cap, self._buf, self._view = capacity, None, None
        self.start = self.end = old_start
        done = 0
        while done < len(held):
            room = self.writable(len(held) - done)
            room[:] = held[done:done + len(room)]
            self.commit(len(room))
            done += len(room)

    def release(self) -> None:
        """Give the memory back; holds nothing until written again."""
        self._buf = self._view = None
        self.start = self.end

    def _ensure(self) -> memoryview:
        if self._view is None:
            self._buf = mmap.mmap(-1, self._cap)   # unmapped once the last view is gone
            self._view = memoryview(self._buf)
        return self._view
