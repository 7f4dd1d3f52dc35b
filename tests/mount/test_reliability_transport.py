"""Deadlines against servers that trickle bytes, and stream tokens that expire mid-read.

A per-socket-read timeout is not a deadline: a server sending one byte every 0.3 s never trips
it. These tests talk to small ad-hoc servers that trickle the status line, the headers or the
body, and check that an API call, a stream read and a real ``ls`` end within their deadline
(with generous slack: these are correctness bounds, not speed targets).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from putiofs.api.errors import TransportError
from putiofs.config import Settings
from putiofs.emulator.http.faults import RandomFaults
from putiofs.net import deadline
from putiofs.net.http import Watch, new_session
from putiofs.net.retry import RetryPolicy
from putiofs.read.fetcher import RangeFetcher
from putiofs.read.reader import StreamReader
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire
from tests.support.mounting import requires_fuse
from tests.support.serving import TestServer, serve
from tests.support.versions import api_only, link_expiry

SLACK = 3.0        # seconds beyond a deadline a failing call may take on a loaded machine
TRICKLE = 0.3      # seconds between two bytes of a trickling answer
KIB = 1024
MIB = 1024 * KIB


class TrickleServer:
    """Answers every request; ``mode`` says what trickles: "status" (everything from the
    status line on), "headers" (the headers after the status line) or "body". Range GETs get
    a correct 206; other requests (API calls) a valid, long JSON envelope. ``quick`` bytes of
    a trickled body come at once, then one every ``interval`` seconds. ``ending`` says how
    the answer announces that the connection closes after it: not at all ("keep-alive"),
    with ``Connection: close`` ("close") or by being HTTP/1.0 ("http/1.0"); in the last two
    cases http.client hands the socket to the response and forgets it on the connection."""

    def __init__(self, mode: str, size: int = 4 * MIB, ending: str = "keep-alive",
                 quick: int = 0, interval: float = TRICKLE) -> None:
        self.mode = mode
        self.size = size
        self.quick = quick          # bytes of the body sent at once before the trickle
        self.interval = interval    # seconds between two trickled bytes
        self.version = b"HTTP/1.0" if ending == "http/1.0" else b"HTTP/1.1"
        self.extra = "Connection: close\r\n" if ending == "close" else ""
        self.stop = threading.Event()
        self.requests = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(65536)
                if not data:
                    return
                request += data
            self.requests += 1
            head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            wanted = re.search(r"(?im)^range:\s*bytes=(\d+)-(\d*)", head)
            if wanted:
                start = int(wanted.group(1))
                end = int(wanted.group(2)) + 1 if wanted.group(2) else self.size
                body = bytes(end - start)
                status = (self.version + b" 206 Partial Content\r\n",
                          f"Content-Range: bytes {start}-{end - 1}/{self.size}\r\n"
                          f"Content-Length: {len(body)}\r\n{self.extra}\r\n".encode())
            else:
                body = json.dumps({"error": None, "response": {"results": [
                    {"id": i, "name": f"item {i}", "type": "file", "size": 1}
                    for i in range(50)]}}).encode()
                status = (self.version + b" 200 OK\r\n",
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}"
                          f"\r\n{self.extra}\r\n".encode())
            steady = {"status": b"", "headers": status[0],
                      "body": status[0] + status[1] + body[:self.quick]}
            try:
                conn.sendall(steady[self.mode])
                for byte in (status[0] + status[1] + body)[len(steady[self.mode]):]:
                    if self.stop.wait(self.interval):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.fixture
def trickle() -> Iterator[Callable[..., TrickleServer]]:
    servers: list[TrickleServer] = []

    def start(mode: str, **kwargs: Any) -> TrickleServer:
        servers.append(TrickleServer(mode, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def outcome_within(limit: float, call: Callable[[], object]) -> tuple[object, float]:
    """Run ``call`` in a thread; (its result or exception, seconds taken). Fails the test if it
    has not finished after ``limit`` seconds (old code kept such calls for minutes)."""
    box: list[object] = []
    started = time.monotonic()

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still running after {limit:g} s"
    return box[0], time.monotonic() - started


# -- the watchdog -----------------------------------------------------------------------


class FakeConn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


def test_the_watchdog_cuts_a_blocked_read_of_an_armed_watch_only():
    cut_a, cut_b = socket.socketpair()
    kept_a, kept_b = socket.socketpair()
    cut, kept, returned = Watch(), Watch(), Watch()
    cut.attach(FakeConn(cut_a))
    kept.attach(FakeConn(kept_a))
    back_a, back_b = socket.socketpair()
    back = FakeConn(back_a)
    returned.attach(back)
    returned.detach(back)                     # given back to the pool before its deadline
    soon = time.monotonic() + 0.3
    for watch in (cut, kept, returned):
        watch.arm(soon)
    kept.disarm()                             # its request ended in time
    result, took = outcome_within(SLACK, lambda: cut_a.recv(1))
    assert result == b"" and cut.fired        # the blocked recv saw the connection end
    time.sleep(0.3)
    kept_b.send(b"x")
    assert kept_a.recv(1) == b"x" and not kept.fired
    back.sock.settimeout(0.2)
    with pytest.raises(TimeoutError):         # still open: nobody shut it down
        back.sock.recv(1)
    for sock in (cut_a, cut_b, kept_a, kept_b, back_a, back_b):
        sock.close()


def test_arming_again_with_a_later_time_postpones_the_cut():
    a, b = socket.socketpair()
    watch = Watch()
    watch.attach(FakeConn(a))
    watch.arm(time.monotonic() + 0.2)
    watch.arm(time.monotonic() + 30)          # the next read of the same stream
    time.sleep(0.5)
    b.send(b"y")
    assert a.recv(1) == b"y" and not watch.fired
    watch.disarm()
    a.close()
    b.close()


# -- the API client ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["status", "headers", "body"])
def test_api_call_against_a_trickling_server_ends_by_the_calls_time_limit(trickle, mode):
    server = trickle(mode)
    client = V1Client(V1Wire(Settings(server.base + "/v1", "k" * 8, "s" * 8),
                             timeout=(2.0, 2.0), max_retry_time=2.0, backoff=0.05))
    result, took = outcome_within(2.0 + SLACK, lambda: client.list_files("0"))
    client.wire.close()
    assert isinstance(result, TransportError), result
    assert took < 2.0 + SLACK


def test_api_call_honours_the_threads_deadline_against_a_trickling_listing(trickle):
    server = trickle("body")
    client = V1Client(V1Wire(Settings(server.base + "/v1", "k" * 8, "s" * 8),
                             timeout=(5.0, 5.0), max_retry_time=60.0))

    def listing() -> object:
        with deadline.within(1.5):
            return list(client.iter_folder("0"))

    result, took = outcome_within(1.5 + SLACK, listing)
    client.wire.close()
    assert isinstance(result, TransportError), result
    assert took < 1.5 + SLACK


@pytest.mark.parametrize("ending", ["close", "http/1.0"])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_an_api_call_whose_answer_closes_the_connection_ends_by_its_time_limit(
        trickle, version, ending):
    """http.client drops the connection's socket once headers say the connection closes
    after this answer; the watchdog must still cut the body that trickles after them."""
    server = trickle("body", ending=ending)
    if version == "v1":
        client: Any = V1Client(V1Wire(Settings(server.base + "/v1", "k" * 8, "s" * 8),
                                      timeout=(2.0, 2.0), max_retry_time=2.0, backoff=0.05))
        call: Callable[[], object] = functools.partial(client.list_files, "0")
    else:
        client = V2Client(V2Wire("T", base_url=server.base + "/v2", timeout=(2.0, 2.0),
                                 retry=RetryPolicy(attempts=1, max_time=2.0)))
        call = client.account_info
    result, took = outcome_within(2.0 + SLACK, call)
    client.wire.close()
    assert isinstance(result, TransportError), result


# -- the stream reader ------------------------------------------------------------------


def _trickle_reader(session: requests.Session, server: TrickleServer, *, read_timeout: float,
                    deadline: float) -> StreamReader:
    fetcher = RangeFetcher(session, lambda refresh: server.base + "/file", server.size,
                           read_timeout=read_timeout, label="trickle")
    return StreamReader(fetcher, server.size, deadline=deadline, label="trickle")


@pytest.mark.parametrize("mode", ["status", "headers", "body"])
def test_stream_read_against_a_trickling_server_ends_within_its_deadline(trickle, mode):
    server = trickle(mode)
    with new_session() as session:
        reader = _trickle_reader(session, server, read_timeout=1.0, deadline=2.0)
        result, took = outcome_within(2.0 + SLACK, lambda: reader.read(MIB, 64 * KIB))
        reader.close()
    assert isinstance(result, TransportError), result
    assert took < 2.0 + SLACK


@pytest.mark.parametrize("ending", ["close", "http/1.0"])
def test_a_kept_open_stream_whose_answer_closes_the_connection_ends_by_the_next_deadline(
        trickle, ending):
    """The first read gets its bytes at once; the next one, from the same open stream under a
    1 s deadline, meets a byte every 10 s. http.client has handed the socket to the response,
    so that read must still be clipped to the deadline and cut by the watchdog (old code
    waited out the 30 s socket timeout set when the GET was sent)."""
    server = trickle("body", ending=ending, quick=4 * KIB, interval=10.0)
    with new_session() as session:
        reader = _trickle_reader(session, server, read_timeout=30.0, deadline=60.0)
        assert reader.read(MIB, 4 * KIB) == bytes(4 * KIB)

        def read() -> object:
            with deadline.within(1.0):
                return reader.read(MIB + 4 * KIB, 4 * KIB)

        result, took = outcome_within(1.0 + SLACK, read)
        reader.close()
    assert isinstance(result, TransportError), result


def test_a_trickling_stream_is_given_up_by_the_callers_shorter_deadline(trickle):
    server = trickle("headers")
    with new_session() as session:
        reader = _trickle_reader(session, server, read_timeout=10.0, deadline=60.0)

        def read() -> object:
            with deadline.within(1.0):
                return reader.read(0, 4096)

        result, took = outcome_within(1.0 + SLACK, read)
        reader.close()
    assert isinstance(result, TransportError), result


# -- real mounts ------------------------------------------------------------------------


class TrickleProxy(TestServer):
    """Passes requests on to an emulator; the answer to a listing of ``slow_id`` is sent one
    byte every TRICKLE seconds, status line included. Closing it ends the trickles."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_ProxyHandler)
        self.upstream = upstream
        self.slow_id = ""
        self.stop = threading.Event()
        self.session = requests.Session()

    @property
    def base_url(self) -> str:
        return f"{self.base}/v1"

    def server_close(self) -> None:
        self.stop.set()
        super().server_close()
        self.session.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TrickleProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "range", "accept-encoding")}
        answer = self.server.session.request(self.command, self.server.upstream + self.path,
                                             data=body, headers=headers, timeout=30,
                                             allow_redirects=False)
        raw = (f"HTTP/1.1 {answer.status_code} {answer.reason}\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items()
                         if k.lower() not in ("transfer-encoding", "connection",
                                              "content-length"))
               + f"Content-Length: {len(answer.content)}\r\n\r\n").encode() + answer.content
        request = parse_qs(body.decode()).get("request", ["{}"])[0]
        method = parse_qs(urlsplit(self.path).query).get("method", [""])[0]
        slow = (method == "list" and self.server.slow_id
                and json.loads(request).get("params", {}).get("parent_id") == self.server.slow_id)
        if not slow:
            self.wfile.write(raw)
            return
        self.close_connection = True
        with contextlib.suppress(OSError):
            for byte in raw:
                if self.server.stop.wait(TRICKLE):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    do_GET = do_POST = _relay


