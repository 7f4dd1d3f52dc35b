"""A tiny put.io v2 stand-in for the v2 client tests: an HTTP server on 127.0.0.1, port 0, in a
daemon thread, that answers each route with canned replies (or a function) and records every
request. Not the v2 emulator: each test says exactly what the server answers.

Also a pytest plugin: a test module with ``pytest_plugins = ("tests.support.v2_stub",)`` gets the
``stub`` (a running :class:`V2Stub`), ``fake_time`` and ``make_client`` fixtures."""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from putiofs.net.retry import Backoff, RetryPolicy
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire
from tests.support.fake_time import FakeTime
from tests.support.serving import serve

pytest_plugins = ("tests.support.fake_time",)

TOKEN = "tok-SECRET-0123456789abcdef"
WALL = 1_773_496_000.0  # "now" in Unix seconds, for x-ratelimit-reset


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a dict is sent as JSON; bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


def ok(**payload: Any) -> Reply:
    return Reply(body={**payload, "status": "OK"})


def error(status: int, error_type: str, message: str = "refused", **headers: str) -> Reply:
    return Reply(status=status, headers=headers, body={
        "error_id": None, "error_message": message, "error_type": error_type,
        "error_uri": "http://api.put.io/v2/docs", "extra": {}, "status": "ERROR",
        "status_code": status})


def file_json(file_id: int, name: str, *, parent_id: int = 0, size: int = 0,
              folder: bool = False, **extra: Any) -> dict[str, Any]:
    return {"id": file_id, "name": name, "parent_id": parent_id, "size": size,
            "content_type": "application/x-directory" if folder else "application/octet-stream",
            "file_type": "FOLDER" if folder else "FILE", "extension": None,
            "crc32": None if folder else "0000abcd", "created_at": "2024-05-01T10:00:00",
            "updated_at": "2024-05-02T11:30:15", "folder_type": "REGULAR", "icon": None,
            "screenshot": None, "is_hidden": False, "is_shared": False,
            "is_mp4_available": False, "opensubtitles_hash": None, **extra}


Route = Callable[[Seen], Reply]


class V2Stub:
    """``on(method, path, *replies)``: the replies in turn, the last one repeated; or
    ``on(method, path, function)``. An unknown route answers 418 (the test is wrong)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], deque[Reply] | Route] = {}
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                seen = Seen(self.command, parts.path, query, dict(self.headers), body)
                stub.seen.append(seen)
                reply = stub._reply(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(
                    reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

        # serve(): quiet about clients that gave up (timeouts are expected here).
        self._stack = contextlib.ExitStack()
        self.server = self._stack.enter_context(serve(Handler, poll_interval=0.02))
        self.origin = self.server.base
        self.base_url = self.origin + "/v2"

    def on(self, method: str, path: str, *replies: Reply | Route) -> None:
        if len(replies) == 1 and callable(replies[0]):
            self.routes[(method, "/v2" + path)] = replies[0]
        else:
            self.routes[(method, "/v2" + path)] = deque(replies)  # type: ignore[arg-type]

    def _reply(self, seen: Seen) -> Reply:
        route = self.routes.get((seen.method, seen.path))
        if route is None:
            return Reply(status=418, body={"status": "ERROR", "error_type": "NO_ROUTE",
                                           "error_message": f"{seen.method} {seen.path}"})
        if callable(route):
            return route(seen)
        return route.popleft() if len(route) > 1 else route[0]

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == "/v2" + path]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def stub() -> Iterator[V2Stub]:
    server = V2Stub()
    yield server
    server.close()


@pytest.fixture
def make_client(stub: V2Stub, fake_time: FakeTime) -> Iterator[Callable[..., V2Client]]:
    """``make_client(token=TOKEN, attempts=5, max_retry_after=65.0, **V2Wire options)``: a
    client of ``stub`` whose retry policy has the production shape (backoff from 0.5 s up to
    20 s, 120 s in all) with ``fake_time``'s clock and sleep and the jitter pinned to the full
    backoff; its wall clock says :data:`WALL`. Every client made is closed at the end."""
    clients: list[V2Client] = []

    def make(token: str | None = TOKEN, attempts: int = 5, max_retry_after: float = 65.0,
             **options: Any) -> V2Client:
        policy = RetryPolicy(attempts=attempts, backoff=Backoff(0.5, 20.0, lambda: 1.0),
                             max_time=120.0, max_retry_after=max_retry_after,
                             sleep=fake_time.sleep, clock=fake_time.clock)
        client = V2Client(V2Wire(token, **{"base_url": stub.base_url, "retry": policy,
                                           "timeout": (2.0, 2.0), "wall_clock": lambda: WALL,
                                           **options}))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.wire.close()
