"""A small stand-in for put.io behind the loopback TLS front (not the emulator): an HTTP/1.1
server that answers a handful of v2 paths (a listing, a file, its storage URL, a TUS upload)
and large or chunked answers, and records every request it gets, so a test checks what the
front forwards byte for byte.

A pytest plugin: a test module with ``pytest_plugins = ("tests.support.tls_stand_in",)`` gets
the ``stand_in`` fixture (a running :class:`StandIn`) and ``front`` (a running
:class:`~putiofs.emulator.tls.front.TlsFront` before it).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from putiofs.emulator.tls.front import TlsFront
from tests.support.serving import TestServer, serve

TOKEN = "stand-in-token-7f3a"
HELLO = b"hello from the stand-in storage\n"
BIG = random.Random(7).randbytes(3 * 1024 * 1024 + 17)
STAMP = "2024-05-01T10:00:00"


def _file(id_: int, name: str, **fields: Any) -> dict[str, Any]:
    item = {"id": id_, "name": name, "parent_id": 0, "size": 0, "content_type": "text/plain",
            "file_type": "TEXT", "extension": None, "crc32": None, "created_at": STAMP,
            "updated_at": STAMP, "first_accessed_at": None, "folder_type": "REGULAR",
            "icon": None, "screenshot": None, "is_hidden": False, "is_shared": False,
            "is_mp4_available": False, "opensubtitles_hash": None}
    item.update(fields)
    return item


ROOT = _file(0, "Your Files", parent_id=None, content_type="application/x-directory",
             file_type="FOLDER")
FOLDER = _file(11, "Movies", content_type="application/x-directory", file_type="FOLDER")
HELLO_FILE = _file(12, "hello.txt", size=len(HELLO), extension="txt",
                   crc32=f"{zlib.crc32(HELLO):08x}")


class StandIn(TestServer):
    """Answers a handful of v2 paths and records every request it gets."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.uploaded = bytearray()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.base

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.lock:
            self.connections += 1
        return True

    def seen(self, path_prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandIn

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: dict[str, Any], status: int = 200, **headers: str) -> None:
        self._send(status, json.dumps(payload).encode(), **headers)

    def _route(self) -> None:
        body = self._body()
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.server.lock:
            self.server.requests.append({
                "method": self.command, "path": parts.path, "query": query,
                "headers": dict(self.headers.items()), "body": body,
                "client": self.client_address})
        route = (self.command, parts.path)
        if route == ("GET", "/v2/account/info"):
            self._json({"info": {"username": "stand-in", "user_id": 1}, "status": "OK"},
                       X_Stand_In="yes")
        elif route == ("GET", "/v2/files/list") and query.get("parent_id") == "0":
            self._json({"files": [FOLDER, HELLO_FILE], "parent": ROOT, "cursor": None,
                        "status": "OK"})
        elif route == ("GET", "/v2/files/0/child") and query.get("name") == "hello.txt":
            self._json({"file": HELLO_FILE, "status": "OK"})
        elif route == ("GET", "/v2/files/12/url"):
            self._json({"url": f"{self.server.url}/storage/hello", "status": "OK"})
        elif route == ("GET", "/storage/hello"):
            self._send(200, HELLO, "text/plain")
        elif route == ("POST", "/files/") and "Upload-Length" in self.headers:
            self._send(201, b"{}", Location="https://upload.put.io/files/upload-1")
        elif route == ("POST", "/files/"):
            self._json({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()})
        elif route == ("PATCH", "/files/upload-1"):
            with self.server.lock:
                self.server.uploaded += body
                offset = len(self.server.uploaded)
                crc = f"{zlib.crc32(self.server.uploaded):08x}"
            self.send_response(204)
            self.send_header("Upload-Offset", str(offset))
            self.send_header("Putio-File-Id", "13")
            self.send_header("Putio-File-Crc32", crc)
            self.end_headers()
        elif route == ("GET", "/v2/files/13"):
            with self.server.lock:
                uploaded = bytes(self.server.uploaded)
            self._json({"file": _file(13, "new.bin", size=len(uploaded),
                                      crc32=f"{zlib.crc32(uploaded):08x}"), "status": "OK"})
        elif route == ("GET", "/big"):
            self._send(200, BIG, "application/octet-stream")
        elif route == ("GET", "/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BIG), 200_000):
                piece = BIG[start:start + 200_000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif route == ("GET", "/close"):
            self.close_connection = True
            self._send(200, BIG, "application/octet-stream", Connection="close")
        else:
            self._json({"error_message": "no such path", "error_type": "NOT_FOUND",
                        "status": "ERROR", "status_code": 404}, status=404)

    do_GET = do_POST = do_PATCH = do_HEAD = _route


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    with serve(StandIn()) as server:
        yield server


@pytest.fixture
def front(stand_in: StandIn) -> Iterator[TlsFront]:
    with TlsFront(stand_in.url) as running:
        yield running


