"""Deadlines against servers that trickle bytes.

A per-socket-read timeout is not a deadline: a server sending one byte every 0.3 s never trips
it. These tests talk to a small ad-hoc server that trickles the status line, the headers or the
body, and check that an API call and a stream read end within their deadline (with generous
slack: these are correctness bounds, not speed targets). A real ``ls`` against a trickling
folder, and stream tokens that expire mid-read: tests/mount/test_reliability_transport.py.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from putiofs.api.errors import TransportError
from putiofs.config import Settings
from putiofs.net import deadline
from putiofs.net.http import Watch, new_session
from putiofs.net.retry import RetryPolicy
from putiofs.read.fetcher import RangeFetcher
from putiofs.read.reader import StreamReader
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire
from tests.support.time_limits import SLACK, TRICKLE, outcome_within

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


def test_a_session_keeps_honouring_proxies_from_the_environment(monkeypatch):
    """What a session takes from the environment is worked out once per host (see
    DeadlineSession): the proxy of the environment, NO_PROXY and the caller's own settings still
    apply to every request, and a caller changing what it got back changes nothing."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "direct.example")
    session = new_session()
    for _ in range(2):
        settings = session.merge_environment_settings("http://api.example/v2/x", {}, None, None,
                                                      None)
        assert settings["proxies"].get("http") == "http://proxy.example:3128"
        settings["proxies"].clear()
    assert not session.merge_environment_settings("http://direct.example/a", {}, None, None,
                                                  None)["proxies"].get("http")
    own = session.merge_environment_settings("http://api.example/v2/x",
                                             {"http": "http://mine.example:1"}, None, False, None)
    assert own["proxies"]["http"] == "http://mine.example:1" and own["verify"] is False
