"""Shared fixtures: running put.io v1 emulators on free loopback ports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from putiofs.emulator import EmulatorOptions, EmulatorServer

pytest_plugins = ["tests.mounting"]

API_KEY = "demo"
API_SECRET = "demo"


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators with ``EmulatorOptions`` overrides; all are stopped at teardown."""
    started: list[EmulatorServer] = []

    def start(**overrides: Any) -> EmulatorServer:
        options = {"host": "127.0.0.1", "port": 0, "api_key": API_KEY, "api_secret": API_SECRET}
        options.update(overrides)
        server = EmulatorServer(EmulatorOptions(**options)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The demo library, doc dialect."""
    return emulator_factory(demo=True, dialect="doc")


@pytest.fixture
def legacy_emulator(emulator_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The demo library, legacy (live server) dialect."""
    return emulator_factory(demo=True, dialect="legacy")


def raw_call(
    server: EmulatorServer,
    service: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    via: str = "post",
    api_key: str = API_KEY,
    api_secret: str = API_SECRET,
    session: requests.Session | None = None,
) -> requests.Response:
    """One API call spoken the way the spec shows: ``request`` JSON by POST form or GET query."""
    request = json.dumps({"api_key": api_key, "api_secret": api_secret, "params": params or {}})
    url = f"{server.base_url}/{service}"
    http = session or requests
    if via == "get":
        return http.get(url, params={"method": method, "request": request}, timeout=10)
    return http.post(url, params={"method": method}, data={"request": request}, timeout=10)


@pytest.fixture
def api() -> Callable[..., requests.Response]:
    """:func:`raw_call`: ``api(server, "files", "list", {"parent_id": "0"}, via="get")``."""
    return raw_call
