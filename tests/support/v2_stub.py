"""A tiny put.io v2 stand-in for the v2 client tests: a loopback stub
(:mod:`tests.support.stub_server`) that answers each route with canned replies (or a function)
and records every request. Not the v2 emulator: each test says exactly what the server answers.

Also a pytest plugin: a test module with ``pytest_plugins = ("tests.support.v2_stub",)`` gets the
``stub`` (a running :class:`V2Stub`), ``fake_time`` and ``make_client`` fixtures."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from putiofs.net.retry import Backoff, RetryPolicy
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire
from tests.support.fake_time import FakeTime
from tests.support.stub_server import Reply, StubServer

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


class V2Stub(StubServer):
    """``on(method, path, *replies)``: the replies in turn, the last one repeated; or
    ``on(method, path, function)``. An unknown route answers 418 (the test is wrong)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], deque[Reply] | Route] = {}
        self.seen: list[Seen] = []
        super().__init__()
        self.base_url = self.origin + "/v2"

    def on(self, method: str, path: str, *replies: Reply | Route) -> None:
        if len(replies) == 1 and callable(replies[0]):
            self.routes[(method, "/v2" + path)] = replies[0]
        else:
            self.routes[(method, "/v2" + path)] = deque(replies)  # type: ignore[arg-type]

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        seen = Seen(method, parts.path, query, headers, body)
        self.seen.append(seen)
        route = self.routes.get((seen.method, seen.path))
        if route is None:
            return Reply(status=418, body={"status": "ERROR", "error_type": "NO_ROUTE",
                                           "error_message": f"{seen.method} {seen.path}"})
        if callable(route):
            return route(seen)
        return route.popleft() if len(route) > 1 else route[0]

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == "/v2" + path]


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
