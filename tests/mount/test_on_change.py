"""``--on-change`` on real v2 mounts: a command that appends what it is told to a file, for
changes made through put.io's API (heard as realtime events, or by relisting without them)
and through the mount (told once put.io has them, once each)."""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path

import pytest
import requests

from tests.support import polling
from tests.support.mounting import requires_fuse
from tests.support.versions import V2Api

TOKEN = "on-change-token-0123456789"
wait_for = functools.partial(polling.wait_for, seconds=20.0)

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=TOKEN)]


def hook(record: Path) -> str:
    """A command that appends ``event|path|old path|token`` for each run to ``record``."""
    return (f'printf "%s|%s|%s|%s\\n" "$PUTIOFS_EVENT" "$PUTIOFS_PATH" '
            f'"${{PUTIOFS_OLD_PATH-}}" "${{PUTIO_TOKEN-no token}}" >> {shlex.quote(str(record))}')


def told(record: Path) -> list[tuple[str, ...]]:
    if not record.exists():
        return []
    return [tuple(line.split("|")) for line in record.read_text().splitlines()]


def wait_connected(server) -> None:
    def clients() -> int:
        return requests.get(f"{server.root_url}/_emulator/socket", timeout=10).json()["clients"]
    assert wait_for(lambda: clients() >= 1), "the mount never connected to the realtime socket"


def test_changes_made_through_the_api_run_the_command_with_their_paths(server, mount_factory,
                                                                       tmp_path):
    record = tmp_path / "told"
    mount = mount_factory(server, "--cache-ttl", "600", "--on-change", hook(record))
    os.listdir(mount.path)
    wait_connected(server)
    api = V2Api(server)
    folder = api.create_folder("0", "Fresh")
    root = str(mount.path)
    assert wait_for(lambda: told(record)) == [("created", f"{root}/Fresh", "", "no token")]
    api.post("/files/rename", file_id=folder, name="Renamed")
    assert wait_for(lambda: len(told(record)) == 2)
    assert told(record)[1] == ("moved", f"{root}/Renamed", f"{root}/Fresh", "no token")
    api.post("/files/delete", file_ids=folder)
    assert wait_for(lambda: len(told(record)) == 3)
    assert told(record)[2] == ("deleted", f"{root}/Renamed", "", "no token")


def test_without_events_a_relisting_tells_what_changed_and_nothing_else(server, mount_factory,
                                                                        tmp_path):
    record = tmp_path / "told"
    mount = mount_factory(server, "--no-events", "--cache-ttl", "1", "--on-change",
                          hook(record))
    before = os.listdir(mount.path)
    assert before  # the demo library: its first listing is no change
    V2Api(server).create_folder("0", "Made elsewhere")
    assert wait_for(lambda: "Made elsewhere" in os.listdir(mount.path))
    assert wait_for(lambda: told(record)) == [
        ("created", f"{mount.path}/Made elsewhere", "", "no token")]


def test_what_is_written_through_the_mount_is_told_once_when_put_io_has_it(server,
                                                                            mount_factory,
                                                                            tmp_path):
    record = tmp_path / "told"
    mount = mount_factory(server, "--cache-ttl", "600", "--on-change", hook(record))
    os.listdir(mount.path)
    wait_connected(server)
    api = V2Api(server)
    root = str(mount.path)
    (mount.path / "Inbox").mkdir()
    (mount.path / "Inbox" / "clip.mp4").write_bytes(b"x" * 5000)
    assert wait_for(lambda: api.find(int(api.find(0, "Inbox")["id"]), "clip.mp4"))
    assert wait_for(lambda: len(told(record)) >= 2)
    (mount.path / "Inbox" / "clip.mp4").write_bytes(b"y" * 7000)  # a new version replaces it
    assert wait_for(lambda: len(told(record)) >= 3)
    (mount.path / "Inbox" / "clip.mp4").rename(mount.path / "Inbox" / "film.mp4")
    (mount.path / "Inbox" / "film.mp4").unlink()
    # runs keep their order: once the marker is told, a repeat of the changes before it (the
    # events put.io sends for what the mount did) would have been told before it
    api.create_folder("0", "Marker")
    assert wait_for(lambda: told(record) and told(record)[-1][1] == f"{root}/Marker")
    assert told(record)[:-1] == [
        ("created", f"{root}/Inbox", "", "no token"),
        ("created", f"{root}/Inbox/clip.mp4", "", "no token"),
        ("changed", f"{root}/Inbox/clip.mp4", "", "no token"),
        ("moved", f"{root}/Inbox/film.mp4", f"{root}/Inbox/clip.mp4", "no token"),
        ("deleted", f"{root}/Inbox/film.mp4", "", "no token"),
    ]
    assert "on-change" not in mount.log()  # no run failed
