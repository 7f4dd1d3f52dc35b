"""The v2 emulator spoken to in raw HTTP, as put.io's own clients send it: the helpers the
``test_emulator_v2_*`` modules share. A pytest plugin: ``pytest_plugins =
("tests.support.emulator_v2_http",)`` gives a module the ``v2_factory`` and ``v2`` fixtures."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from putiofs.emulator import EmulatorOptions, EmulatorServer

TOKEN = "demo-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
ERROR_KEYS = {"error_id", "error_message", "error_type", "error_uri", "extra", "status",
              "status_code"}


class V2:
    """Raw HTTP against one v2 emulator, authenticated the way rclone does (Bearer)."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.http = requests.Session()
        self.auth = dict(AUTH)

    @property
    def account(self):
        return self.server.account

    def url(self, path: str) -> str:
        return f"{self.server.base_url}/{path.lstrip('/')}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.auth)
        return self.http.get(self.url(path), timeout=10, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.auth)
        return self.http.post(self.url(path), timeout=10, allow_redirects=False, **kwargs)

    def ok(self, resp: requests.Response) -> dict:
        return ok(resp)

    def listing(self, parent_id: int = 0, **params: Any) -> list[dict]:
        return ok(self.get("files/list", params={"parent_id": parent_id, "per_page": 1000,
                                                 **params}))["files"]

    def child(self, parent_id: int, name: str) -> dict:
        return ok(self.get(f"files/{parent_id}/child", params={"name": name}))["file"]


def ok(resp: requests.Response) -> dict:
    """The body of a success, after checking the envelope: HTTP 200 and ``status: OK``."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert body["status"] == "OK", body
    return body


def failed(resp: requests.Response, status: int, error_type: str | None = None) -> dict:
    """The error envelope, complete, with Content-Type exactly application/json."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == "ERROR" and body["status_code"] == status
    assert isinstance(body["error_message"], str) and body["error_message"]
    if error_type is not None:
        assert body["error_type"] == error_type, body
    return body


@pytest.fixture
def v2_factory() -> Iterator[Callable[..., V2]]:
    """Start v2 emulators (``EmulatorOptions`` overrides; the demo library by default); all
    are stopped at the end."""
    started: list[V2] = []

    def start(**overrides: Any) -> V2:
        options: dict[str, Any] = {"api": "v2", "port": 0, "demo": True}
        options.update(overrides)
        started.append(V2(EmulatorServer(EmulatorOptions(**options)).start()))
        return started[-1]

    yield start
    for v2 in started:
        v2.http.close()
        v2.server.stop()


@pytest.fixture
def v2(v2_factory: Callable[..., V2]) -> V2:
    """A v2 emulator serving the demo library."""
    return v2_factory()
