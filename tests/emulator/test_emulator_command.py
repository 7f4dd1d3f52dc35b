"""Starting the emulator: the command, ``--data DIR`` seeding, the demo media."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from putiofs.emulator import EmulatorOptions, EmulatorServer
from tests.conftest import raw_call
from tests.support.v1_envelopes import ok


def _start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, str]:
    """Run ``python -m putiofs.emulator``; return it, the API URL and the start-up text."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "putiofs.emulator", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if "listening on" not in first:
        proc.kill()
        pytest.fail(f"no start-up line: {first!r} {proc.stderr.read() if proc.stderr else ''}")
    banner = first + proc.stdout.readline() + proc.stdout.readline()
    return proc, first.rsplit(" ", 1)[1].strip(), banner


def _stop(proc: subprocess.Popen, sig: int) -> None:
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "emulator stopped" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_module_command_serves_demo_and_stops_cleanly(sig):
    proc, url, banner = _start("--demo", "--port", "0", env={"PUTIO_API_KEY": "k1",
                                                     "PUTIO_API_SECRET": "s1"})
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        body = requests.post(f"{url}/files?method=list", timeout=10, data={
            "request": '{"api_key":"k1","api_secret":"s1","params":{}}'}).json()
        assert body["error"] is None
        assert "README.txt" in {i["name"] for i in body["response"]["results"]}
    finally:
        _stop(proc, sig)
    assert "api_key=k1 api_secret=s1" in banner
    assert f"PUTIO_API_URL={url}" in banner


def test_module_command_legacy_dialect():
    proc, url, _ = _start("--dialect", "legacy", "--port", "0", "--token-ttl", "5", "--redirect",
                       "--transfer-seconds", "0")
    try:
        body = requests.get(f"{url}/user?method=acctoken", timeout=10, params={
            "request": '{"api_key":"demo","api_secret":"demo"}'}).json()
        assert body["error"] is False and isinstance(body["response"]["results"], dict)
    finally:
        _stop(proc, signal.SIGINT)


def test_command_reports_a_busy_port():
    with EmulatorServer(EmulatorOptions()) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "putiofs.emulator", "--port", str(server.port)],
            capture_output=True, text=True, timeout=30,
        )
    assert proc.returncode != 0 and "putiofs emulator:" in proc.stderr


def test_data_dir_seeding_reads_bytes_lazily(emulator_factory, tmp_path):
    (tmp_path / "Shows" / "Season 1").mkdir(parents=True)
    (tmp_path / "Shows" / "Season 1" / "ep1.mkv").write_bytes(b"episode one")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("first")
    server = emulator_factory(data_dir=tmp_path)
    root = ok(raw_call(server, "files", "list", {"orderby": "name_asc"}))
    assert [(i["name"], i["is_dir"]) for i in root] == [
        ("empty", True), ("notes.txt", False), ("Shows", True)]
    shows = root[2]
    assert shows["size"] == str(len(b"episode one"))
    season = ok(raw_call(server, "files", "list", {"parent_id": shows["id"]}))[0]
    episode = ok(raw_call(server, "files", "list", {"parent_id": season["id"]}))[0]
    assert episode["type"] == "movie"
    assert server.account.file_bytes(episode["id"]) == b"episode one"
    # Bytes come from disk when served, not from a copy taken at start-up.
    (tmp_path / "notes.txt").write_text("FIRST")
    url = f"{root[1]['download_url']}"
    assert requests.get(url, auth=("demo", "demo"), timeout=10).content == b"FIRST"


def test_options_are_validated(tmp_path):
    with pytest.raises(ValueError):
        EmulatorOptions(demo=True, data_dir=tmp_path)
    with pytest.raises(ValueError):
        EmulatorOptions(dialect="modern")
    with pytest.raises(ValueError):
        EmulatorOptions(api="v3")
    with pytest.raises(ValueError):
        EmulatorOptions(api="v2", url_ttl=0)
    assert EmulatorOptions().api == "v1"


def test_context_manager_stops_and_frees_the_port():
    with EmulatorServer(EmulatorOptions(demo=True)) as server:
        url = server.base_url
        assert raw_call(server, "files", "list").status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_stop_closes_kept_alive_connections():
    server = EmulatorServer(EmulatorOptions()).start()
    session = requests.Session()
    assert raw_call(server, "files", "list", session=session).status_code == 200
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    with pytest.raises(requests.ConnectionError):
        raw_call(server, "files", "list", session=session)


def test_demo_media_is_small_and_real(emulator):
    data = Path(__file__).resolve().parents[2] / "putiofs" / "emulator" / "demo_data"
    assert sum(p.stat().st_size for p in data.iterdir()) < 1024 * 1024
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("ffprobe is not installed")
    found = ok(raw_call(emulator, "files", "search", {"query": ".mp4"}))
    video = emulator.account.file_bytes(found[0]["id"])
    probe = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration",
         "-of", "default=nw=1", "-"],
        input=video, capture_output=True, timeout=30,
    )
    out = probe.stdout.decode()
    assert probe.returncode == 0, probe.stderr
    assert "codec_type=video" in out and "width=320" in out and "height=240" in out
    assert "codec_type=audio" in out
    duration = float(out.split("duration=")[1].split()[0])
    assert 8 <= duration <= 12


def test_undecodable_file_names_are_listed_with_replacement_characters(emulator_factory,
                                                                        tmp_path):
    """A name that is not UTF-8 becomes text with U+FFFD (put.io names are text); its folder
    still lists and its bytes still come from the file on disk."""
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9 \xff.txt")
    with open(raw, "wb") as fh:
        fh.write(b"latin-1 name")
    (tmp_path / "sub").mkdir()
    with open(os.path.join(os.fsencode(tmp_path), b"sub", b"\xfe\xfe"), "wb") as fh:
        fh.write(b"x")
    server = emulator_factory(data_dir=tmp_path)
    root = ok(raw_call(server, "files", "list", {"orderby": "name_asc"}))
    assert [i["name"] for i in root] == ["caf\ufffd \ufffd.txt", "sub"]
    assert root[1]["size"] == "1"
    assert ok(raw_call(server, "files", "list", {"parent_id": root[1]["id"]}))[0]["name"] == \
        "\ufffd\ufffd"
    assert requests.get(root[0]["download_url"], auth=("demo", "demo"),
                        timeout=10).content == b"latin-1 name"
    found = ok(raw_call(server, "files", "search", {"query": "caf"}))
    assert [i["name"] for i in found] == ["caf\ufffd \ufffd.txt"]
