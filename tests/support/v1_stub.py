"""A tiny put.io v1 stand-in for the v1 client tests: a loopback stub
(:mod:`tests.support.stub_server`) that answers with canned replies and records every request.
Not the v1 emulator: each test says exactly what the server answers.

What it answers, first match first: the next of the replies queued with :meth:`V1Stub.queue`
(whatever the request); else the results set for the call's ``service.method`` in
:attr:`V1Stub.answers` (a :class:`Pages` hands out one page per call), in the stub's
:attr:`V1Stub.envelope`; else an empty success (:data:`DOC_OK`).

Also a pytest plugin: a test module with ``pytest_plugins = ("tests.support.v1_stub",)`` gets the
``stub`` (a running :class:`V1Stub`), ``fake_time`` and ``make_client`` fixtures."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from putiofs.config import Settings
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.support.fake_time import FakeTime
from tests.support.stub_server import Reply, StubServer

pytest_plugins = ("tests.support.fake_time",)

API_KEY = "KEY-abc123"
API_SECRET = "SECRET-xyz789"
#: An empty success in the documented envelope.
DOC_OK = {"user_id": 1, "response": {"results": []}, "error": None, "error_message": None}
#: The live (legacy) server's envelope around its results.
LEGACY = {"error": False, "id": 1, "user_name": "demo"}


def ok(results: Any, **extra: Any) -> tuple[int, dict]:
    """A success in the documented envelope, as (status, body) for :meth:`V1Stub.queue`."""
    return 200, {**DOC_OK, "response": {"results": results}, **extra}


def legacy_ok(results: Any) -> tuple[int, dict]:
    """A success in the live server's envelope."""
    return 200, {**LEGACY, "response": {"results": results}, "error_message": None}


def fail(message: str | None, status: int = 200) -> tuple[int, dict]:
    """An error envelope (put.io v1 says most errors with status 200)."""
    return status, {"user_id": 1, "response": {"results": []}, "error": True,
                    "error_message": message}


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str

    @property
    def request(self) -> dict:
        """The ``request`` JSON of the form body: key, secret and ``params``."""
        return json.loads(parse_qs(self.body)["request"][0])

    @property
    def name(self) -> str:
        """``service.method``, as in ``files.list``."""
        return f"{self.path.rsplit('/', 1)[-1]}.{self.query.get('method', [''])[0]}"

    @property
    def params(self) -> dict:
        """The call's ``params`` ({} for a request without the ``request`` form field)."""
        if "request" not in parse_qs(self.body):
            return {}
        return self.request.get("params") or {}


class Pages:
    """Answers for successive calls of one method (one page each)."""

    def __init__(self, *pages: Any) -> None:
        self._pages = list(pages)

    def next(self) -> Any:
        return self._pages.pop(0)


class V1Stub(StubServer):
    """``queue(*replies)``: answered in turn; ``answers["files.list"] = results`` (or
    :class:`Pages`); ``seen`` and ``calls``: what it was asked."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.answers: dict[str, Any] = {}
        self.envelope: dict[str, Any] = {"error": None, "error_message": None}
        self.seen: list[Seen] = []
        super().__init__()
        self.base_url = f"{self.origin}/v1"

    def queue(self, *replies: Reply | tuple[int, Any]) -> None:
        """Replies for the next requests, in turn: a :class:`Reply`, or (status, body)."""
        for reply in replies:
            self.replies.append(reply if isinstance(reply, Reply)
                                else Reply(status=reply[0], body=reply[1]))

    @property
    def calls(self) -> list[tuple[str, dict]]:
        """(``service.method``, params) of every request."""
        return [(seen.name, seen.params) for seen in self.seen]

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        seen = Seen(method, parts.path, parse_qs(parts.query), headers, body.decode())
        self.seen.append(seen)
        if self.replies:
            return self.replies.popleft()
        if seen.name in self.answers:
            results = self.answers[seen.name]
            if isinstance(results, Pages):
                results = results.next()
            return Reply(body={**self.envelope, "response": {"results": results}})
        return Reply(body=DOC_OK)


@pytest.fixture
def stub() -> Iterator[V1Stub]:
    server = V1Stub()
    yield server
    server.close()


@pytest.fixture
def make_client(stub: V1Stub, fake_time: FakeTime) -> Iterator[Callable[..., V1Client]]:
    """``make_client(**V1Wire options)``: a client of ``stub`` with :data:`API_KEY` and
    :data:`API_SECRET`, ``fake_time``'s clock and sleep, the jitter pinned to the full backoff
    and 2 s timeouts. Every client made is closed at the end."""
    clients: list[V1Client] = []

    def make(**kwargs: Any) -> V1Client:
        options = {"sleep": fake_time.sleep, "clock": fake_time.clock, "rng": lambda: 1.0,
                   "timeout": (2.0, 2.0)}
        options.update(kwargs)
        client = V1Client(V1Wire(Settings(stub.base_url, API_KEY, API_SECRET), **options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.wire.close()
