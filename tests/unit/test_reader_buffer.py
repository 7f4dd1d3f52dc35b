"""The stream buffer policy against plain bytes, no HTTP (a StreamReader over a byte source):
which ranges it asks for, what it keeps, and that every read returns exactly the source's
bytes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from putiofs.api.errors import ServerError
from putiofs.read.buffer import BufferPolicy
from putiofs.read.reader import StreamReader

KIB = 1024
MIB = 1024 * KIB
DATA = random.Random(42).randbytes(20 * MIB + 777)


class Body:
    def __init__(self, source: BytesSource, start: int, end: int) -> None:
        self.source = source
        self.pos = start
        self.end = end
        self.closed: bool | None = None

    def readinto(self, view: memoryview) -> int:
        if self.source.fail_next:
            self.source.fail_next = False
            raise ServerError("the source gave up")
        stop = min(self.end, self.pos + len(view))
        chunk = self.source.data[self.pos:stop]
        view[:len(chunk)] = chunk
        self.pos = stop
        self.source.chunks.append(chunk)
        return len(chunk)

    def close(self, *, reuse: bool = True) -> None:
        self.closed = reuse


class BytesSource:
    """A RangeSource over bytes that records what the buffer asked of it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opens: list[tuple[int, int]] = []
        self.fetches: list[tuple[int, int]] = []
        self.bodies: list[Body] = []
        self.chunks: list[bytes] = []
        self.fail_next = False

    def open(self, start: int, end: int) -> Body:
        self.opens.append((start, end))
        self.bodies.append(Body(self, start, end))
        return self.bodies[-1]

    def fetch(self, start: int, end: int) -> bytes:
        self.fetches.append((start, end))
        return self.data[start:end]

    def forget_target(self) -> None:
        pass


def make(data: bytes = DATA, **options: int) -> tuple[StreamReader, BytesSource]:
    source = BytesSource(data)
    return StreamReader(source, len(data), policy=BufferPolicy(**options), label="bytes"), source


def test_sequential_read_grows_the_window_then_runs_to_the_end():
    buffer, source = make(edge_cache=0)
    step = 128 * KIB
    got = b"".join(buffer.read(offset, step) for offset in range(0, len(DATA), step))
    assert got == DATA
    windows = [end - start for start, end in source.opens]
    assert windows[:6] == [128 * KIB * 2 ** i for i in range(6)]   # 128 KiB ... 4 MiB
    assert source.opens[-1][1] == len(DATA) and len(source.opens) <= 8
    assert all(source.opens[i][1] == source.opens[i + 1][0] for i in range(len(windows) - 1))
    assert source.fetches == []


def test_read_into_fills_the_callers_buffer_short_only_at_the_end():
    buffer, _ = make(edge_cache=4 * KIB)
    dest = bytearray(200 * KIB)
    assert buffer.read_into(1000, memoryview(dest)) == len(dest)
    assert dest == DATA[1000:1000 + len(dest)]
    near_end = len(DATA) - 5000
    assert buffer.read_into(near_end, memoryview(dest)) == 5000
    assert dest[:5000] == DATA[near_end:]
    assert buffer.read_into(len(DATA), memoryview(dest)) == 0


def test_the_stream_is_read_into_one_reused_buffer():
    """No allocation per source read: every socket read lands in the same preallocated ring."""
    targets: list[object] = []
    buffer, source = make(edge_cache=0)
    original = source.open

    def open_recording(start: int, end: int) -> Body:
        body = original(start, end)
        plain = body.readinto

        def readinto(view: memoryview) -> int:
            targets.append(view.obj)
            return plain(view)

        body.readinto = readinto  # type: ignore[method-assign]
        return body

    source.open = open_recording  # type: ignore[method-assign]
    dest = memoryview(bytearray(128 * KIB))
    for offset in range(0, 12 * MIB, 128 * KIB):
        buffer.read_into(offset, dest)
        assert dest == DATA[offset:offset + 128 * KIB]
    assert len(targets) > 20 and all(t is targets[0] for t in targets)


def test_the_first_read_waits_for_its_own_bytes_not_the_whole_first_block():
    """A 16 KiB first read (the kernel's for a 4 KiB read(2)) takes 16 KiB off the stream; the
    rest of the first block comes with the reads that need it, from the same range (which
    asks for the whole block)."""
    buffer, source = make()
    assert buffer.read(0, 16 * KIB) == DATA[:16 * KIB]
    assert sum(map(len, source.chunks)) == 16 * KIB
    assert buffer.read(16 * KIB, 100 * KIB) == DATA[16 * KIB:116 * KIB]
    assert buffer.read(1000, 2000) == DATA[1000:3000]
    assert source.opens == [(0, 256 * KIB)]
    assert buffer.read(0, 256 * KIB) == DATA[:256 * KIB]
    buffer.close()
    assert all(body.closed is True for body in source.bodies)  # no connection given up


