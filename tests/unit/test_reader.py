"""StreamReader against a small misbehaving Range server: bytes, request counts, faults."""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from putiofs.api.backend import Entry
from putiofs.api.errors import AuthenticationError, NotFoundError, ServerError, TransportError
from putiofs.front.options import MountOptions
from putiofs.read.fetcher import RangeFetcher
from putiofs.read.reader import BufferPolicy, StreamReader, open_stream
from tests.support.serving import TestServer, serve

KIB = 1024
MIB = 1024 * KIB
DATA = random.Random(1234).randbytes(3 * MIB + 12345)


@dataclass
class Behaviour:
    """How the server misbehaves; counters of the form ``*_times`` apply to that many GETs."""

    drop_after: int = 0           # body bytes sent before the connection is cut
    drop_times: int = 0
    stall_after: int = 0          # body bytes sent before the body stops, connection open
    stall_times: int = 0
    ignore_range: bool = False    # 200 with the whole file, whatever Range says
    bad_content_range: bool = False
    statuses: list[int] = field(default_factory=list)   # answered (and popped) first
    valid_tokens: set[str] = field(default_factory=lambda: {"good"})
    expire_tokens: list[str] = field(default_factory=list)  # after each answered GET, the
    #   only valid token becomes the next of these (a stream token that expires between GETs)


class RangeServer(TestServer):
    def __init__(self, data: bytes) -> None:
        super().__init__(_Handler)
        self.data = data
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        self.ranges: list[str | None] = []     # Range header of every data GET, in order
        self.redirects = 0
        self.connections: set[int] = set()     # client ports seen: one per TCP connection
        self.release = threading.Event()       # ends every stall

    def url(self, token: str = "good", *, redirect: bool = False) -> str:
        return f"{self.base}/{'redirect' if redirect else 'file'}/{token}"

    def take(self, name: str) -> bool:
        with self.lock:
            left = getattr(self.behaviour, name)
            if left > 0:
                setattr(self.behaviour, name, left - 1)
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: RangeServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        srv = self.server
        srv.connections.add(self.client_address[1])
        match = re.fullmatch(r"/(file|redirect)/([^/]+)", self.path)
        if match is None:
            self._empty(404)
            return
        kind, token = match.groups()
        if kind == "redirect":
            srv.redirects += 1
            self._empty(302, {"Location": f"/file/{token}"})
            return
        with srv.lock:
            srv.ranges.append(self.headers.get("Range"))
            status = srv.behaviour.statuses.pop(0) if srv.behaviour.statuses else None
        if token not in srv.behaviour.valid_tokens:
            self._empty(401)
            return
        if status is not None:
            self._empty(status)
            return
        data = srv.data
        size = len(data)
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if wanted is None or srv.behaviour.ignore_range:
            start, end, status = 0, size - 1, 200
        else:
            start = int(wanted.group(1))
            end = min(int(wanted.group(2)) if wanted.group(2) else size - 1, size - 1)
            status = 206
            if start >= size:
                self._empty(416, {"Content-Range": f"bytes */{size}"})
                return
        with srv.lock:
            if srv.behaviour.expire_tokens:
                srv.behaviour.valid_tokens = {srv.behaviour.expire_tokens.pop(0)}
        self.send_response(status)
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            shown = start + 1 if srv.behaviour.bad_content_range else start
            self.send_header("Content-Range", f"bytes {shown}-{end}/{size}")
        self.end_headers()
        body = memoryview(data)[start:end + 1]
        limit = len(body)
        dropping = srv.take("drop_times")
        stalling = not dropping and srv.take("stall_times")
        if dropping:
            limit = min(limit, srv.behaviour.drop_after)
        elif stalling:
            limit = min(limit, srv.behaviour.stall_after)
        try:
            for at in range(0, limit, 64 * KIB):
                self.wfile.write(body[at:min(limit, at + 64 * KIB)])
            self.wfile.flush()
            if dropping:
                self.connection.shutdown(socket.SHUT_RDWR)
            elif stalling:
                srv.release.wait(10)
            if dropping or stalling:
                self.close_connection = True
        except OSError:
            self.close_connection = True


