"""The sd_notify client (a path or an abstract ``@name`` socket; nothing without
``NOTIFY_SOCKET``), and the shipped ``putiofs@.service`` passing ``systemd-analyze verify``."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from putiofs.mount.systemd import Service, notify_address, send

UNIT = Path(__file__).resolve().parents[2] / "contrib" / "systemd" / "putiofs@.service"
ANALYZE = shutil.which("systemd-analyze")


def received(sock: socket.socket) -> list[str]:
    sock.settimeout(5)
    return sock.recv(4096).decode().splitlines()


def test_the_address_is_a_path_or_an_abstract_name_and_nothing_else():
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@sd-123"}) == "\0sd-123"
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": "vsock:2:1234"}) is None


def test_lines_arrive_as_one_datagram_on_an_abstract_socket():
    name = f"putiofs-unit-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert send(notify_address({"NOTIFY_SOCKET": "@" + name}), "READY=1", "STATUS=ok")
        assert received(sock) == ["READY=1", "STATUS=ok"]


def test_a_path_socket_gets_the_stop_reports(tmp_path):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        service = Service(str(path))
        service.stopping(lambda: (2, 3 * 2**20))
        assert received(sock) == ["STOPPING=1",
                                  "STATUS=unmounting: waiting for 2 upload(s), 3.0 MiB left"]
        service.stopped(lambda: (1, 2**20))
        lines = []
        while "STATUS=unmounted" not in " ".join(lines):
            lines += received(sock)
        assert lines[-1] == ("STATUS=unmounted; 1 upload(s), 1.0 MiB left in the spool for "
                             "the next mount")


def test_no_socket_no_message_and_no_failure(tmp_path):
    assert not send(str(tmp_path / "nobody-listens"), "READY=1")
    service = Service(None)
    assert not service.notify("READY=1")
    service.mounted(tmp_path)   # no thread, nothing sent
    service.stopping(lambda: (1, 1))
    service.stopped(lambda: (1, 1))


@pytest.mark.skipif(ANALYZE is None, reason="no systemd-analyze here (systemd not installed)")
def test_the_shipped_unit_verifies(tmp_path):
    """As installed: ``putiofs`` at /usr/local/bin (here: this checkout's entry point)."""
    entry_point = Path(sys.executable).with_name("putiofs")
    if not entry_point.exists():
        pytest.skip(f"no putiofs entry point next to {sys.executable}")
    instance = tmp_path / "putiofs@mnt-putio.service"
    text = UNIT.read_text()
    assert "ExecStart=/usr/local/bin/putiofs mount --foreground " in text
    instance.write_text(text.replace("/usr/local/bin/putiofs", str(entry_point)))
    done = subprocess.run([ANALYZE, "verify", str(instance)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "putiofs@" not in done.stderr, done.stderr
    assert "Type=notify" in text and "Restart=on-failure" in text
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", text, re.M).group(1))
    wait = int(re.search(r"--upload-wait (\d+)", text).group(1))
    assert stop > wait   # systemd does not kill the mount while it waits for uploads