@requires_fuse
@api_only("v1", "the trickling proxy recognises a listing by v1's files?method=list request")
def test_ls_of_a_trickling_folder_fails_with_eio_in_time_and_the_mount_answers_after(
        emulator_factory, mount_factory):
    server = emulator_factory()
    slow = server.account.add_folder("0", "slow")
    fast = server.account.add_folder("0", "fast")
    server.account.add_file(fast, "here.txt", data=b"here")
    with serve(TrickleProxy(server.base_url.removesuffix("/v1"))) as proxy:
        timeout = 3.0
        mount = mount_factory(proxy, "--timeout", str(timeout))
        assert sorted(os.listdir(mount.path)) == ["fast", "slow"]
        proxy.slow_id = slow

        def ls_slow() -> object:
            try:
                return os.listdir(mount.path / "slow")
            except OSError as exc:
                return exc.errno

        code, took = outcome_within(timeout + 30, ls_slow)
        assert code == errno.EIO and took < timeout + SLACK, (code, took)
        assert os.listdir(mount.path / "fast") == ["here.txt"]
        assert (mount.path / "fast" / "here.txt").read_bytes() == b"here"
        proxy.slow_id = ""
        assert os.listdir(mount.path / "slow") == []
        assert mount.process.poll() is None


@requires_fuse
def test_a_read_that_meets_an_expired_stream_token_twice_succeeds(server_factory, api_version,
                                                                   mount_factory):
    """Links (v1: the stream token, v2: the file's storage URL) live 1 s and every request
    takes 0.6 s: the read below needs two GETs (the file's last block and the stream before
    it) and the link expires before each."""
    server = server_factory(faults=RandomFaults(latency=0.6, seed=1),
                            **link_expiry(api_version, 1.0))
    data = random.Random(16).randbytes(MIB + 64 * KIB)
    server.account.add_file("0", "expiring.bin", data=data)
    mount = mount_factory(server, "--timeout", "30")
    path = mount.path / "expiring.bin"
    assert path.stat().st_size == len(data)
    time.sleep(1.2)  # v1: the token fetched at mount time has expired
    with open(path, "rb", buffering=0) as f:
        offset = 768 * KIB   # spans the stream and the last 256 KiB, kept as an edge block
        assert os.pread(f.fileno(), 128 * KIB, offset) == data[offset:offset + 128 * KIB]
        time.sleep(1.2)
        assert os.pread(f.fileno(), 4096, 0) == data[:4096]
