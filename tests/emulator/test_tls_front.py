"""The loopback TLS front, and real put.io clients (requests, rclone, putio.py) going through it.

Every test talks to a small stand-in HTTP/1.1 server (:mod:`tests.support.tls_stand_in`, not
the emulator), which records what arrives, so the tests check what the front forwards byte for
byte. An rclone mount through the front: tests/mount/test_tls_front.py.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests

from putiofs.emulator.tls.certs import CertificateError
from putiofs.emulator.tls.front import TlsFront
from tests.support.realclients import putio_sdk, rclone_env, requires_openssl, requires_rclone
from tests.support.tls_stand_in import BIG, HELLO, STAMP, TOKEN, StandIn

pytest_plugins = ("tests.support.tls_stand_in",)


def _proxy_exchange(front: TlsFront, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` to the proxy; its first answer line and what followed until it closed."""
    port = int(front.proxy_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = bytearray()
        while chunk := sock.recv(4096):
            answer += chunk
    status_line, _, rest = bytes(answer).partition(b"\r\n")
    return status_line, rest


def _https(front: TlsFront, session: Any = requests, method: str = "GET", url: str = "",
           **kwargs: Any) -> requests.Response:
    return session.request(method, url, proxies={"https": front.proxy_url}, verify=front.ca_file,
                           timeout=30, **kwargs)


@requires_openssl
@pytest.mark.parametrize("request_line", [
    b"CONNECT example.com:443 HTTP/1.1",
    b"CONNECT api.put.io:80 HTTP/1.1",
    b"CONNECT api.put.io.example.com:443 HTTP/1.1",
    b"CONNECT 127.0.0.1:{port} HTTP/1.1",
    b"GET http://api.put.io/v2/account/info HTTP/1.1",
    b"GET http://127.0.0.1:{port}/v2/account/info HTTP/1.1",
])
def test_front_refuses_every_other_target(front: TlsFront, stand_in: StandIn,
                                          request_line: bytes) -> None:
    line = request_line.replace(b"{port}", str(stand_in.server_address[1]).encode())
    status, rest = _proxy_exchange(front, line + b"\r\nHost: x\r\n\r\n")
    assert status == b"HTTP/1.1 403 Forbidden"
    assert b"api.put.io:443 and upload.put.io:443" in rest
    assert stand_in.connections == 0 and front.tunnels_opened == 0


@requires_openssl
def test_refusals_log_no_token(front: TlsFront, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    request = f"GET http://api.put.io/v2/files/1/download?oauth_token={TOKEN} HTTP/1.1\r\n\r\n"
    status, _ = _proxy_exchange(front, request.encode())
    assert status == b"HTTP/1.1 403 Forbidden"
    assert "refused GET api.put.io" in caplog.text
    assert TOKEN not in caplog.text


@requires_openssl
def test_front_answers_garbage_with_400(front: TlsFront, stand_in: StandIn) -> None:
    status, _ = _proxy_exchange(front, b"hello there\r\n\r\n")
    assert status == b"HTTP/1.1 400 Bad Request"
    assert stand_in.connections == 0


@requires_openssl
def test_unreachable_emulator_is_a_502_not_a_hang() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with TlsFront(f"http://127.0.0.1:{port}") as front:
        status, rest = _proxy_exchange(front, b"CONNECT api.put.io:443 HTTP/1.1\r\n\r\n")
    assert status == b"HTTP/1.1 502 Bad Gateway"
    assert b"not reachable" in rest


def test_missing_openssl_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(CertificateError, match="openssl is not installed"):
        TlsFront("http://127.0.0.1:9").start()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["http://192.0.2.1:8080", "https://127.0.0.1:8080",
                                 "http://api.put.io", "127.0.0.1:8080"])
def test_front_forwards_only_to_this_machine(url: str) -> None:
    with pytest.raises(ValueError):
        TlsFront(url)


@requires_openssl
def test_request_and_answer_pass_through_intact(front: TlsFront, stand_in: StandIn) -> None:
    response = _https(front, url="https://api.put.io/v2/account/info?flag=1",
                      headers={"Authorization": f"token {TOKEN}", "X-Probe": "a b\tc"})
    assert response.status_code == 200
    assert response.json() == {"info": {"username": "stand-in", "user_id": 1}, "status": "OK"}
    assert response.headers["X-Stand-In"] == "yes"
    [seen] = stand_in.seen("/v2/account/info")
    assert seen["query"] == {"flag": "1"}
    assert seen["headers"]["Host"] == "api.put.io"
    assert seen["headers"]["Authorization"] == f"token {TOKEN}"
    assert seen["headers"]["X-Probe"] == "a b\tc"


@requires_openssl
def test_keep_alive_reuses_one_tunnel(front: TlsFront, stand_in: StandIn) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert _https(front, session, url="https://api.put.io/v2/account/info").ok
    seen = stand_in.seen("/v2/account/info")
    assert len(seen) == 3
    assert len({r["client"] for r in seen}) == 1
    assert front.tunnels_opened == 1 and stand_in.connections == 1


@requires_openssl
def test_chunked_upload_body_arrives_intact(front: TlsFront, stand_in: StandIn) -> None:
    pieces = [BIG[i:i + 300_001] for i in range(0, len(BIG), 300_001)]
    response = _https(front, method="POST", url="https://upload.put.io/files/",
                      data=iter(pieces), headers={"Tus-Resumable": "1.0.0"})
    assert response.json() == {"length": len(BIG), "sha256": hashlib.sha256(BIG).hexdigest()}
    [seen] = stand_in.seen("/files/")
    assert seen["headers"]["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in seen["headers"]
    assert seen["headers"]["Host"] == "upload.put.io"
    assert seen["body"] == BIG


@requires_openssl
@pytest.mark.parametrize("path", ["/big", "/chunked"])
def test_large_answers_arrive_intact(front: TlsFront, stand_in: StandIn, path: str) -> None:
    with requests.Session() as session:
        assert _https(front, session, url=f"https://api.put.io{path}").content == BIG
        assert _https(front, session, url="https://api.put.io/v2/account/info").ok
    assert front.tunnels_opened == 1


@requires_openssl
def test_connection_close_ends_the_tunnel_after_the_answer(front: TlsFront) -> None:
    with requests.Session() as session:
        assert _https(front, session, url="https://api.put.io/close").content == BIG
        assert _https(front, session, url="https://api.put.io/v2/account/info").ok
    assert front.tunnels_opened == 2


@requires_openssl
def test_certificate_is_trusted_only_through_the_runs_ca(front: TlsFront) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://api.put.io/v2/account/info", proxies={"https": front.proxy_url},
                     verify=True, timeout=30)


@requires_openssl
def test_stop_ends_open_tunnels_and_deletes_the_certificates(stand_in: StandIn) -> None:
    front = TlsFront(stand_in.url).start()
    ca_file = front.ca_file
    assert ca_file is not None
    port = int(front.proxy_url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(b"CONNECT api.put.io:443 HTTP/1.1\r\n\r\n")
    assert raw.recv(4096).startswith(b"HTTP/1.1 200")
    tls = ssl.create_default_context(cafile=str(ca_file)).wrap_socket(
        raw, server_hostname="api.put.io")
    with tls:
        tls.sendall(b"GET /v2/account/info HTTP/1.1\r\nHost: api.put.io\r\n\r\n")
        answer = http.client.HTTPResponse(tls)  # the whole answer, however many TLS records
        answer.begin()
        assert answer.status == 200 and answer.read()
        front.stop()
        try:
            leftover = tls.recv(4096)
        except (ssl.SSLError, OSError):
            leftover = b""
        assert leftover == b""
    assert not ca_file.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10).close()


@requires_rclone
def test_rclone_lists_the_root_through_the_front(front: TlsFront, stand_in: StandIn,
                                                 tmp_path: Path) -> None:
    rclone = rclone_env(front, TOKEN, tmp_path)
    assert not any(TOKEN in arg for arg in rclone.command("lsjson", "putio:"))
    result = rclone.run("lsjson", "putio:")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    listed = {item["Name"]: item for item in json.loads(result.stdout)}
    assert set(listed) == {"Movies", "hello.txt"}
    assert listed["Movies"]["IsDir"] is True
    assert listed["hello.txt"]["IsDir"] is False
    assert listed["hello.txt"]["Size"] == len(HELLO)
    assert listed["hello.txt"]["ModTime"].startswith(STAMP)
    seen = stand_in.seen("/v2/files/list")
    assert seen and seen[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0]["headers"]["Host"] == "api.put.io"


@requires_rclone
def test_rclone_fetches_storage_urls_directly(front: TlsFront, stand_in: StandIn,
                                              tmp_path: Path) -> None:
    result = rclone_env(front, TOKEN, tmp_path).run("cat", "putio:hello.txt")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout == HELLO
    [storage] = stand_in.seen("/storage/hello")
    assert storage["headers"]["Host"] == f"127.0.0.1:{stand_in.server_address[1]}"


@requires_rclone
def test_rclone_uploads_through_the_front(front: TlsFront, stand_in: StandIn,
                                          tmp_path: Path) -> None:
    source = tmp_path / "new.bin"
    source.write_bytes(BIG)
    rclone = rclone_env(front, TOKEN, tmp_path / "rclone")
    result = rclone.run("copyto", str(source), "putio:new.bin")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert bytes(stand_in.uploaded) == BIG
    [patch] = stand_in.seen("/files/upload-1")
    assert patch["method"] == "PATCH" and patch["headers"]["Host"] == "upload.put.io"
    assert patch["headers"]["Transfer-Encoding"] == "chunked"  # no Content-Length: streamed


def test_putio_sdk_lists_the_root_and_restores_its_urls(stand_in: StandIn) -> None:
    putiopy = pytest.importorskip("putiopy")
    def urls() -> tuple[str, str, str]:
        return putiopy.BASE_URL, putiopy.UPLOAD_URL, putiopy.TUS_UPLOAD_URL

    before = urls()
    with putio_sdk(stand_in.url + "/v2", TOKEN) as client:
        assert urls() == (f"{stand_in.url}/v2", f"{stand_in.url}/v2/files/upload",
                          f"{stand_in.url}/files/")
        files = client.File.list()
    assert [(f.id, f.name, f.size) for f in files] == [(11, "Movies", 0),
                                                      (12, "hello.txt", len(HELLO))]
    assert files[0].content_type == "application/x-directory"
    [seen] = stand_in.seen("/v2/files/list")
    assert seen["headers"]["Authorization"] == f"token {TOKEN}"
    assert urls() == before
