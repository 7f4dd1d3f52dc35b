"""systemd's side of a mount: ``READY=1`` on ``NOTIFY_SOCKET`` only once the root answers,
``STOPPING=1`` and ``STATUS=`` lines (what is left to upload) at unmount. (The notify client
and the shipped unit: tests/unit/test_systemd_notify.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid

import pytest

from putiofs.emulator.http.faults import Fault, Faults, RequestInfo
from tests.support.mounting import requires_fuse
from tests.support.scripted_faults import Turnstile
from tests.support.versions import V2_TOKEN


class Held(Faults):
    """Several turnstiles at once, each holding the requests of its own name."""

    def __init__(self, *turnstiles: Turnstile) -> None:
        self.turnstiles = turnstiles

    def choose(self, request: RequestInfo) -> Fault | None:
        for turnstile in self.turnstiles:
            turnstile.choose(request)
        return None


@pytest.fixture
def notify_socket(monkeypatch):
    """A datagram socket in the abstract namespace, named by ``NOTIFY_SOCKET`` for the mount."""
    name = f"putiofs-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    yield sock
    sock.close()


def messages(sock: socket.socket, until: str, seconds: float = 30.0) -> list[str]:
    """The lines received until one is ``until`` (all of them; fails if it never comes)."""
    lines: list[str] = []
    sock.settimeout(seconds)
    while until not in lines:
        try:
            lines += sock.recv(4096).decode().splitlines()
        except TimeoutError:
            pytest.fail(f"no {until} on NOTIFY_SOCKET; got {lines}", pytrace=False)
    return lines


def nothing_within(sock: socket.socket, seconds: float) -> list[str]:
    sock.settimeout(seconds)
    try:
        return sock.recv(4096).decode().splitlines()
    except TimeoutError:
        return []


@requires_fuse
def test_ready_comes_once_the_root_lists_and_stopping_reports_the_uploads_left(
        emulator_factory, mount_factory, notify_socket):
    listing = Turnstile("files.list")
    upload = Turnstile("upload.tus_patch")
    server = emulator_factory(api="v2", token=V2_TOKEN, faults=Held(listing, upload))
    server.account.add_file("0", "episode.mkv", data=b"frames")
    mount = mount_factory(server, "--no-events")
    assert listing.wait_arrived(1), "the mount never listed its root"
    assert "READY=1" not in nothing_within(notify_socket, 1.5)   # the root has not answered
    listing.let_through()
    lines = messages(notify_socket, "READY=1")
    assert any(line.startswith("STATUS=serving put.io at") for line in lines)
    assert os.listdir(mount.path) == ["episode.mkv"]

    (mount.path / "new.txt").write_bytes(b"x" * 300_000)
    assert upload.wait_arrived(1)
    subprocess.run(["fusermount3", "-u", str(mount.path)], check=True, capture_output=True)
    lines = messages(notify_socket, "STOPPING=1")
    lines += messages(notify_socket, "STATUS=unmounting: waiting for 1 upload(s), 0.3 MiB left")
    upload.let_through()
    assert mount.process.wait(30) == 0
    lines += messages(notify_socket, "STATUS=unmounted")
    assert "READY=1" not in lines
