"""``putiofs zip`` and ``putiofs mp4`` against the v2 emulator (and v1's refusal)."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
import requests

from putiofs.api.services import ZipArchive
from putiofs.commands.base import CommandError
from putiofs.commands.media import wait_for_zip
from putiofs.emulator import EmulatorServer
from putiofs.emulator.account.seed import README, SHOT_LIST
from tests.support.commands_cli import Cli
from tests.support.versions import V2_TOKEN

pytestmark = pytest.mark.server(api="v2", token=V2_TOKEN, transfer_seconds=0.6)

VIDEO = "/Movies/Demo Clips/Test Pattern (10s).mp4"
DEMO_VIDEO = (Path(__file__).parents[2] / "putiofs/emulator/demo_data/demo-video.mp4"
              ).read_bytes()


def downloaded_zip(url: str) -> dict[str, bytes]:
    answer = requests.get(url, timeout=10)   # no credentials: the URL carries its own
    answer.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_zip_prints_a_url_serving_the_items_bytes(cli: Cli) -> None:
    result = cli("zip", "/README.txt", "/Movies", "--interval", "0.1")
    assert result.code == 0, result.err
    url = result.out.strip()
    assert url.startswith("http") and "\n" not in url
    assert V2_TOKEN not in result.out + result.err
    assert "DONE" in result.err      # the progress line, on stderr
    assert downloaded_zip(url) == {
        "README.txt": README.encode(),
        "Movies/Demo Clips/Test Pattern (10s).mp4": DEMO_VIDEO,
        "Movies/Demo Clips/Extras/shot list.txt": SHOT_LIST.encode(),
    }


def test_zip_json_is_the_zip_object(cli: Cli) -> None:
    result = cli("zip", "--json", "/Movies/Demo Clips/Extras", "--interval", "0.1")
    assert result.code == 0, result.err
    found = result.json()
    assert found["status"] == "DONE" and found["id"]
    assert found["size"] == len(SHOT_LIST.encode())
    assert downloaded_zip(found["url"]) == {"Extras/shot list.txt": SHOT_LIST.encode()}
    assert V2_TOKEN not in result.out


def test_zip_no_wait_returns_the_id_at_once(cli: Cli, api, server: EmulatorServer) -> None:
    result = cli("zip", "--no-wait", "/README.txt")
    assert result.code == 0, result.err
    zip_id = result.out.strip()
    assert zip_id.isdigit()
    assert result.err == ""   # no progress: it did not wait
    listed = cli("zip", "--no-wait", "--json", "/README.txt").json()
    assert int(listed["zip_id"]) == int(zip_id) + 1


def test_zip_errors(cli: Cli) -> None:
    missing = cli("zip", "/README.txt", "/no/such/thing")
    assert missing.code == 1
    assert missing.err.strip() == "putiofs: error: /no/such/thing: no such file or folder"
    root = cli("zip", "/")
    assert root.code == 1 and "root folder cannot be zipped" in root.err
    assert cli("zip", "/README.txt", "--interval", "0").code == 1


class _Scripted:
    """get_zip answers from a list (the last one repeats)."""

    def __init__(self, *answers: ZipArchive) -> None:
        self.answers = list(answers)

    def get_zip(self, zip_id: str) -> ZipArchive:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_wait_draws_one_line_per_change_off_a_terminal() -> None:
    services = _Scripted(ZipArchive("7", "NEW"), ZipArchive("7", "NEW"),
                         ZipArchive("7", "PROCESSING"), ZipArchive("7", "PROCESSING"),
                         ZipArchive("7", "DONE", size=2048, url="https://x/z.zip"))
    out = io.StringIO()
    done = wait_for_zip(services, "7", out=out, tty=False, sleep=lambda s: None)
    assert done.url == "https://x/z.zip"
    assert out.getvalue().splitlines() == ["zip 7: NEW", "zip 7: PROCESSING",
                                           "zip 7: DONE  2.00K"]


def test_wait_redraws_in_place_on_a_terminal_and_gives_up_after_the_timeout() -> None:
    now = [0.0]
    out = io.StringIO()

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(CommandError, match="zip 7 is not ready after 5 s"):
        wait_for_zip(_Scripted(ZipArchive("7", "PROCESSING")), "7", interval=2, timeout=5,
                     out=out, tty=True, sleep=sleep, clock=lambda: now[0])
    text = out.getvalue()
    assert text.count("\r\x1b[2K") == 4 and text.count("\n") == 1


def test_wait_fails_on_a_failed_zip() -> None:
    with pytest.raises(CommandError, match="could not build it"):
        wait_for_zip(_Scripted(ZipArchive("7", "ERROR")), "7", out=io.StringIO(), tty=False,
                     sleep=lambda s: None)


def test_mp4_status_then_convert_until_completed(cli: Cli) -> None:
    before = cli("mp4", VIDEO)
    assert before.code == 0, before.err
    assert before.out == "Test Pattern (10s).mp4: NOT_AVAILABLE\n"
    assert cli("mp4", "--json", VIDEO).json()["status"] == "NOT_AVAILABLE"
    started = cli("mp4", VIDEO, "--convert", "--json").json()
    assert started["status"] in {"IN_QUEUE", "CONVERTING", "COMPLETED"}
    for _ in range(200):
        shown = cli("mp4", VIDEO).out
        if "COMPLETED" in shown:
            break
        assert shown.startswith("Test Pattern (10s).mp4: ")
        assert shown.split(": ", 1)[1].split()[0] in {"IN_QUEUE", "CONVERTING"}
        time.sleep(0.05)
    assert re.fullmatch(rf"Test Pattern \(10s\)\.mp4: COMPLETED \S+ \({len(DEMO_VIDEO)} bytes\)\n",
                        shown)
    done = cli("mp4", "--json", VIDEO).json()
    assert (done["status"], done["size"]) == ("COMPLETED", len(DEMO_VIDEO))


def test_mp4_errors(cli: Cli) -> None:
    folder = cli("mp4", "/Movies")
    assert folder.code == 1 and "a folder has no MP4 version" in folder.err
    text = cli("mp4", "/README.txt", "--convert")
    assert text.code == 1 and text.err.startswith("putiofs: error: ")
    assert len(text.err.splitlines()) == 1


def test_v1_says_zips_and_mp4_are_not_available(emulator: EmulatorServer,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(emulator, monkeypatch, capsys)
    zipped = cli("zip", "/README.txt")
    assert (zipped.code, zipped.err) == (
        1, "putiofs: error: zips is not available on the put.io API v1\n")
    mp4 = cli("mp4", VIDEO)
    assert (mp4.code, mp4.err) == (
        1, "putiofs: error: mp4 conversion is not available on the put.io API v1\n")
