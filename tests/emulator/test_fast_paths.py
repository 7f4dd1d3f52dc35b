"""The reader's fast paths return the source's bytes: GETs straight through urllib3's pool, the
requests fallback (custom adapter, proxy), and reads arriving out of order from many threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from putiofs.read.fetcher import RangeFetcher
from putiofs.read.reader import BufferPolicy, StreamReader
from tests.support.v1_streams import TokenProvider, download_url

KIB = 1024
MIB = 1024 * KIB
DATA = random.Random(2024).randbytes(9 * MIB + 77)


class CountingAdapter(HTTPAdapter):
    """A custom adapter: the reader must go through requests (and so through it)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        self.sent += 1
        return super().send(request, **kwargs)


@pytest.fixture
def served(emulator_factory):
    def start(**options):
        server = emulator_factory(**options)
        server.account.add_file("0", "x.bin", data=DATA)
        return server, TokenProvider(server, download_url(server, "x.bin"))
    return start


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def reader(session: requests.Session, provider: TokenProvider, **policy: int) -> StreamReader:
    fetcher = RangeFetcher(session, provider, len(DATA), read_timeout=5, label="x.bin")
    return StreamReader(fetcher, len(DATA), deadline=20, policy=BufferPolicy(**policy),
                        label="x.bin")


def check_reads(r: StreamReader, seed: int) -> None:
    rng = random.Random(seed)
    got = b"".join(r.read(off, 128 * KIB) for off in range(0, len(DATA), 128 * KIB))
    assert got == DATA
    for _ in range(40):
        offset, length = rng.randrange(len(DATA)), rng.choice([1, 4 * KIB, 64 * KIB, MIB])
        assert r.read(offset, length) == DATA[offset:offset + length]


@pytest.mark.parametrize("redirect", [False, True])
def test_direct_gets_return_the_source_bytes_and_reuse_one_connection(served, session,
                                                                      redirect):
    server, provider = served(redirect=redirect)
    with reader(session, provider) as r:
        check_reads(r, 1)
    pools = session.get_adapter("http://127.0.0.1/").poolmanager.pools
    assert len(pools) == 1


def test_a_pool_closed_by_the_pool_manager_is_replaced(served, session):
    server, provider = served()
    with reader(session, provider) as r:
        assert r.read(0, 4 * KIB) == DATA[:4 * KIB]
    session.get_adapter("http://127.0.0.1/").poolmanager.clear()  # closes every pool
    with reader(session, provider) as r:
        check_reads(r, 4)


def test_a_custom_adapter_is_respected(served, session):
    server, provider = served()
    adapter = CountingAdapter()
    session.mount("http://", adapter)
    with reader(session, provider) as r:
        check_reads(r, 2)
    assert adapter.sent > 0


def test_a_proxy_from_the_environment_is_used(served, session, monkeypatch):
    """The emulator answers absolute-URI requests, so it can stand in for the proxy."""
    server, provider = served()
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.root_url)
    with reader(session, provider) as r:
        check_reads(r, 3)
    assert session.get_adapter("http://127.0.0.1/").proxy_manager