def _serve(data: bytes) -> Iterator[RangeServer]:
    with serve(RangeServer(data)) as server:
        try:
            yield server
        finally:
            server.release.set()


@pytest.fixture
def server() -> Iterator[RangeServer]:
    yield from _serve(DATA)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[RangeServer]:
    """A well-behaved server for the property test (hypothesis reuses it across examples)."""
    yield from _serve(DATA)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


class Provider:
    """A URL provider that counts refreshes and hands out ``tokens`` in turn on refresh."""

    def __init__(self, server: RangeServer, tokens: list[str], *, redirect: bool = False) -> None:
        self.server = server
        self.tokens = tokens
        self.redirect = redirect
        self.refreshes = 0

    def __call__(self, refresh: bool) -> str:
        if refresh:
            self.refreshes += 1
        index = min(self.refreshes, len(self.tokens) - 1)
        return self.server.url(self.tokens[index], redirect=self.redirect)


FAST = {"connect_timeout": 2.0, "read_timeout": 2.0}
FETCHER_OPTIONS = ("connect_timeout", "read_timeout", "max_attempts")


def make(session: requests.Session, server: RangeServer, data: bytes = DATA,
         provider: Provider | None = None, *, deadline: float = 10.0,
         **options: float) -> StreamReader:
    """A reader of ``data`` over HTTP: fetcher options (FAST unless given) go to the fetcher,
    the others are the buffer's policy."""
    fetch = {**FAST, **{k: v for k, v in options.items() if k in FETCHER_OPTIONS}}
    policy = BufferPolicy(**{k: v for k, v in options.items()  # type: ignore[arg-type]
                             if k not in FETCHER_OPTIONS})
    fetcher = RangeFetcher(session, provider or Provider(server, ["good"]), len(data),
                           label="test file", **fetch)  # type: ignore[arg-type]
    return StreamReader(fetcher, len(data), deadline=deadline, policy=policy, label="test file")


def read_all(reader: StreamReader, size: int, step: int) -> bytes:
    return b"".join(reader.read(offset, step) for offset in range(0, size, step))


# -- bytes --------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1000, 4 * KIB, 128 * KIB, 1 * MIB, 5 * MIB])
def test_whole_file_sequential_equals_source(session, server, step):
    with make(session, server) as reader:
        assert read_all(reader, len(DATA), step) == DATA


def test_sequential_read_uses_few_requests_and_one_connection(session):
    data = random.Random(7).randbytes(40 * MIB)
    for srv in _serve(data):
        with make(session, srv, data) as reader:
            assert read_all(reader, len(data), 128 * KIB) == data
        # windows 128K, 256K, ... 4M, then one open-ended GET: independent of the file size
        assert len(srv.ranges) <= 8, srv.ranges
        assert srv.ranges[-1].endswith("-")
        assert len(srv.connections) == 1


def test_reads_past_eof_and_at_eof(session, server):
    with make(session, server) as reader:
        size = len(DATA)
        assert reader.read(size - 10, 100) == DATA[-10:]
        assert reader.read(size, 100) == b""
        assert reader.read(size + 5000, 1) == b""
        assert reader.read(0, 0) == b""


def test_zero_length_file_makes_no_request(session, server):
    with make(session, server, b"") as reader:
        assert reader.read(0, 4096) == b""
    assert server.ranges == []


@pytest.mark.parametrize("edge", [0, 64 * KIB])
def test_reads_across_block_edges(session, server, edge):
    size = len(DATA)
    with make(session, server, edge_cache=edge, readahead_min=64 * KIB) as reader:
        for offset in (0, edge - 1, edge, 64 * KIB - 1, 128 * KIB - 1, 128 * KIB,
                       384 * KIB - 1, size - edge - 1, size - edge, size - 1, 1):
            offset = max(0, offset)
            for length in (1, 2, 4095, 64 * KIB + 1):
                assert reader.read(offset, length) == DATA[offset:offset + length], (offset,
                                                                                    length)


def _offsets(size: int) -> st.SearchStrategy[int]:
    edges = [0, 4 * KIB, 8 * KIB, 16 * KIB, size - 4 * KIB, size - 1, size]
    near = st.sampled_from(edges).flatmap(
        lambda e: st.integers(max(0, e - 3), min(size, e + 3)))
    return st.one_of(st.integers(0, size + 10), near)


