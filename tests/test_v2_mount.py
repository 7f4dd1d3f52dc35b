"""The v2 emulator's demo account, mounted for real over the v2 API: real dates, CRC-32, bytes,
copies out, tree changes with the account's trash, df, the calls each step costs; and the
commands on v2."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from putiofs.emulator.seed import FRIEND_NAME, README
from putiofs.mount_process import MountProcess
from tests.commands_cli import Cli
from tests.mounting import requires_fuse

TOKEN = "v2-mount-token-0123456789"
TOUCHED = "2021-03-04T05:06:07"


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


class Api:
    """The v2 API of the emulator, spoken directly (what put.io itself says)."""

    def __init__(self, server) -> None:
        self.server = server
        self.base = server.base_url
        self.headers = {"Authorization": f"Bearer {server.options.token}"}

    def get(self, path: str, **params: Any) -> dict:
        answer = requests.get(self.base + path, params=params, headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, **form: Any) -> dict:
        answer = requests.post(self.base + path, data=form, headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def children(self, folder_id: int) -> list[dict]:
        return self.get("/files/list", parent_id=folder_id, per_page=1000)["files"]

    def walk(self, folder_id: int = 0, path: str = "") -> Iterator[tuple[str, dict]]:
        """(mount path, file object) of every item: put.io's '/' in a name shown as '∕'."""
        for item in self.children(folder_id):
            here = f"{path}/{item['name'].replace('/', chr(0x2215))}"
            yield here, item
            if item["content_type"] == "application/x-directory":
                yield from self.walk(item["id"], here)

    def find(self, folder_id: int, name: str) -> dict | None:
        return next((f for f in self.children(folder_id) if f["name"] == name), None)

    def calls(self) -> dict[str, int]:
        return self.server.stats()["requests"]


@pytest.fixture
def server(emulator_factory):
    return emulator_factory(api="v2", demo=True, token=TOKEN)


@pytest.fixture
def api(server) -> Api:
    return Api(server)


def unique_items(api: Api) -> list[tuple[str, dict]]:
    """Items whose name is not shared in their folder (the mount suffixes the others)."""
    items = list(api.walk())
    counts: dict[str, int] = {}
    for path, _ in items:
        counts[path] = counts.get(path, 0) + 1
    return [(path, item) for path, item in items if counts[path] == 1]


def unique_files(api: Api) -> list[tuple[str, dict]]:
    return [(path, item) for path, item in unique_items(api)
            if item["content_type"] != "application/x-directory"]


# -- what ls, stat and getfattr show ----------------------------------------------------------

@requires_fuse
def test_dates_are_put_io_s_and_crc32_is_an_attribute(server, api: Api, mount_factory) -> None:
    readme = api.find(0, "README.txt")
    api.post("/files/touch", file_ids=readme["id"], updated_at=TOUCHED)
    mount = mount_factory(server)
    for path, item in unique_items(api):
        st = os.stat(f"{mount.path}{path}")
        assert st.st_mtime == epoch(item["updated_at"]), path
        assert st.st_ctime == epoch(item["created_at"]), path
        if item["crc32"]:
            assert os.getxattr(f"{mount.path}{path}", "user.putio.crc32") == \
                item["crc32"].encode()
    assert os.stat(mount.path / "README.txt").st_mtime == epoch(TOUCHED)
    listing = subprocess.run(["ls", "-l", "--time-style=+%Y-%m-%dT%H:%M:%S", str(mount.path)],
                             capture_output=True, text=True, check=True).stdout
    assert any(line.endswith(f"{TOUCHED} README.txt") for line in listing.splitlines())
    if shutil.which("getfattr"):
        dumped = subprocess.run(["getfattr", "-d", str(mount.path / "README.txt")],
                                capture_output=True, text=True, check=True).stdout
        assert f'user.putio.crc32="{readme["crc32"]}"' in dumped


