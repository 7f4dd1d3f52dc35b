"""The ring the stream is read into: whatever is written, it gives back exactly the most
recent bytes it holds, across wraps and resizes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from putiofs.read.byte_ring import ByteRing

STEPS = st.lists(st.one_of(st.tuples(st.just("write"), st.integers(1, 40)),
                           st.tuples(st.just("resize"), st.integers(1, 64)),
                           st.tuples(st.just("trim"), st.integers(0, 30))),
                 min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 48), STEPS)
def test_the_ring_holds_the_most_recent_bytes(capacity, steps):
    stream = bytes(range(256)) * 40
    ring = ByteRing(capacity)
    ring.reset(7)
    for kind, value in steps:
        if kind == "write":
            room = ring.writable(value)
            assert 1 <= len(room) <= value
            count = len(room) // 2 + 1
            room[:count] = stream[ring.end:ring.end + count]
            ring.commit(count)
        elif kind == "resize":
            ring.resize(value)
        else:
            ring.trim(ring.end - value)
        assert 0 <= len(ring) <= ring.capacity
        out = bytearray(len(ring))
        ring.copy_into(memoryview(out), ring.start, ring.end)
        assert out == stream[ring.start:ring.end]