SMALL = DATA[:300 * KIB]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_offsets(len(SMALL)), st.integers(0, 40 * KIB)), min_size=1,
                max_size=25))
def test_random_read_sequences_return_source_bytes(shared_server, reads):
    shared_server.data = SMALL
    with requests.Session() as s, make(
            s, shared_server, SMALL, readahead_min=4 * KIB, readahead_max=64 * KIB,
            forward_skip_max=16 * KIB, back_buffer=8 * KIB, edge_cache=4 * KIB) as reader:
        for offset, length in reads:
            assert reader.read(offset, length) == SMALL[offset:offset + length]


def test_out_of_order_reads_are_served_from_the_back_buffer(session, server):
    step = 128 * KIB
    with make(session, server, edge_cache=0) as reader:
        order = [0]                                  # the kernel's first read is synchronous
        for base in range(0, 2 * MIB, 4 * step):     # the kernel's readahead, shuffled
            order += [base + 2 * step, base, base + 3 * step, base + step]
        for offset in order:
            assert reader.read(offset, step) == DATA[offset:offset + step]
    # jumps of a few blocks forward and back never reopen the stream
    starts = [int(re.match(r"bytes=(\d+)-", r).group(1)) for r in server.ranges]
    assert starts == sorted(starts)
    assert len(server.ranges) <= 6, server.ranges


