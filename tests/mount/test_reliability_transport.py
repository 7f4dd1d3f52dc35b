"""Deadlines on a real mount: an ``ls`` of a folder whose listing trickles fails with EIO
within the mount's ``--timeout`` and the mount answers after it; a read outlives its stream
links expiring twice. (The clients and the reader against trickling servers, without a mount:
tests/unit/test_reliability_transport.py.)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import requests

from putiofs.emulator.http.faults import RandomFaults
from tests.support.mounting import requires_fuse
from tests.support.serving import TestServer, serve
from tests.support.time_limits import SLACK, TRICKLE, outcome_within
from tests.support.versions import api_only, link_expiry

KIB = 1024
MIB = 1024 * KIB



class TrickleProxy(TestServer):
    """Passes requests on to an emulator; the answer to a listing of ``slow_id`` is sent one
    byte every TRICKLE seconds, status line included. Closing it ends the trickles."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_ProxyHandler)
        self.upstream = upstream
        self.slow_id = ""
        self.stop = threading.Event()
        self.session = requests.Session()

    @property
    def base_url(self) -> str:
        return f"{self.base}/v1"

    def server_close(self) -> None:
        self.stop.set()
        super().server_close()
        self.session.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TrickleProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "range", "accept-encoding")}
        answer = self.server.session.request(self.command, self.server.upstream + self.path,
                                             data=body, headers=headers, timeout=30,
                                             allow_redirects=False)
        raw = (f"HTTP/1.1 {answer.status_code} {answer.reason}\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items()
                         if k.lower() not in ("transfer-encoding", "connection",
                                              "content-length"))
               + f"Content-Length: {len(answer.content)}\r\n\r\n").encode() + answer.content
        request = parse_qs(body.decode()).get("request", ["{}"])[0]
        method = parse_qs(urlsplit(self.path).query).get("method", [""])[0]
        slow = (method == "list" and self.server.slow_id
                and json.loads(request).get("params", {}).get("parent_id") == self.server.slow_id)
        if not slow:
            self.wfile.write(raw)
            return
        self.close_connection = True
        with contextlib.suppress(OSError):
            for byte in raw:
                if self.server.stop.wait(TRICKLE):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    do_GET = do_POST = _relay


@requires_fuse
@api_only("v1", "the trickling proxy recognises a listing by v1's files?method=list request")
def test_ls_of_a_trickling_folder_fails_with_eio_in_time_and_the_mount_answers_after(
        emulator_factory, mount_factory):
    server = emulator_factory()
    slow = server.account.add_folder("0", "slow")
    fast = server.account.add_folder("0", "fast")
    server.account.add_file(fast, "here.txt", data=b"here")
    with serve(TrickleProxy(server.base_url.removesuffix("/v1"))) as proxy:
        timeout = 3.0
        mount = mount_factory(proxy, "--timeout", str(timeout))
        assert sorted(os.listdir(mount.path)) == ["fast", "slow"]
        proxy.slow_id = slow

        def ls_slow() -> object:
            try:
                return os.listdir(mount.path / "slow")
            except OSError as exc:
                return exc.errno

        code, took = outcome_within(timeout + 30, ls_slow)
        assert code == errno.EIO and took < timeout + SLACK, (code, took)
        assert os.listdir(mount.path / "fast") == ["here.txt"]
        assert (mount.path / "fast" / "here.txt").read_bytes() == b"here"
        proxy.slow_id = ""
        assert os.listdir(mount.path / "slow") == []
        assert mount.process.poll() is None


@requires_fuse
def test_a_read_that_meets_an_expired_stream_token_twice_succeeds(server_factory, api_version,
                                                                   mount_factory):
    """Links (v1: the stream token, v2: the file's storage URL) live 1 s and every request
    takes 0.6 s: the read below needs two GETs (the file's last block and the stream before
    it) and the link expires before each."""
    server = server_factory(faults=RandomFaults(latency=0.6, seed=1),
                            **link_expiry(api_version, 1.0))
    data = random.Random(16).randbytes(MIB + 64 * KIB)
    server.account.add_file("0", "expiring.bin", data=data)
    mount = mount_factory(server, "--timeout", "30")
    path = mount.path / "expiring.bin"
    assert path.stat().st_size == len(data)
    time.sleep(1.2)  # v1: the token fetched at mount time has expired
    with open(path, "rb", buffering=0) as f:
        offset = 768 * KIB   # spans the stream and the last 256 KiB, kept as an edge block
        assert os.pread(f.fileno(), 128 * KIB, offset) == data[offset:offset + 128 * KIB]
        time.sleep(1.2)
        assert os.pread(f.fileno(), 4096, 0) == data[:4096]
