"""``putiofs login`` / ``logout`` against the v2 emulator: the device flow approved the way a
user would (``/_emulator/approve``), ``--token -``, the stored token used by the next
command, revocation, and the config file's privacy; the device flow's waiting, without
waiting. (The stored token used by the next mount: tests/mount/test_login.py.)"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from putiofs.api.errors import NotFoundError
from putiofs.api.signin import DeviceCode
from putiofs.cli import build_parser, main
from putiofs.commands import login as login_command
from putiofs.config import read_config_file
from tests.support.commands_cli import ACCOUNT_VARIABLES
from tests.support.fake_time import FakeTime
from tests.support.login_user import TOKEN, device_login, user_env

pytest_plugins = ("tests.support.login_user",)

pytestmark = pytest.mark.server(api="v2", token=TOKEN)

REFUSED = "putiofs: error: put.io refused the token"


@pytest.fixture
def as_user(server, home: Path, monkeypatch: pytest.MonkeyPatch):
    """The same user for in-process ``main()`` calls."""
    for name in (*ACCOUNT_VARIABLES, "XDG_CONFIG_HOME", "PUTIO_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PUTIO_API_URL", server.base_url)
    return home / ".config" / "putiofs" / "config"


def config_of(home: Path) -> Path:
    return home / ".config" / "putiofs" / "config"


def test_device_login_stores_a_working_token_privately(server, home: Path) -> None:
    out, code = device_login(server, home)
    assert code in out.splitlines(), "the code is shown on a line of its own"
    path = config_of(home)
    token = read_config_file(path)["token"]
    assert token and token != TOKEN  # a new token, earned by the approved code
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in out and "signed in as demo" in out
    assert token not in out
    stats = server.stats()["requests"]
    assert stats["oauth2.oob_code"] == 1 and stats["oauth2.validate"] == 1
    # the next command runs on v2 with the stored token (nothing else is configured)
    listed = subprocess.run([sys.executable, "-m", "putiofs", "ls", "/"],
                            env=user_env(server, home), capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "Movies/" in listed.stdout


def test_device_login_asks_for_the_app_id_given(server, home: Path, monkeypatch) -> None:
    seen: list[str] = []
    original = server.api.auth.new_code

    def new_code(app_id: str, client_name: str):
        seen.append(f"{app_id}/{client_name}")
        return original(app_id, client_name)

    monkeypatch.setattr(server.api.auth, "new_code", new_code)
    device_login(server, home, "--app-id", "4131")
    assert seen == ["4131/putiofs"]


def test_login_with_a_token_from_standard_input(server, as_user: Path, monkeypatch,
                                                capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"  {TOKEN}\n"))
    assert main(["login", "--token", "-"]) == 0
    out = capsys.readouterr().out
    assert read_config_file(as_user)["token"] == TOKEN
    assert TOKEN not in out and str(as_user) in out
    assert stat.S_IMODE(as_user.stat().st_mode) == 0o600
    assert main(["user", "info"]) == 0
    assert "user:" in capsys.readouterr().out


def test_a_wrong_token_is_refused_in_one_line_and_not_stored(server, as_user: Path,
                                                             monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("not-the-token\n"))
    assert main(["login", "--token", "-"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(REFUSED) and len(err.splitlines()) == 1
    assert "not-the-token" not in err
    assert not as_user.exists()


def test_a_token_is_never_taken_from_the_command_line(server, as_user: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["login", "--token", "SECRET-ON-ARGV"])
    err = capsys.readouterr().err
    assert "standard input" in err and "SECRET-ON-ARGV" not in err
    assert not as_user.exists()


def test_login_refuses_a_config_file_others_can_read(server, as_user: Path, monkeypatch,
                                                     capsys) -> None:
    as_user.parent.mkdir(parents=True)
    as_user.write_text("# mine\n")
    os.chmod(as_user, 0o644)
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN))
    assert main(["login", "--token", "-"]) == 1
    err = capsys.readouterr().err
    assert "chmod 600" in err and len(err.splitlines()) == 1
    assert as_user.read_text() == "# mine\n"


def test_logout_revokes_and_forgets(server, as_user: Path, home: Path, monkeypatch,
                                    capsys) -> None:
    out, _ = device_login(server, home)
    token = read_config_file(as_user)["token"]
    assert main(["logout"]) == 0
    out = capsys.readouterr().out
    assert "revoked" in out and str(as_user) in out
    assert "token" not in read_config_file(as_user)
    assert stat.S_IMODE(as_user.stat().st_mode) == 0o600
    answer = requests.get(f"{server.base_url}/account/info", timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401  # revoked at put.io, not only forgotten here
    assert main(["logout"]) == 0
    assert "no token is stored" in capsys.readouterr().out
    assert main(["ls", "/"]) == 1
    assert "putiofs login" in capsys.readouterr().err


def test_logout_forgets_even_when_put_io_cannot_revoke(server, as_user: Path, monkeypatch,
                                                       capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN))
    assert main(["login", "--token", "-"]) == 0
    server.stop()
    assert main(["logout"]) == 0
    captured = capsys.readouterr()
    assert "could not revoke" in captured.err and TOKEN not in captured.err
    assert "token" not in read_config_file(as_user)


def test_no_credentials_at_all_names_putiofs_login(server, as_user: Path, capsys) -> None:
    assert main(["ls", "/"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("putiofs: error: not signed in to put.io: run putiofs login")


# -- the waiting, without waiting ------------------------------------------------------------

class FakeSignIn:
    """Answers ``device_token`` from a script: a token, None (pending) or an exception."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.polls = 0

    def device_code(self, app_id: str, client_name: str) -> DeviceCode:
        return DeviceCode("ABC234")

    def device_token(self, code: str) -> str | None:
        self.polls += 1
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    def who(self, token: str) -> str | None:
        return "demo"

    def revoke(self, token: str) -> None:
        pass

    def close(self) -> None:
        pass