def test_a_player_back_at_the_header_after_the_index_costs_no_request():
    """ffmpeg reads the header, then the index at the end, then the header again, then seeks:
    the first block is read whole from its one range before the stream leaves it."""
    buffer, source = make()
    size = len(DATA)
    assert buffer.read(0, 16 * KIB) == DATA[:16 * KIB]
    assert buffer.read(size - 64 * KIB, 64 * KIB) == DATA[-64 * KIB:]
    opened = len(source.opens)
    assert buffer.read(100 * KIB, 150 * KIB) == DATA[100 * KIB:250 * KIB]
    assert len(source.opens) == opened
    assert source.opens[0] == (0, 256 * KIB)


def test_random_reads_ask_for_their_own_bytes_and_reading_on_grows_the_window_again():
    buffer, source = make(edge_cache=0)
    offsets = [10 * MIB, MIB + 123, 16 * MIB, 5 * MIB]   # farther apart than a skip
    for offset in offsets:
        assert buffer.read(offset, 68 * KIB) == DATA[offset:offset + 68 * KIB]
    assert source.opens[0] == (10 * MIB, 10 * MIB + 128 * KIB)   # a seek: a window
    assert source.opens[1:] == [(o, o + 68 * KIB) for o in offsets[1:]]   # random: the read
    assert all(body.pos == body.end for body in source.bodies[1:])   # nothing thrown away
    on = 5 * MIB + 68 * KIB
    assert buffer.read(on, 68 * KIB) == DATA[on:on + 68 * KIB]
    assert source.opens[-1] == (on, on + 256 * KIB)


def test_edge_blocks_are_kept():
    buffer, source = make()
    size = len(DATA)
    assert buffer.read(0, 4 * KIB) == DATA[:4 * KIB]
    assert buffer.read(size - 10 * KIB, 4 * KIB) == DATA[size - 10 * KIB:size - 6 * KIB]
    assert buffer.read(5 * MIB, 4 * KIB) == DATA[5 * MIB:5 * MIB + 4 * KIB]
    asked = len(source.opens) + len(source.fetches)
    assert buffer.read(100, 1000) == DATA[100:1100]
    assert buffer.read(size - 1000, 1000) == DATA[-1000:]
    assert len(source.opens) + len(source.fetches) == asked


def test_out_of_order_readahead_is_served_from_the_back_buffer():
    buffer, source = make(edge_cache=0)
    step = 128 * KIB
    order = [0]
    for base in range(0, 2 * MIB, 4 * step):
        order += [base + 2 * step, base, base + 3 * step, base + step]
    for offset in order:
        assert buffer.read(offset, step) == DATA[offset:offset + step]
    starts = [start for start, _ in source.opens]
    assert starts == sorted(starts) and len(starts) <= 6 and source.fetches == []


def test_a_late_block_before_the_back_buffer_is_a_side_read_that_leaves_the_stream_alone():
    buffer, source = make(edge_cache=0, back_buffer=256 * KIB)
    step = 128 * KIB
    for offset in range(0, 2 * MIB, step):
        assert buffer.read(offset, step) == DATA[offset:offset + step]
    opens = len(source.opens)
    late = 2 * MIB - 640 * KIB
    assert buffer.read(late, step) == DATA[late:late + step]
    assert len(source.fetches) == 1 and source.fetches[0][0] == late
    assert source.fetches[0][1] <= 2 * MIB - 256 * KIB   # reaches at most to the back buffer
    assert buffer.read(2 * MIB, step) == DATA[2 * MIB:2 * MIB + step]   # the stream goes on
    assert len(source.opens) == opens


def test_a_far_seek_reopens_with_the_smallest_window():
    buffer, source = make(edge_cache=0)
    for offset in range(0, 2 * MIB, 128 * KIB):
        buffer.read(offset, 128 * KIB)
    far = 10 * MIB + 3
    assert buffer.read(far, 1000) == DATA[far:far + 1000]
    assert source.opens[-1] == (far, far + 128 * KIB)
    assert source.bodies[-2].closed is not None   # the old stream was let go


def test_a_source_failure_is_raised_and_the_next_read_reopens():
    buffer, source = make(edge_cache=0)
    assert buffer.read(0, 1000) == DATA[:1000]
    source.fail_next = True
    with pytest.raises(ServerError):
        buffer.read(200 * KIB, 1000)
    assert source.bodies[-1].closed is False     # closed, not drained for reuse
    assert buffer.read(200 * KIB, 1000) == DATA[200 * KIB:200 * KIB + 1000]


def test_memory_stays_bounded():
    """Back buffer and edge blocks, plus one source read (at most 1 MiB)."""
    buffer, _ = make(back_buffer=256 * KIB, edge_cache=64 * KIB)
    for offset in range(0, len(DATA), 128 * KIB):
        assert buffer.read(offset, 128 * KIB) == DATA[offset:offset + 128 * KIB]
        assert buffer.buffered <= 256 * KIB + 2 * 64 * KIB + MIB


SMALL = DATA[:300 * KIB]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SMALL) + 10), st.integers(0, 40 * KIB)),
                min_size=1, max_size=30))
def test_any_read_sequence_returns_the_source_bytes(reads):
    buffer, _ = make(SMALL, readahead_min=4 * KIB, readahead_max=64 * KIB,
                     forward_skip_max=16 * KIB, back_buffer=8 * KIB, edge_cache=4 * KIB)
    for offset, length in reads:
        assert buffer.read(offset, length) == SMALL[offset:offset + length]