def test_concurrent_threads_on_one_handle_and_on_two_handles(session, server):
    step = 64 * KIB
    readers = [make(session, server), make(session, server)]
    errors: list[BaseException] = []

    def worker(reader: StreamReader, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(40):
                if rng.random() < 0.5:
                    offset = rng.randrange(0, len(DATA))
                else:
                    offset = rng.randrange(0, 6) * step
                length = rng.choice([1, 4 * KIB, step, 3 * step])
                assert reader.read(offset, length) == DATA[offset:offset + length]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(readers[i % 2], i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for reader in readers:
        reader.close()
    assert not errors, errors[0]


def test_first_and_last_blocks_are_cached(session, server):
    size = len(DATA)
    with make(session, server) as reader:
        assert reader.read(0, 4 * KIB) == DATA[:4 * KIB]              # header
        assert reader.read(size - 64 * KIB, 4 * KIB) == DATA[size - 64 * KIB:size - 60 * KIB]
        assert reader.read(MIB, 4 * KIB) == DATA[MIB:MIB + 4 * KIB]    # play from the middle
        before = len(server.ranges)
        assert reader.read(100, 1000) == DATA[100:1100]                # header again
        assert reader.read(size - 1000, 1000) == DATA[-1000:]          # index again
        assert len(server.ranges) == before


# -- streaming behaviour ---------------------------------------------------------------


def test_far_seek_reopens_at_the_new_offset(session, server):
    with make(session, server, edge_cache=0, forward_skip_max=256 * KIB) as reader:
        assert reader.read(0, 4 * KIB) == DATA[:4 * KIB]
        far = 2 * MIB + 17
        assert reader.read(far, 4 * KIB) == DATA[far:far + 4 * KIB]
    assert server.ranges[0].startswith("bytes=0-")
    assert server.ranges[1].startswith(f"bytes={far}-")
    assert len(server.ranges) == 2


def test_short_forward_jump_is_read_from_the_open_stream(session, server):
    with make(session, server, edge_cache=0, readahead_min=MIB) as reader:
        assert reader.read(0, 4 * KIB) == DATA[:4 * KIB]
        assert reader.read(300 * KIB, 4 * KIB) == DATA[300 * KIB:304 * KIB]
    assert len(server.ranges) == 1


def test_redirect_keeps_the_range_and_is_followed_once_per_handle(session, server):
    provider = Provider(server, ["good"], redirect=True)
    with make(session, server, provider=provider, edge_cache=0) as reader:
        offset = MIB + 3
        assert reader.read(offset, 10 * KIB) == DATA[offset:offset + 10 * KIB]
        assert reader.read(17, 10 * KIB) == DATA[17:17 + 10 * KIB]
    assert server.redirects == 1
    assert server.ranges[0].startswith(f"bytes={offset}-")
    assert server.ranges[1].startswith("bytes=17-")


def test_a_refused_redirect_target_goes_back_to_the_stream_url(session, server):
    provider = Provider(server, ["good", "new"], redirect=True)
    with make(session, server, provider=provider, edge_cache=0) as reader:
        assert reader.read(0, 10) == DATA[:10]
        server.behaviour.valid_tokens = {"new"}           # the old token and its target expire
        assert reader.read(MIB, 10) == DATA[MIB:MIB + 10]
    assert provider.refreshes == 1
    assert server.redirects == 3   # first GET; the old stream URL again; the refreshed one


# -- faults ---------------------------------------------------------------------------


def test_dropped_connection_resumes_at_the_exact_offset(session, server):
    server.behaviour.drop_after = 100_000
    server.behaviour.drop_times = 2
    with make(session, server, edge_cache=0, readahead_min=MIB) as reader:
        assert read_all(reader, len(DATA), 128 * KIB) == DATA
    assert server.ranges[0] == f"bytes=0-{MIB - 1}"
    assert server.ranges[1].startswith("bytes=100000-")
    assert server.ranges[2].startswith("bytes=200000-")


def test_stall_beyond_read_timeout_resumes(session, server):
    server.behaviour.stall_after = 50_000
    server.behaviour.stall_times = 1
    with make(session, server, edge_cache=0, read_timeout=0.3) as reader:
        started = time.monotonic()
        assert reader.read(0, 200_000) == DATA[:200_000]
        assert time.monotonic() - started < 3
    assert server.ranges[1].startswith("bytes=50000-")


def test_deadline_bounds_a_read_against_a_server_that_always_stalls(session, server):
    server.behaviour.stall_after = 1000
    server.behaviour.stall_times = 10_000
    with make(session, server, edge_cache=0, read_timeout=0.2, deadline=1.0,
              max_attempts=1000) as reader:
        started = time.monotonic()
        with pytest.raises(TransportError):
            reader.read(0, 100_000)
        assert time.monotonic() - started < 2.5   # the stall alone would last 10 s


def test_deadline_wins_over_a_longer_read_timeout(session, server):
    server.behaviour.stall_after = 1000
    server.behaviour.stall_times = 10_000
    with make(session, server, edge_cache=0, read_timeout=30, deadline=0.8) as reader:
        started = time.monotonic()
        with pytest.raises(TransportError):
            reader.read(0, 100_000)
        assert time.monotonic() - started < 2.5   # read_timeout alone would be 30 s


def test_memory_per_handle_stays_bounded(session, server):
    with make(session, server, back_buffer=256 * KIB, edge_cache=64 * KIB) as reader:
        for offset in range(0, len(DATA), 128 * KIB):
            assert reader.read(offset, 128 * KIB) == DATA[offset:offset + 128 * KIB]
            assert reader.buffered <= 256 * KIB + 2 * 64 * KIB + 256 * KIB


def test_5xx_is_retried_then_succeeds(session, server):
    server.behaviour.statuses = [503, 500]
    with make(session, server) as reader:
        assert reader.read(1000, 5000) == DATA[1000:6000]


def test_persistent_5xx_is_a_server_error_after_max_attempts(session, server):
    server.behaviour.statuses = [503] * 10
    with make(session, server, max_attempts=3) as reader, pytest.raises(ServerError):
        reader.read(1000, 5000)
    assert len(server.ranges) == 3


def test_401_refreshes_the_token_once_then_succeeds(session, server):
    provider = Provider(server, ["expired", "good"])
    with make(session, server, provider=provider) as reader:
        assert reader.read(0, 10_000) == DATA[:10_000]
    assert provider.refreshes == 1


def test_a_token_that_expires_again_during_one_read_is_refreshed_again(session, server):
    """One read needs two GETs (the last block, kept as an edge block, and the stream before
    it); the token has expired before each of them."""
    provider = Provider(server, ["expired", "second", "third"])
    server.behaviour.valid_tokens = {"second"}
    server.behaviour.expire_tokens = ["third", "fourth"]
    offset = len(DATA) - 256 * KIB - 1000
    with make(session, server, provider=provider) as reader:
        assert reader.read(offset, 2000) == DATA[offset:offset + 2000]
    assert provider.refreshes == 2


def test_persistent_401_is_an_authentication_error(session, server):
    provider = Provider(server, ["expired", "still-bad", "never"])
    with make(session, server, provider=provider) as reader, pytest.raises(AuthenticationError):
        reader.read(0, 10_000)
    assert provider.refreshes == 1


def test_404_is_not_found(session, server):
    server.behaviour.statuses = [404]
    with make(session, server) as reader, pytest.raises(NotFoundError):
        reader.read(0, 10)


def test_200_ignoring_range_past_zero_is_a_server_error(session, server):
    server.behaviour.ignore_range = True
    with make(session, server, edge_cache=0) as reader:
        with pytest.raises(ServerError):
            reader.read(5000, 100)
        assert reader.read(0, 100) == DATA[:100]   # a 200 from byte 0 is the whole file: fine


def test_wrong_content_range_is_a_server_error(session, server):
    server.behaviour.bad_content_range = True
    with make(session, server) as reader:
        with pytest.raises(ServerError):
            reader.read(0, 100)
        with pytest.raises(ServerError):
            reader.read(MIB, 100)


def test_416_inside_the_file_is_a_server_error(session, server):
    server.data = DATA[:1000]   # the server's file shrank under us
    with make(session, server) as reader, pytest.raises(ServerError):
        reader.read(2000, 100)


def test_logs_never_show_the_token(session, server, caplog):
    provider = Provider(server, ["expired-SECRET", "good"])
    server.behaviour.drop_after = 1000
    server.behaviour.drop_times = 1
    with (caplog.at_level(logging.DEBUG, logger="putiofs.read"),
          make(session, server, provider=provider) as reader):
        assert reader.read(0, 5000) == DATA[:5000]
    assert "test file" in caplog.text
    assert "SECRET" not in caplog.text and "/file/" not in caplog.text


def test_close_is_idempotent_and_later_reads_fail(session, server):
    reader = make(session, server)
    assert reader.read(0, 10) == DATA[:10]
    reader.close()
    reader.close()
    with pytest.raises(TransportError):
        reader.read(0, 10)


class _StreamBackend:
    """What ``open_stream`` uses of a Backend: the session and the stream URL of an entry."""

    def __init__(self, session: requests.Session, server: RangeServer) -> None:
        self.http_session = session
        self.server = server
        self.asked: list[tuple[str, bool]] = []

    def stream_url(self, entry: Entry, *, refresh_token: bool = False) -> str:
        self.asked.append((entry.id, refresh_token))
        return self.server.url("good" if refresh_token else "stale")


def test_open_stream_reads_an_entry_through_the_backend_within_the_mounts_limits(
        session, server, caplog):
    backend = _StreamBackend(session, server)
    entry = Entry(id="77", name="x.bin", is_dir=False, size=len(DATA), parent_id="0")
    limits = MountOptions(read_timeout=2.0, call_deadline=10.0)
    with (caplog.at_level(logging.DEBUG, logger="putiofs.read"),
          open_stream(backend, entry, limits) as reader):  # type: ignore[arg-type]
        assert reader.size == len(DATA)
        assert reader.read(MIB, 5000) == DATA[MIB:MIB + 5000]
    assert backend.asked == [("77", False), ("77", True)]   # a refused URL is asked again
    assert "item 77" in caplog.text


def test_a_handle_closed_with_a_short_rest_leaves_its_connection_for_the_next(session):
    """Opening a small file, reading its head and closing it (a file manager, a scanner) drains
    what is left of the range and gives the connection back: the next file's GET reuses it
    instead of connecting anew."""
    data = random.Random(3).randbytes(64 * KIB)
    for srv in _serve(data):
        for _ in range(3):
            with make(session, srv, data) as reader:
                assert reader.read(0, 4 * KIB) == data[:4 * KIB]
        assert len(srv.ranges) == 3
        assert len(srv.connections) == 1