def run_device_flow(fake: FakeSignIn, clock: FakeTime, *argv: str) -> None:
    args = build_parser().parse_args(["login", *argv])
    login_command.run_login(args, sleep=clock.sleep, clock=clock.clock)


def test_polls_every_interval_until_approved(as_user: Path, monkeypatch, capsys) -> None:
    fake, clock = FakeSignIn(None, None, "APPROVED-TOKEN"), FakeTime()
    monkeypatch.setattr(login_command, "open_sign_in", lambda *a, **k: fake)
    run_device_flow(fake, clock, "--interval", "3")
    assert fake.polls == 3 and clock.sleeps == [3.0, 3.0]
    assert read_config_file(as_user)["token"] == "APPROVED-TOKEN"
    out = capsys.readouterr().out
    assert "https://app.put.io/link?code=ABC234" in out and "ABC234" in out.splitlines()


def test_gives_up_after_the_timeout(as_user: Path, monkeypatch) -> None:
    fake, clock = FakeSignIn(), FakeTime()
    monkeypatch.setattr(login_command, "open_sign_in", lambda *a, **k: fake)
    with pytest.raises(login_command.CommandError, match="not approved within 5 s"):
        run_device_flow(fake, clock, "--timeout", "5")
    assert sum(clock.sleeps) == 5.0 and fake.polls == 4  # at 0, 2, 4 and 5 s
    assert not as_user.exists()


def test_an_expired_code_says_so(as_user: Path, monkeypatch) -> None:
    fake, clock = FakeSignIn(None, NotFoundError("gone", status=404)), FakeTime()
    monkeypatch.setattr(login_command, "open_sign_in", lambda *a, **k: fake)
    with pytest.raises(login_command.CommandError, match="code expired"):
        run_device_flow(fake, clock)
    assert not as_user.exists()
