"""``putiofs uploads``: what a mount's spool folder says, read by another process, and the
``/.putio/uploads`` table (the same view)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from putiofs.views import render_uploads
from putiofs.write.spool import account_dir, user_key
from putiofs.write.status import UploadStatus, write_status
from tests.conftest import V2_TOKEN
from tests.support.commands_cli import Cli

pytestmark = pytest.mark.server(api="v2", token=V2_TOKEN)


def spool_folder(cli: Cli, cache: Path) -> Path:
    """Where a mount of the emulator's account keeps its spool (as the mount finds it)."""
    result = cli("account", "--json")
    assert result.code == 0, result.err
    account = result.json()
    folder = account_dir(cache, cli.server.base_url,
                         user_key(account["user_name"], account["user_id"]))
    (folder / "recovered").mkdir(parents=True)
    return folder


def test_a_running_mount_s_uploads_are_listed_with_progress(cli: Cli, tmp_path: Path) -> None:
    folder = spool_folder(cli, tmp_path)
    write_status(folder / "status.json", [
        UploadStatus("/Movies/new.mkv", 50 * 2**20, bytes_done=10 * 2**20,
                     speed=2.5 * 2**20, state="uploading"),
        UploadStatus("/notes.txt", 12, state="retrying", error="TransportError"),
    ])
    result = cli("uploads", "--cache-dir", str(tmp_path))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["STATE", "DONE", "SPEED", "PATH", "ERROR"]
    assert lines[1].split() == ["uploading", "10.00M/50.00M", "2.50M/s", "/Movies/new.mkv", "-"]
    assert lines[2].split() == ["retrying", "0.00B/12.00B", "-", "/notes.txt", "TransportError"]
    assert "no mount" not in result.out
    as_json = cli("uploads", "--cache-dir", str(tmp_path), "--json").json()
    assert [u["path"] for u in as_json] == ["/Movies/new.mkv", "/notes.txt"]
    assert as_json[0]["bytes_done"] == 10 * 2**20


def test_without_a_mount_it_says_they_wait_and_lists_handed_back_files(
        cli: Cli, tmp_path: Path) -> None:
    folder = spool_folder(cli, tmp_path)
    write_status(folder / "status.json", [UploadStatus("/a.txt", 3, state="queued")])
    stale = time.time() - 60
    payload = json.loads((folder / "status.json").read_text())
    payload["updated"] = stale
    (folder / "status.json").write_text(json.dumps(payload))
    (folder / "recovered" / "draft.txt").write_bytes(b"half written")
    result = cli("uploads", "--cache-dir", str(tmp_path))
    assert result.code == 0, result.err
    assert result.out.startswith("no mount of this account is running")
    assert "/a.txt" in result.out
    recovered = [line for line in result.out.splitlines() if line.startswith("recovered")]
    assert len(recovered) == 1 and str(folder / "recovered" / "draft.txt") in recovered[0]
    assert "12.00B" in recovered[0]


def test_nothing_pending(cli: Cli, tmp_path: Path) -> None:
    result = cli("uploads", "--cache-dir", str(tmp_path / "never-mounted"))
    assert result.code == 0, result.err
    assert result.out == "no uploads pending\n"
    assert not (tmp_path / "never-mounted").exists()


def test_names_are_escaped_in_the_table() -> None:
    text = render_uploads([UploadStatus("/evil\x1b]2;x\x07.txt", 1, state="open")])
    assert "\x1b" not in text and "\\x1b" in text


def test_status_file_is_private(tmp_path: Path) -> None:
    write_status(tmp_path / "status.json", [UploadStatus("/x", 1)])
    assert os.stat(tmp_path / "status.json").st_mode & 0o077 == 0


def test_it_needs_no_credentials_and_reads_every_accounts_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """It only reads the cache folder: with no credentials at all (and put.io never asked) it
    lists what each account's folder holds, each under its folder's name."""
    from putiofs.cli import main

    for name in list(os.environ):
        if name.startswith("PUTIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    ann = account_dir(tmp_path, "https://api.put.io/v2", "ann")
    bob = account_dir(tmp_path, "https://api.put.io/v2", "bob")
    for folder, path in ((ann, "/a.txt"), (bob, "/b.txt")):
        (folder / "pending").mkdir(parents=True)
        write_status(folder / "status.json", [UploadStatus(path, 3, state="queued")])
    (tmp_path / "putiofs.log").write_text("a log beside the account folders\n")
    capsys.readouterr()
    assert main(["uploads", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"account {ann.name}:" in out and f"account {bob.name}:" in out
    assert out.index("/a.txt") < out.index(f"account {bob.name}:") < out.index("/b.txt")
    assert main(["uploads", "--cache-dir", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["account"], r["path"]) for r in listed] == [(ann.name, "/a.txt"),
                                                           (bob.name, "/b.txt")]
