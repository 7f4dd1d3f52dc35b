"""What a path means across edits, in real mounts of the v2 emulator: a new version keeps the
place of the file it replaced among same-named files (also after a remount), and whatever a
replacing rename sets aside on put.io is deleted or put back, after an API error half-way and
after the mount is killed half-way."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.http.faults import Fault
from tests.support.mounting import Mount, requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Queued
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

ASIDE = ".putiofs-replaced-"


@pytest.fixture
def writable(mount_factory, tmp_path):
    def start(server: Any) -> Path:
        return mount_factory(server, "--cache-dir", str(tmp_path / "cache"),
                             "--upload-wait", "5").path
    return start


def _documents(server: Any) -> tuple[int, list[dict]]:
    api = V2Api(server)
    folder = api.find(0, "Documents")["id"]
    return folder, [f for f in api.children(folder) if f["name"] == "notes.txt"]


def _landed(server: Any, data: bytes) -> bool:
    """put.io holds the edit, and the version it replaced is gone."""
    _, notes = _documents(server)
    return len(notes) == 2 and data in [server.account.file_bytes(str(f["id"])) for f in notes]


def _notes_names(mnt: Path) -> list[str]:
    return sorted(n for n in os.listdir(mnt / "Documents") if n.startswith("notes"))


@pytest.mark.parametrize("edit", ["append", "save aside and rename over"])
def test_an_edit_of_one_of_two_same_named_files_keeps_its_path(emulator_factory, writable,
                                                                 mount_factory, tmp_path,
                                                                 edit):
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=True)
    mnt = writable(server)
    _, (first, second) = _documents(server)
    other_name = f"notes [#{second['id']}].txt"
    assert _notes_names(mnt) == [other_name, "notes.txt"]
    plain = mnt / "Documents" / "notes.txt"
    edited = plain.read_bytes() + b"one more line\n"
    other = (mnt / "Documents" / other_name).read_bytes()
    if edit == "append":
        with open(plain, "ab") as handle:
            handle.write(b"one more line\n")
    else:
        (mnt / "Documents" / ".notes.txt.swp").write_bytes(edited)
        os.rename(mnt / "Documents" / ".notes.txt.swp", plain)
    wait_for(lambda: _landed(server, edited), 20, fail="the edit did not land on put.io")
    assert plain.read_bytes() == edited
    assert (mnt / "Documents" / other_name).read_bytes() == other
    assert _notes_names(mnt) == [other_name, "notes.txt"]
    again = mount_factory(server, "--cache-dir", str(tmp_path / "cache")).path
    assert (again / "Documents" / "notes.txt").read_bytes() == edited
    assert (again / "Documents" / other_name).read_bytes() == other


def _names(server: Any) -> list[str]:
    return sorted(f["name"] for f in V2Api(server).children(0))


def test_an_api_error_half_way_through_a_replacing_rename_puts_the_old_file_back(
        emulator_factory, writable):
    """v2 refuses a second item of one name, so the old target is set aside first: the move
    of the source fails, and so does the first put-back; the old file is back under its name
    all the same (put back again in the background), with nothing left under a temporary
    name."""
    faults = Queued()
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=False, faults=faults)
    server.account.add_file("0", "draft.txt", b"new")
    server.account.add_file("0", "report.txt", b"old")
    mnt = writable(server)
    assert sorted(os.listdir(mnt)) == ["draft.txt", "report.txt"]
    # The first try of the rename (refused: the name is taken), the set-aside, then the move
    # and the first put-back fail.
    faults.queue("files.rename", Fault(), Fault(), Fault(status=400), Fault(status=400))
    with pytest.raises(OSError):
        os.rename(mnt / "draft.txt", mnt / "report.txt")
    wait_for(lambda: _names(server) == ["draft.txt", "report.txt"], 20,
             fail=f"put.io still holds {_names(server)}")
    assert (mnt / "report.txt").read_bytes() == b"old"
    assert (mnt / "draft.txt").read_bytes() == b"new"
    assert sorted(os.listdir(mnt)) == ["draft.txt", "report.txt"]


def _kill(mount: Mount) -> None:
    mount.process.send_signal(signal.SIGKILL)
    mount.process.wait(10)
    subprocess.run(["fusermount", "-uz", str(mount.path)], check=False, capture_output=True)


@pytest.mark.parametrize("killed", ["before the source is in place",
                                    "before the old file is deleted"])
def test_a_mount_killed_half_way_through_a_replacing_rename_is_settled_by_the_next(
        emulator_factory, mount_factory, tmp_path, killed):
    faults = Queued()
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=False, faults=faults)
    server.account.add_file("0", "draft.txt", b"new")
    server.account.add_file("0", "report.txt", b"old")
    cache = tmp_path / "cache"
    (tmp_path / "killed").mkdir()
    first = Mount(server.base_url, tmp_path / "killed", tmp_path / "killed.log",
                  "--cache-dir", str(cache), "--upload-wait", "0", token=V2_TOKEN,
                  upload_url=server.root_url)
    assert sorted(os.listdir(first.path)) == ["draft.txt", "report.txt"]
    stall = Fault(delay=30, status=503)
    if killed == "before the source is in place":
        faults.queue("files.rename", Fault(), Fault(), stall)
        calls, at = "files.rename", 3
    else:
        faults.queue("files.delete", stall)
        calls, at = "files.delete", 1
    def rename() -> None:
        with contextlib.suppress(OSError):  # the mount dies under it
            os.rename(first.path / "draft.txt", first.path / "report.txt")

    threading.Thread(target=rename, daemon=True).start()
    wait_for(lambda: server.stats()["requests"].get(calls, 0) >= at, 20,
             fail="the rename did not get that far")
    _kill(first)
    assert any(name.startswith(ASIDE) for name in _names(server))  # what the kill left
    mnt = mount_factory(server, "--cache-dir", str(cache)).path
    if killed == "before the source is in place":
        expected = {"draft.txt": b"new", "report.txt": b"old"}
    else:
        expected = {"report.txt": b"new"}
    wait_for(lambda: _names(server) == sorted(expected), 20,
             fail=f"put.io still holds {_names(server)}")
    assert {name: (mnt / name).read_bytes() for name in os.listdir(mnt)} == expected


def test_touch_a_leaves_the_mtime_and_touch_sets_it_to_now(emulator_factory, writable):
    """utimensat's UTIME_OMIT and UTIME_NOW (by path: ``-c``), for a pending file and for one
    on put.io."""
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=False)
    server.account.add_file("0", "on put.io.txt", b"x")
    mnt = writable(server)
    (mnt / "pending.txt").write_bytes(b"y")
    for name in ("pending.txt", "on put.io.txt"):
        os.utime(mnt / name, (1_500_000_000, 1_500_000_000))
        subprocess.run(["touch", "-a", "-c", str(mnt / name)], check=True)
        assert int((mnt / name).stat().st_mtime) == 1_500_000_000
        subprocess.run(["touch", "-c", str(mnt / name)], check=True)
        assert (mnt / name).stat().st_mtime > 1_700_000_000