@requires_fuse
def test_every_file_reads_back_the_emulator_s_bytes(server, api: Api, mount_factory) -> None:
    mount = mount_factory(server)
    files = unique_files(api)
    assert len(files) >= 8
    for path, item in files:
        expected = server.account.file_bytes(str(item["id"]))
        with open(f"{mount.path}{path}", "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == \
                hashlib.sha256(expected).hexdigest(), path


@requires_fuse
def test_cp_r_and_rsync_a_copy_everything_out_with_its_dates(server, api: Api, mount_factory,
                                                            tmp_path: Path) -> None:
    mount = mount_factory(server)
    copy, mirror = tmp_path / "copy", tmp_path / "mirror"
    subprocess.run(["cp", "-r", str(mount.path), str(copy)], check=True, timeout=120)
    subprocess.run(["rsync", "-a", f"{mount.path}/", str(mirror)], check=True, timeout=120)
    for path, item in unique_files(api):
        expected = server.account.file_bytes(str(item["id"]))
        assert (copy / path.lstrip("/")).read_bytes() == expected, path
        assert (mirror / path.lstrip("/")).read_bytes() == expected, path
        assert (mirror / path.lstrip("/")).stat().st_mtime == epoch(item["updated_at"]), path
    again = subprocess.run(["rsync", "-ai", f"{mount.path}/", str(mirror)], check=True,
                           capture_output=True, text=True, timeout=120)
    assert again.stdout == "", "a second rsync -a finds nothing changed"


# -- changing the tree ----------------------------------------------------------------------

@requires_fuse
@pytest.mark.parametrize("trash", [True, False])
def test_mkdir_mv_rm_and_the_account_s_trash(emulator_factory, mount_factory, trash) -> None:
    server = emulator_factory(api="v2", demo=True, token=TOKEN, trash_enabled=trash)
    api = Api(server)
    mount = mount_factory(server)
    (mount.path / "Inbox").mkdir()
    inbox = api.find(0, "Inbox")
    assert inbox is not None and inbox["content_type"] == "application/x-directory"
    os.rename(mount.path / "README.txt", mount.path / "Inbox" / "read me.txt")
    moved = api.find(inbox["id"], "read me.txt")
    assert moved is not None and api.find(0, "README.txt") is None
    assert os.listdir(mount.path / "Inbox") == ["read me.txt"]
    os.unlink(mount.path / "Inbox" / "read me.txt")
    assert api.find(inbox["id"], "read me.txt") is None
    trashed = [f["id"] for f in api.get("/trash/list")["files"]]
    assert (moved["id"] in trashed) is trash
    os.rmdir(mount.path / "Inbox")
    assert api.find(0, "Inbox") is None and "Inbox" not in os.listdir(mount.path)


@requires_fuse
def test_names_put_io_refuses_and_the_slash_substitute(server, api: Api, mount_factory) -> None:
    mount = mount_factory(server)
    (mount.path / "AC\u2215DC live").mkdir()
    assert api.find(0, "AC\u2215DC live") is not None  # v2 refuses '/': kept as typed
    assert "AC\u2215DC live" in os.listdir(mount.path)
    with pytest.raises(OSError) as refused:
        (mount.path / "   ").mkdir()  # put.io: EMPTY_NAME
    assert refused.value.errno == errno.EINVAL
    with pytest.raises(OSError) as too_long:
        (mount.path / ("x" * 256)).mkdir()
    assert too_long.value.errno == errno.ENAMETOOLONG
    with pytest.raises(OSError) as exists:
        (mount.path / "Movies").mkdir()
    assert exists.value.errno == errno.EEXIST


@requires_fuse
def test_df_shows_the_account_s_disk(server, api: Api, mount_factory) -> None:
    mount = mount_factory(server)
    disk = api.get("/account/info")["info"]["disk"]
    vfs = os.statvfs(mount.path)
    assert vfs.f_blocks * vfs.f_frsize == disk["size"] // vfs.f_frsize * vfs.f_frsize
    assert vfs.f_bavail * vfs.f_frsize == disk["avail"] // vfs.f_frsize * vfs.f_frsize
    assert vfs.f_bavail < vfs.f_blocks


# -- what each step costs -----------------------------------------------------------------

@requires_fuse
def test_one_url_call_per_file_across_opens(server, api: Api, mount_factory) -> None:
    mount = mount_factory(server)
    video = mount.path / "Movies" / "Demo Clips" / "Test Pattern (10s).mp4"
    os.stat(video)
    server.reset_stats()
    first = video.read_bytes()
    with open(video, "rb") as handle:  # a second open, reading from the middle
        handle.seek(len(first) // 2)
        assert handle.read(4096) == first[len(first) // 2:len(first) // 2 + 4096]
    assert api.calls().get("files.url") == 1  # every open asks for the URL: one call


@requires_fuse
def test_a_deep_path_costs_one_listing_per_level_cold(server, api: Api,
                                                      mount_factory) -> None:
    parent = 0
    for name in ("a", "b", "c", "d", "e"):
        parent = api.post("/files/create-folder", name=name, parent_id=parent)["file"]["id"]
    mount = mount_factory(server)
    server.reset_stats()
    assert stat.S_ISDIR(os.stat(mount.path / "a" / "b" / "c" / "d" / "e").st_mode)
    assert api.calls() == {"files.list": 5}  # the root, a, b, c and d: no folder map in v2
    os.listdir(mount.path / "a" / "b" / "c" / "d" / "e")
    assert api.calls() == {"files.list": 6}


# -- putiofs demo --------------------------------------------------------------------------

@requires_fuse
@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_putiofs_demo_mounts_the_emulator(tmp_path: Path, api_version: str) -> None:
    mountpoint = tmp_path / "putio"
    argv = [sys.executable, "-m", "putiofs", "demo", str(mountpoint)]
    if api_version == "v1":
        argv += ["--api", "v1"]
    demo = MountProcess(argv, mountpoint, stderr=subprocess.STDOUT)
    try:
        readme = mountpoint / "README.txt"
        assert readme.read_bytes() == README.encode()
        dated = os.stat(readme).st_mtime > epoch("2020-01-01T00:00:00")
        assert dated is (api_version == "v2")  # v1 items carry no dates (2010-01-01)
        crc = "user.putio.crc32" in os.listxattr(readme)
        assert crc is (api_version == "v2")
    finally:
        demo.process.send_signal(signal.SIGINT)
        demo.process.wait(20)
        if os.path.ismount(mountpoint):
            demo.unmount()
    output = demo.process.stdout.read() if demo.process.stdout else ""
    assert f"put.io {api_version} emulator" in output
    assert "Traceback" not in output


# -- the commands on v2 ---------------------------------------------------------------------

@pytest.fixture
def cli(server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(server, monkeypatch, capsys)


def test_file_commands_on_v2(cli: Cli, api: Api) -> None:
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


def test_account_and_transfer_commands_on_v2(cli: Cli, api: Api) -> None:
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


@requires_fuse
def test_a_debug_session_logs_no_token_and_no_storage_url(server, api: Api, mount_factory,
                                                          monkeypatch) -> None:
    handed_out: list[str] = []
    url_for = server.api.storage.url_for

    def recording(node):
        handed_out.append(url_for(node))
        return handed_out[-1]

    monkeypatch.setattr(server.api.storage, "url_for", recording)
    mount = mount_factory(server, "--debug")
    for path, item in unique_files(api)[:4]:
        assert (mount.path / path.lstrip("/")).read_bytes() == \
            server.account.file_bytes(str(item["id"]))
    (mount.path / ".putio" / "user").read_text()
    log = mount.log()
    assert "GET /files/list" in log  # it did log the calls
    assert len(handed_out) >= 3
    assert TOKEN not in log
    for url in handed_out:
        signed = url.split("/_storage/", 1)[1].split("/", 1)[0]
        assert signed not in log, "a storage URL (it needs no other credential) was logged"
