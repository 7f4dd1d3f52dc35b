"""The commands on put.io's v2 API: files (``ls``, ``info`` with the CRC-32 and put.io's
times, ``search``), the account and transfers, and the v1-only commands saying so. (What
only v2 gives on a real mount: tests/mount/test_v2_mount.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from putiofs.emulator.account.seed import FRIEND_NAME
from tests.support.commands_cli import Cli
from tests.support.stamps import epoch
from tests.support.versions import V2Api

pytestmark = pytest.mark.server(api="v2")


@pytest.fixture
def api(server) -> V2Api:
    return V2Api(server)


def test_file_commands_on_v2(cli: Cli, api: V2Api) -> None:
    readme = api.find(0, "README.txt")
    listed = cli("ls", "/Music")
    assert listed.code == 0, listed.err
    assert "AC\u2215DC - Live.txt" in listed.out and "Tones/" in listed.out
    info = cli("info", "/README.txt")
    assert info.code == 0, info.err
    assert f"crc32:        {readme['crc32']}" in info.out
    modified = datetime.fromtimestamp(epoch(readme["updated_at"]), UTC)
    assert f"modified:     {modified:%Y-%m-%d %H:%M:%S} UTC" in info.out
    assert cli("info", "--json", str(readme["id"])).json()["crc32"] == readme["crc32"]
    found = cli("search", "tone")
    assert found.code == 0, found.err
    assert "tone-330hz.mp3" in found.out


def test_account_and_transfer_commands_on_v2(cli: Cli, api: V2Api) -> None:
    user = cli("user", "info")
    assert user.code == 0, user.err
    assert "user:" in user.out and "demo" in user.out
    assert "trash:" in user.out and "on (deleted items go to the trash)" in user.out
    account = cli("user", "info", "--json").json()
    info = api.get("/account/info")["info"]
    assert (account["disk_quota"], account["trash_enabled"]) == (info["disk"]["size"], True)
    friends = cli("user", "friends")
    assert friends.code == 0, friends.err
    assert FRIEND_NAME in friends.out
    added = cli("transfers", "add", "http://example.com/pub/disk.iso")
    assert added.code == 0, added.err
    listed = cli("transfers", "list", "--json").json()
    assert [t["name"] for t in listed] == ["disk.iso"]
    assert listed[0]["status"] in ("In queue", "Downloading", "Completed")
    missing = cli("transfers", "cancel", "999999")
    assert missing.code == 1 and "transfer 999999" in missing.err
    assert cli("transfers", "cancel", listed[0]["id"]).code == 0
    assert cli("events", "list").code == 0


@pytest.mark.parametrize("argv,service", [
    (("messages", "list"), "messages"),
    (("subscriptions", "list"), "subscriptions"),
    (("urls", "analyze", "http://example.com/a.iso"), "urls analyze"),
])
def test_v1_only_commands_say_so_on_v2(cli: Cli, argv, service) -> None:
    result = cli(*argv)
    assert result.code == 1 and result.out == ""
    assert result.err == f"putiofs: error: {service} is not available on the put.io API v2\n"
