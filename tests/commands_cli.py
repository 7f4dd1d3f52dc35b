"""Running ``putiofs <command>`` in-process against an emulator, output captured."""

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


class Cli:
    """``cli("transfers", "list")`` → :class:`Result`."""

    def __init__(self, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.server = server
        self.capsys = capsys
        monkeypatch.setenv("PUTIO_API_URL", server.base_url)
        monkeypatch.setenv("PUTIO_API_KEY", API_KEY)
        monkeypatch.setenv("PUTIO_API_SECRET", API_SECRET)
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)
