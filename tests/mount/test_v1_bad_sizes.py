"""Sizes that are not byte counts and items without an id, on a real v1 mount: such
files are left out and their siblings stay usable; a folder holding nothing
else fails with EIO and is never taken for empty (put.io deletes folders recursively)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.errnos import errno_of
from tests.support.mounting import requires_fuse
from tests.support.serving import TestServer, serve
from tests.support.versions import api_only

pytestmark = [requires_fuse,
              api_only("v1", "a hand-written server answering put.io v1's envelopes with "
                             "impossible sizes")]

DATA = b"twelve bytes"


def _file(id: str | None, name: str, size: Any, data_url: str) -> dict:
    item = {"name": name, "size": size, "is_dir": False, "parent_id": "0",
            "download_url": f"{data_url}/{id}"}
    return item if id is None else {"id": id, **item}


def _listings(data_url: str) -> dict[str, list]:
    return {
        "0": [
            _file("21", "good.txt", "12", data_url),
            _file("22", "exact.bin", "1.2e1", data_url),
            _file("23", "wrapped.bin", 2**64 + 12, data_url),
            _file("24", "huge.bin", "1e30", data_url),
            _file("25", "negative.bin", -12, data_url),
            _file("26", "fraction.bin", 12.5, data_url),
            _file(None, "no id a.txt", 12, data_url),
            {"id": None, "name": "no id b.txt", "size": 12, "is_dir": False},
            {"id": "30", "name": "sized folder", "is_dir": True, "size": "1e30"},
            {"id": "31", "name": "only bad", "is_dir": True, "size": 0},
        ],
        "30": [_file("32", "inner.txt", 12, data_url)],
        "31": [_file("33", "x.bin", "1e30", data_url), {"name": "y.bin", "size": 1}],
    }


class _Handler(BaseHTTPRequestHandler):
    """put.io v1 answering items with sizes no file can have, and items without an id."""

    server: OddSizesServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        params = json.loads(form["request"][0]).get("params") or {}
        method = parse_qs(urlsplit(self.path).query).get("method", [""])[0]
        service = urlsplit(self.path).path.rsplit("/", 1)[-1]
        self.server.calls.append(f"{service}.{method}")
        listings = _listings(self.server.data_url)
        if (service, method) == ("user", "info"):
            results: Any = [{"user_id": 1, "user_name": "u"}]
        elif (service, method) == ("user", "acctoken"):
            results = {"token": "stubtoken-4567"}
        elif (service, method) == ("files", "list") and str(params.get("parent_id")) in listings:
            results = listings[str(params["parent_id"])]
        else:
            self._send({"error": True, "error_message": f"Unknown method: {method}"})
            return
        self._send({"error": None, "error_message": None, "response": {"results": results}})

    def _send(self, envelope: dict) -> None:
        payload = json.dumps(envelope).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        start, _, end = self.headers.get("Range", "bytes=0-").removeprefix("bytes=").partition("-")
        first, last = int(start), min(int(end) if end else len(DATA) - 1, len(DATA) - 1)
        body = DATA[first:last + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(DATA)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class OddSizesServer(TestServer):
    """The loopback put.io of these tests: ``base_url`` for the mount, ``calls`` it answered."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.calls: list[str] = []
        self.data_url = f"{self.base}/data"
        self.base_url = f"{self.base}/v1"


@pytest.fixture
def odd_sizes_server() -> Iterator[OddSizesServer]:
    with serve(OddSizesServer()) as server:
        yield server


def test_files_with_impossible_sizes_or_no_id_are_left_out(odd_sizes_server, mount_factory):
    mount = mount_factory(odd_sizes_server, "--timeout", "5")
    assert set(os.listdir(mount.path)) == {"good.txt", "exact.bin", "sized folder", "only bad"}
    assert (mount.path / "good.txt").read_bytes() == DATA
    assert (mount.path / "exact.bin").stat().st_size == 12, '"1.2e1" is exactly 12'
    assert (mount.path / "exact.bin").read_bytes() == DATA
    for name in ("wrapped.bin", "huge.bin", "negative.bin", "fraction.bin", "no id a.txt"):
        assert errno_of(lambda n=name: (mount.path / n).stat()) == errno.ENOENT, name
    assert os.listdir(mount.path / "sized folder") == ["inner.txt"], \
        "a folder's unreadable size does not hide it"
    assert "left out" in mount.log()
    assert mount.process.poll() is None


def test_a_folder_holding_only_unreadable_items_is_eio_and_never_deleted(odd_sizes_server,
                                                                        mount_factory):
    mount = mount_factory(odd_sizes_server, "--timeout", "5")
    assert errno_of(lambda: os.listdir(mount.path / "only bad")) == errno.EIO
    assert errno_of(lambda: os.rmdir(mount.path / "only bad")) == errno.EIO
    assert "files.delete" not in odd_sizes_server.calls
    assert mount.process.poll() is None
