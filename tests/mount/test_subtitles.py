"""put.io's subtitles as ``<stem>.<language>.srt`` sidecars beside the videos: they appear once
the folder is listed, read as the emulator's SubRip bytes (ffprobe sees a subtitle stream),
are read-only (EACCES), give way to a real file of their name, cost one ``/subtitles`` call
per video however often the folder is listed, and ``--no-subtitles`` hides them."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.errnos import errno_of
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for

TOKEN = "v2-subtitles-token-0123456789"
FOLDER = "Movies/Demo Clips"
VIDEO = "Test Pattern (10s)"
ENGLISH = f"{VIDEO}.eng.srt"
FRENCH = f"{VIDEO}.fre.srt"

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=TOKEN)]


def calls(server, name: str) -> int:
    return server.stats()["requests"].get(name, 0)


def emulator_srt(server, video_id: str, language_code: str) -> bytes:
    """The subtitle as the emulator serves it to any client (``format=srt``)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    listed = requests.get(f"{server.base_url}/files/{video_id}/subtitles", headers=headers,
                          timeout=10).json()["subtitles"]
    key = next(s["key"] for s in listed if s["language_code"] == language_code)
    answer = requests.get(f"{server.base_url}/files/{video_id}/subtitles/{key}",
                          params={"format": "srt"}, headers=headers, timeout=10)
    assert answer.status_code == 200
    return answer.content


def test_the_demo_video_shows_its_subtitles_as_read_only_sidecars(server, mount_factory) -> None:
    # --cache-ttl 0.1: every listing below fetches anew.
    mount = mount_factory(server, "--cache-ttl", "0.1", subtitles=True)
    folder = mount.path / FOLDER
    os.listdir(folder)
    names = wait_for(lambda: ENGLISH in (shown := sorted(os.listdir(folder))) and shown,
                     fail=f"no {ENGLISH} beside the demo video")
    assert names == ["Extras", ENGLISH, FRENCH, f"{VIDEO}.mp4"]
    # The mount's cost: one /subtitles call for the video, one text per language.
    assert (calls(server, "files.subtitles"), calls(server, "files.subtitle")) == (1, 2)
    video_id = item_id(folder / f"{VIDEO}.mp4")
    sidecar = folder / ENGLISH
    info = sidecar.stat()
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o444
    expected = emulator_srt(server, video_id, "eng")
    assert info.st_size == len(expected) and sidecar.read_bytes() == expected
    assert (folder / FRENCH).read_bytes() == emulator_srt(server, video_id, "fre")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", str(sidecar)],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert "codec_type=subtitle" in probe.stdout and "codec_name=subrip" in probe.stdout

    # Read-only: EACCES, as its mode says; nothing changed on put.io.
    def append() -> None:
        with open(sidecar, "ab") as out:
            out.write(b"x")

    assert errno_of(append) == errno.EACCES
    assert errno_of(os.unlink, sidecar) == errno.EACCES
    assert errno_of(os.rename, sidecar, folder / "mine.srt") == errno.EACCES
    assert errno_of(os.truncate, sidecar, 0) == errno.EACCES
    assert sidecar.read_bytes() == expected
    assert not [child for child in server.account.children(item_id(folder))
                if child["name"].endswith(".srt")]

    # Listed again and again (each listing a new fetch), read again: no subtitle call more.
    before = (calls(server, "files.subtitles"), calls(server, "files.subtitle"))
    listed = calls(server, "files.list")
    wait_for(lambda: (os.listdir(folder), calls(server, "files.list") >= listed + 3)[1],
             fail="the folder was not listed anew")
    assert sidecar.read_bytes() == expected
    assert (calls(server, "files.subtitles"), calls(server, "files.subtitle")) == before


def item_id(path: Path) -> str:
    return os.getxattr(path, "user.putio.id").decode()


def test_real_srt_files_win_and_are_not_shown_twice(server, mount_factory) -> None:
    clips = next(c["id"] for c in server.account.children(
        next(c["id"] for c in server.account.children("0") if c["name"] == "Movies"))
        if c["name"] == "Demo Clips")
    # put.io lists this one as the video's "folder" subtitle, language code "en": it is shown
    # as itself, never again as a sidecar.
    server.account.add_file(clips, f"{VIDEO}.EN.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    mount = mount_factory(server, subtitles=True)
    folder = mount.path / FOLDER
    os.listdir(folder)
    wait_for(lambda: ENGLISH in os.listdir(folder), fail=f"no {ENGLISH} beside the video")
    assert sorted(os.listdir(folder)) == ["Extras", f"{VIDEO}.EN.srt", ENGLISH, FRENCH,
                                          f"{VIDEO}.mp4"]
    assert calls(server, "files.subtitle") == 2  # the folder's own .srt is not fetched
    # A real file of a sidecar's name (made on put.io after the mount learnt the sidecar)
    # replaces it.
    server.account.add_file(clips, ENGLISH, b"my own subtitles\n")
    real = wait_for(lambda: (p := folder / ENGLISH).read_bytes() == b"my own subtitles\n" and p,
                    fail="the real file did not replace the sidecar")
    assert sorted(os.listdir(folder)) == ["Extras", f"{VIDEO}.EN.srt", ENGLISH, FRENCH,
                                          f"{VIDEO}.mp4"]
    assert stat.S_IMODE(real.stat().st_mode) != 0o444  # the real file's own mode
    assert errno_of(os.unlink, folder / FRENCH) == errno.EACCES


def test_no_subtitles_hides_them_and_asks_nothing(server, mount_factory) -> None:
    mount = mount_factory(server, "--no-subtitles", subtitles=True)  # as the user gives it
    folder = mount.path / FOLDER
    assert sorted(os.listdir(folder)) == ["Extras", f"{VIDEO}.mp4"]
    assert errno_of(os.stat, folder / ENGLISH) == errno.ENOENT
    assert calls(server, "files.subtitles") == 0