@pytest.mark.parametrize("threads", [2, 8])
def test_out_of_order_reads_from_many_threads_equal_the_source(served, session, threads):
    """As the kernel's readahead sends them: blocks in flight at once, in any order."""
    server, provider = served()
    block = 128 * KIB
    offsets = list(range(0, len(DATA), block))
    results: dict[int, bytes] = {}
    rng = random.Random(threads)
    with reader(session, provider) as r:
        for group_start in range(0, len(offsets), threads * 2):
            group = offsets[group_start:group_start + threads * 2]
            rng.shuffle(group)

            def work(mine: list[int]) -> None:
                for off in mine:
                    results[off] = r.read(off, block)

            workers = [threading.Thread(target=work, args=(group[i::threads],))
                       for i in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(30)
    assert b"".join(results[o] for o in offsets) == DATA


def test_late_blocks_before_the_back_buffer_are_side_reads_and_the_stream_goes_on():
    """Readahead with read_ahead_kb raised: blocks arrive after blocks far past them."""
    from tests.unit.test_reader import DATA as SOURCE
    from tests.unit.test_reader import _serve, make

    step = 128 * KIB
    order = [0, 1, 2, 8, 9, 10, 3, 4, 11, 5, 12, 6, 7, 13, 14]
    for srv in _serve(SOURCE):
        with requests.Session() as s, make(s, srv, edge_cache=0, back_buffer=256 * KIB) as r:
            for block in order:
                offset = block * step
                assert r.read(offset, step) == SOURCE[offset:offset + step]
        starts = [int(rng[6:].split("-")[0]) for rng in srv.ranges]
        behind = [i for i, start in enumerate(starts) if i and start < max(starts[:i])]
        # five late blocks, fetched by side GETs whose window grows: fewer GETs than blocks
        assert 1 <= len(behind) <= 3, srv.ranges
        # the stream itself only ever moved forward: no reopen behind it
        stream = [start for i, start in enumerate(starts) if i not in behind]
        assert stream == sorted(stream) and len(stream) <= 5, srv.ranges


def test_reading_on_after_a_short_seek_back_costs_a_few_gets():
    from tests.unit.test_reader import DATA as SOURCE
    from tests.unit.test_reader import _serve, make

    step = 128 * KIB
    for srv in _serve(SOURCE):
        with requests.Session() as s, make(s, srv, edge_cache=0, back_buffer=512 * KIB,
                                           forward_skip_max=2 * MIB) as r:
            for offset in range(0, 4 * MIB, step):
                assert r.read(offset, step) == SOURCE[offset:offset + step]
            before = len(srv.ranges)
            for offset in range(2 * MIB, 5 * MIB, step):  # 2 MiB back, then on
                assert r.read(offset, step) == SOURCE[offset:offset + step]
        # 1.5 MiB behind the buffer in 128 KiB requests: side windows 128K, 256K, 512K, 1M
        assert len(srv.ranges) - before <= 5, srv.ranges[before:]


@pytest.fixture(scope="module")
def small_server():
    from tests.unit.test_reader import _serve

    yield from _serve(SMALL)


SMALL = random.Random(11).randbytes(700 * KIB + 5)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 7), min_size=4, max_size=40), st.randoms(use_true_random=False))
def test_readahead_shuffled_in_windows_returns_source_bytes(small_server, windows, rnd):
    """Blocks in order, shuffled within windows of up to 8 blocks: the kernel's readahead from
    several threads. Small buffers make late blocks side reads and the stream read ahead."""
    from tests.unit.test_reader import make

    small_server.data = SMALL
    block = 16 * KIB
    blocks = list(range(0, len(SMALL), block))
    order: list[int] = []
    position = 0
    for width in windows:
        group = blocks[position:position + width + 1]
        rnd.shuffle(group)
        order += group
        position += width + 1
    with requests.Session() as s, make(
            s, small_server, SMALL, readahead_min=16 * KIB, readahead_max=64 * KIB,
            forward_skip_max=96 * KIB, back_buffer=32 * KIB, edge_cache=0) as reader:
        for offset in order:
            assert reader.read(offset, block) == SMALL[offset:offset + block]


def test_memory_stays_bounded_with_read_ahead_late_blocks_and_side_reads(served, session):
    server, provider = served()
    back, skip, edge = 256 * KIB, 512 * KIB, 64 * KIB
    block = 128 * KIB
    bound = 2 * back + skip + 2 * edge + MIB + block  # + one socket read, + the read itself
    rng = random.Random(8)
    with reader(session, provider, readahead_min=block, readahead_max=256 * KIB,
                back_buffer=back, forward_skip_max=skip, edge_cache=edge) as r:
        offsets = list(range(0, len(DATA), block))
        for start in range(0, len(offsets), 6):
            group = offsets[start:start + 6]
            rng.shuffle(group)
            for offset in group:
                assert r.read(offset, block) == DATA[offset:offset + block]
                assert r.buffered <= bound
