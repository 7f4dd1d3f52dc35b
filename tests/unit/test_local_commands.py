"""The commands that need no account: ``-V``, ``completion``, ``man``, the ``-o`` table in
``mount --help``, ``status`` (finding this user's mounts, its text) and what ``umount`` says
after the unmount, against status files written here."""

from __future__ import annotations

import ast
import inspect
import io
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from putiofs import __version__
from putiofs.cli import build_parser, main
from putiofs.commands.local import unmounting
from putiofs.commands.local.manual import completion, man_page
from putiofs.commands.local.mounts import MountStatusReading, putiofs_mounts
from putiofs.commands.local.status import render
from putiofs.mount import settings
from putiofs.write.status import UploadStatus, write_status


def test_dash_v_prints_the_version(capsys):
    for flag in ("-V", "--version"):
        with pytest.raises(SystemExit) as done:
            main([flag])
        assert done.value.code == 0
        assert capsys.readouterr().out.strip() == f"putiofs {__version__}"


def complete_in_bash(script: Path, line: str) -> list[str]:
    """What bash completes for ``line`` with the script loaded (its -F function run as bash
    would run it at TAB)."""
    words = line.split(" ")
    program = (f"source {script}\n"
               "spec=$(complete -p putiofs) || exit 3\n"
               "fn=$(sed 's/.* -F \\([^ ]*\\) .*/\\1/' <<<\"$spec\")\n"
               f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
               f"COMP_LINE={line!r}; COMP_POINT={len(line)}\n"
               f"$fn putiofs {words[-1]!r} {words[-2]!r}\n"
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completion_is_valid_bash_and_completes_subcommands_and_options(tmp_path):
    script = tmp_path / "putiofs.bash"
    script.write_text(completion(build_parser(), "bash"))
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert complete_in_bash(script, "putiofs sta") == ["status"]
    assert "umount" in complete_in_bash(script, "putiofs u")
    assert "--upload-wait" in complete_in_bash(script, "putiofs umount --up")


def test_fish_completion_names_every_subcommand():
    parser = build_parser()
    text = completion(parser, "fish")
    for name in ("mount", "umount", "status", "completion", "man", "transfers"):
        assert f"-a {name} " in text
    assert "-l upload-wait -r" in text


def test_the_man_page_renders(tmp_path):
    page = man_page(build_parser(), __version__)
    assert page.startswith(".TH PUTIOFS 1")
    if shutil.which("man"):
        command = ["man", "-l", "-"]
    elif shutil.which("groff"):
        command = ["groff", "-man", "-Tutf8", "-ww"]
    else:
        pytest.skip("neither man nor groff is installed to render the page")
    done = subprocess.run(command, input=page, capture_output=True, text=True, timeout=60,
                          env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    text = done.stdout
    for words in ("putiofs - Mount a put.io account", "umount", "--upload-wait", "status",
                  "read_ahead_kb=N"):
        assert words in text, words


def o_keys_the_parser_knows() -> set[str]:
    """Every key parse_o_options compares an -o item's key with."""
    tree = ast.parse(inspect.getsource(settings.parse_o_options))
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) \
                and node.left.id == "key":
            for value in node.comparators:
                elements = value.elts if isinstance(value, ast.Tuple) else [value]
                keys.update(e.value for e in elements if isinstance(e, ast.Constant))
    return keys


def test_mount_help_lists_every_o_option(capsys):
    with pytest.raises(SystemExit):
        main(["mount", "--help"])
    text = capsys.readouterr().out
    known = o_keys_the_parser_knows()
    assert {"uid", "gid", "ro", "fuse", "read_ahead_kb"} <= known
    table = {option.key for option in settings.MOUNT_OPTIONS}
    assert known <= table
    for option in settings.MOUNT_OPTIONS:
        assert f"  {option.usage}  " in text, option.usage
    assert {"umask", "nonempty", "fuse", "read_ahead_kb"} <= table


def test_this_users_mounts_are_found_in_mountinfo(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(
        "36 35 0:40 / /home/a/put\\040io rw,nosuid - fuse.putiofs putio rw,user_id=1000,"
        "group_id=1000\n"
        "37 35 0:41 / /mnt/theirs rw - fuse.putiofs putio rw,user_id=1001,group_id=1001\n"
        "38 35 0:42 / /mnt/sshfs rw - fuse.sshfs host: rw,user_id=1000,group_id=1000\n")
    assert putiofs_mounts(1000, info) == [Path("/home/a/put io")]


STATUS = {
    "pid": 4242, "uptime": 3725, "upload_wait": 300,
    "open_files": [{"path": "/tv/e1.mkv", "size": 3 << 30, "bytes_read": 5 << 20,
                    "speed": 2 << 20, "open_for": 10}],
    "uploads": [{"path": "/up.bin", "size": 10 << 20, "bytes_done": 4 << 20,
                 "bytes_left": 6 << 20, "speed": 1 << 20, "state": "uploading",
                 "error": None}],
    "events": {"available": True, "connected": False, "since": None,
               "why_not": "cannot connect (OSError); retrying with backoff"},
    "cache": {"folders": 3, "items": 120, "memory_estimate": 54000, "read_cache": None},
    "api": {"requests": 17, "failed": 1, "error_answers": 2, "last_error": "HTTP 503"},
}


def test_the_status_text_says_each_part():
    text = render(MountStatusReading(Path("/m"), STATUS))
    assert "/m  (pid 4242, up 1h 2m)" in text
    assert "not connected: cannot connect (OSError)" in text
    assert "3 folders, 120 items" in text and "read cache: off" in text
    assert "17 requests, 1 without an answer, 2 error answers (last: HTTP 503)" in text
    assert "/tv/e1.mkv  5.00M  3.00G  2.00M/s" in text
    assert "uploading  4.00M  6.00M  1.00M/s  /up.bin" in text
    assert render(MountStatusReading(Path("/m"), None, "not answering")) == \
        "/m: not answering\n"
    cached = {**STATUS, "cache": {**STATUS["cache"], "read_cache": {
        "folder": "/c/read-cache", "size": 3 << 29, "limit": 10 << 30, "chunks": 1536,
        "hit_rate": 0.873}}}
    assert "read cache: 1.50G of 10.00G, 1536 chunks, hit rate 87% (in /c/read-cache)" in \
        render(MountStatusReading(Path("/m"), cached))


def test_umount_says_what_is_left_and_where_when_the_process_ended(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    write_status(spool / "status.json",
                 [UploadStatus("/up.bin", 10 << 20, 8 << 20, 0.0, "retrying", "HTTP 503")])
    status = {**STATUS, "pid": 2**22 + 1, "spool": str(spool),
              "uploads_status": str(spool / "status.json")}
    out = io.StringIO()
    left = unmounting.follow(status, Path("/m"), read_at=time.time() - 5, out=out,
                             sleep=lambda s: None)
    assert left.files == 1 and left.bytes == 2 << 20
    text = out.getvalue()
    assert "1 upload(s) not finished (2.00M left)" in text and "/up.bin  (2.00M left)" in text
    assert f"continue at the next mount of this account; kept in {spool}" in text
    assert "\r" not in text


def test_umount_ignores_a_spool_status_from_before_it_looked(tmp_path):
    """An older status.json (nothing pending then) does not say the new upload landed."""
    spool = tmp_path / "spool"
    spool.mkdir()
    write_status(spool / "status.json", [])
    status = {**STATUS, "pid": 2**22 + 1, "uploads_status": str(spool / "status.json")}
    out = io.StringIO()
    left = unmounting.follow(status, Path("/m"), read_at=time.time() + 60, out=out,
                             sleep=lambda s: None)
    assert left.files == 1 and "landed" not in out.getvalue()
    assert json.loads((spool / "status.json").read_text())["uploads"] == []


def test_the_demo_says_how_to_reach_its_account():
    from putiofs.cli import demo_commands
    from putiofs.config import Settings

    v2 = demo_commands(Settings(api="v2", api_url="http://127.0.0.1:5/v2", token="t0k",
                                upload_url="http://127.0.0.1:5", socket_url="ws://x/s"),
                       Path("/tmp/m p"))
    assert ("export PUTIO_API=v2 PUTIO_API_URL=http://127.0.0.1:5/v2 PUTIO_TOKEN=t0k "
            "PUTIO_UPLOAD_URL=http://127.0.0.1:5 PUTIO_SOCKET_URL=ws://x/s") in v2
    assert "transfers list" in v2 and "status '/tmp/m p'" in v2 and "not a put.io secret" in v2
    v1 = demo_commands(Settings(api_url="http://127.0.0.1:5/v1", api_key="k", api_secret="s"),
                       Path("/m"))
    assert "PUTIO_API=v1 PUTIO_API_URL=http://127.0.0.1:5/v1 PUTIO_API_KEY=k PUTIO_API_SECRET=s" \
        in v1 and "UPLOAD" not in v1
