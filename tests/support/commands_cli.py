"""Running ``putiofs <command>`` in-process against an emulator, output captured.

A pytest plugin (``tests/conftest.py`` loads it): the ``cli`` fixture is a :class:`Cli` of the
test's ``server`` (:mod:`tests.support.servers`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from putiofs.cli import main
from putiofs.emulator import EmulatorServer
from tests.conftest import API_KEY, API_SECRET


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def account_env(server: EmulatorServer) -> dict[str, str]:
    """The environment that points putiofs at ``server``'s account, whichever API it speaks
    (``PUTIO_API`` set, so a developer's own config file cannot change the version)."""
    if server.options.api == "v2":
        return {"PUTIO_API": "v2", "PUTIO_API_URL": server.base_url,
                "PUTIO_TOKEN": server.options.token, "PUTIO_UPLOAD_URL": server.root_url}
    return {"PUTIO_API": "v1", "PUTIO_API_URL": server.base_url, "PUTIO_API_KEY": API_KEY,
            "PUTIO_API_SECRET": API_SECRET}


#: Every variable :func:`account_env` may set: the others are removed.
ACCOUNT_VARIABLES = ("PUTIO_API", "PUTIO_API_URL", "PUTIO_TOKEN", "PUTIO_UPLOAD_URL",
                     "PUTIO_API_KEY", "PUTIO_API_SECRET", "PUTIO_SOCKET_URL")


class Cli:
    """``cli("transfers", "list")`` → :class:`Result`, against a v1 or v2 emulator."""

    def __init__(self, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.server = server
        self.capsys = capsys
        for name in ACCOUNT_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in account_env(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def cli(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("ls", "/")``: the commands against the test's ``server``."""
    return Cli(server, monkeypatch, capsys)
