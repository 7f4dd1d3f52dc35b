"""A user of putiofs with a home of their own and no put.io credentials anywhere else, who
signs in with the device flow the way a user would: ``putiofs login`` in a process, its code
approved on the v2 emulator (``/_emulator/approve``) once it is printed.

A pytest plugin: a test module with ``pytest_plugins = ("tests.support.login_user",)`` gets the
``home`` fixture (the user's empty home folder).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.commands_cli import ACCOUNT_VARIABLES

#: The token the v2 emulator of the login tests is started with (not the one a login earns).
TOKEN = "configured-token-0123456789"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def user_env(server, home: Path, **extra: str) -> dict[str, str]:
    """A user with no credentials anywhere but ``home``'s config, pointed at the emulator."""
    env = {k: v for k, v in os.environ.items()
           if k not in ACCOUNT_VARIABLES and k not in ("XDG_CONFIG_HOME", "PUTIO_APP_ID")}
    env.update(HOME=str(home), PUTIO_API_URL=server.base_url, **extra)
    return env


def device_login(server, home: Path, *extra: str) -> tuple[str, str]:
    """Run ``putiofs login``, approve its code as the user would once it is printed; the
    output and the code."""
    process = subprocess.Popen(
        [sys.executable, "-m", "putiofs", "login", "--interval", "0.1", "--timeout", "30",
         *extra],
        env=user_env(server, home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        code = None
        while code is None:
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"login ended before showing a code: {''.join(lines)}"
                            f"{process.stderr.read() if process.stderr else ''}")
            lines.append(line)
            found = re.search(r"https://app\.put\.io/link\?code=(\w+)", line)
            code = found.group(1) if found else None
        approved = requests.post(f"{server.root_url}/_emulator/approve", params={"code": code},
                                 timeout=10)
        assert approved.status_code == 200
        out = process.stdout.read()  # what the text wrapper holds too: not communicate()
        process.wait(60)
        err = process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    return "".join(lines) + out, code
