"""The v1 emulator's file data URLs: tokens, Basic auth, Range, HEAD, redirect, keep-alive,
stats."""

from __future__ import annotations

import http.client
import logging
import re
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import raw_call

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable


def token(server) -> str:
    body = raw_call(server, "user", "acctoken").json()
    results = body["response"]["results"]
    if server.options.dialect == "legacy":
        assert isinstance(results, dict)
        return results["token"]
    assert isinstance(results, list) and len(results) == 1
    return results[0]["token"]


@pytest.fixture
def payload_file(emulator) -> tuple[str, str]:
    """(id, stream url with a fresh token) of a 10 KiB binary file."""
    file_id = emulator.account.add_file("0", "payload.bin", PAYLOAD)
    url = f"{emulator.root_url}/stream/{emulator.account.user_id}/{file_id}/atk/{token(emulator)}"
    return file_id, url


def get(url: str, range_header: str | None = None, headers: dict | None = None,
        **kwargs) -> requests.Response:
    headers = dict(headers or {})
    if range_header is not None:
        headers["Range"] = range_header
    return requests.get(url, headers=headers, timeout=10, allow_redirects=False, **kwargs)


def test_acctoken_shapes(emulator, legacy_emulator):
    first, second = token(emulator), token(emulator)
    assert isinstance(first, str) and len(first) >= 16 and first != second
    assert isinstance(token(legacy_emulator), str)


@pytest.mark.parametrize("kind", ["download-file", "stream"])
def test_token_serves_whole_file(emulator, payload_file, kind):
    file_id, _ = payload_file
    tok = token(emulator)
    resp = get(f"{emulator.root_url}/{kind}/{emulator.account.user_id}/{file_id}/atk/{tok}")
    assert resp.status_code == 200
    assert resp.content == PAYLOAD == emulator.account.file_bytes(file_id)
    assert resp.headers["Content-Length"] == str(len(PAYLOAD))
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Type"] == "application/octet-stream"


def test_download_url_from_listing_with_basic_auth(emulator):
    items = raw_call(emulator, "files", "list", {"parent_id": "0"}).json()["response"]["results"]
    readme = next(i for i in items if i["name"] == "README.txt")
    resp = get(readme["download_url"], auth=("demo", "demo"))
    assert resp.status_code == 200
    assert resp.content == emulator.account.file_bytes(readme["id"])
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert get(readme["download_url"], auth=("demo", "wrong")).status_code == 401
    missing = get(readme["download_url"])
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert missing.json()["error"] is True


def test_legacy_stream_url_plus_token(legacy_emulator):
    items = raw_call(legacy_emulator, "files", "search", {"query": "type:video"}).json()
    video = items["response"]["results"][0]
    resp = get(f"{video['stream_url']}/atk/{token(legacy_emulator)}")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "video/mp4"
    assert resp.content[4:8] == b"ftyp"


def test_bad_and_expired_tokens(emulator_factory):
    server = emulator_factory(demo=True, token_ttl=0.3)
    file_id = server.account.add_file("0", "t.bin", b"abc")
    base = f"{server.root_url}/stream/{server.account.user_id}/{file_id}"
    tok = token(server)
    assert get(f"{base}/atk/{tok}").content == b"abc"
    assert get(f"{base}/atk/not-a-token").status_code == 401
    time.sleep(0.4)
    expired = get(f"{base}/atk/{tok}")
    assert expired.status_code == 403 and expired.json()["error"] is True
    assert get(f"{base}/atk/{token(server)}").status_code == 200


def test_unknown_ids_and_folders(emulator):
    tok = token(emulator)
    uid = emulator.account.user_id
    assert get(f"{emulator.root_url}/stream/{uid}/987654/atk/{tok}").status_code == 404
    assert get(f"{emulator.root_url}/stream/{uid + 1}/1/atk/{tok}").status_code == 404
    folder = emulator.account.add_folder("0", "dir")
    resp = get(f"{emulator.root_url}/stream/{uid}/{folder}/atk/{tok}")
    assert resp.status_code == 400 and resp.json()["error"] is True


# ---------------------------------------------------------------------------------- Range

RANGES = [
    ("bytes=0-0", 0, 0),
    ("bytes=10239-10239", 10239, 10239),
    ("bytes=-10", 10230, 10239),
    ("bytes=10000-", 10000, 10239),
    ("bytes=100-199", 100, 199),
    ("bytes=10200-99999", 10200, 10239),
    ("bytes=-99999", 0, 10239),
    ("BYTES=5-6", 5, 6),
]


@pytest.mark.parametrize(("header", "first", "last"), RANGES)
def test_satisfiable_ranges(payload_file, header, first, last):
    resp = get(payload_file[1], header)
    assert resp.status_code == 206
    assert resp.content == PAYLOAD[first : last + 1]
    assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{len(PAYLOAD)}"
    assert resp.headers["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize(
    "header", ["bytes=10240-", "bytes=10240-10300", "bytes=99999-", "bytes=-0"]
)
def test_unsatisfiable_ranges(payload_file, header):
    resp = get(payload_file[1], header)
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(PAYLOAD)}"


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=-", "bytes=0-1,5-6", "bytes=0-0, -1",
               "0-5"]
)
def test_malformed_or_multiple_ranges_get_the_whole_body(payload_file, header):
    resp = get(payload_file[1], header)
    assert resp.status_code == 200
    assert resp.content == PAYLOAD
    assert "Content-Range" not in resp.headers


def test_zero_length_file(emulator):
    file_id = emulator.account.add_file("0", "nothing.txt", b"")
    url = f"{emulator.root_url}/stream/{emulator.account.user_id}/{file_id}/atk/{token(emulator)}"
    whole = get(url)
    assert whole.status_code == 200 and whole.content == b""
    assert whole.headers["Content-Length"] == "0"
    for header in ("bytes=0-0", "bytes=0-", "bytes=-1"):
        resp = get(url, header)
        assert resp.status_code == 416 and resp.headers["Content-Range"] == "bytes */0"


def test_head(payload_file):
    resp = requests.head(payload_file[1], timeout=10)
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["Content-Length"] == str(len(PAYLOAD))
    ranged = requests.head(payload_file[1], headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.headers["Content-Length"] == "10"
    assert ranged.headers["Content-Range"] == f"bytes 10-19/{len(PAYLOAD)}"


def test_validators_are_stable_and_if_range_works(payload_file):
    first, second = get(payload_file[1]), get(payload_file[1], "bytes=0-1")
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Last-Modified"] == second.headers["Last-Modified"]
    matching = get(payload_file[1], "bytes=0-1", headers={"If-Range": first.headers["ETag"]})
    assert matching.status_code == 206
    stale = get(payload_file[1], "bytes=0-1", headers={"If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == PAYLOAD


def test_data_url_refuses_other_methods(payload_file):
    resp = requests.post(payload_file[1], timeout=10)
    assert resp.status_code == 405 and resp.json()["error"] is True


# ------------------------------------------------------------------------------- redirect


def test_redirect_mode(emulator_factory):
    server = emulator_factory(demo=True, redirect=True)
    file_id = server.account.add_file("0", "cdn.bin", PAYLOAD)
    url = f"{server.root_url}/download-file/{server.account.user_id}/{file_id}"
    assert get(url).status_code == 401
    hop = get(url, auth=("demo", "demo"))
    assert hop.status_code == 302
    target = hop.headers["Location"]
    assert target.startswith(f"{server.root_url}/_data/")
    signed = urlsplit(target).path.rsplit("/", 1)[1]
    # the id is not in the link as a word of its own (the signature's random letters and
    # digits may hold its digits by chance)
    assert str(file_id) not in re.split(r"[^0-9A-Za-z]+", signed)
    assert get(target).content == PAYLOAD
    ranged = get(target, "bytes=-4")
    assert ranged.status_code == 206 and ranged.content == PAYLOAD[-4:]
    assert requests.head(target, timeout=10).headers["Content-Length"] == str(len(PAYLOAD))
    followed = requests.get(f"{url}/atk/{token(server)}", timeout=10)
    assert followed.status_code == 200 and followed.content == PAYLOAD
    forged = target[:-3] + ("AAA" if not target.endswith("AAA") else "BBB")
    assert get(forged).status_code == 404


def test_redirect_links_expire(emulator_factory):
    server = emulator_factory(demo=True, redirect=True, token_ttl=0.4)
    file_id = server.account.add_file("0", "cdn.bin", b"abc")
    url = f"{server.root_url}/download-file/{server.account.user_id}/{file_id}"
    target = get(url, auth=("demo", "demo")).headers["Location"]
    assert get(target).status_code == 200
    time.sleep(0.5)
    assert get(target).status_code == 403


# ------------------------------------------------------------------------------ keep-alive


def test_keep_alive_after_full_bodies(payload_file, emulator):
    parts = urlsplit(payload_file[1])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path)
        first = conn.getresponse()
        assert first.read() == PAYLOAD
        sock = conn.sock
        for headers, status in (({"Range": "bytes=1-2"}, 206), ({"Range": "bytes=99999-"}, 416),
                                ({}, 200)):
            conn.request("GET", parts.path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == status
            assert conn.sock is sock, "the connection was not kept alive"
        conn.request("GET", "/no/such/path")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404 and conn.sock is sock
        conn.request("POST", "/v1/files?method=list",
                     body="request=" + '{"api_key":"demo","api_secret":"demo"}',
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        assert resp.status == 200 and b'"results"' in resp.read()
        assert conn.sock is sock
    finally:
        conn.close()


def test_session_reuses_one_connection(emulator):
    with requests.Session() as session:
        for _ in range(3):
            assert raw_call(emulator, "files", "list", session=session).status_code == 200
        pool = next(iter(session.adapters["http://"].poolmanager.pools._container.values()))
        assert pool.num_connections == 1


def test_client_closing_mid_body_is_harmless(emulator, caplog):
    big = bytes(4 * 1024 * 1024)
    file_id = emulator.account.add_file("0", "big.bin", big)
    path = f"/stream/{emulator.account.user_id}/{file_id}/atk/{token(emulator)}"
    with caplog.at_level(logging.DEBUG, logger="putiofs.emulator"):
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", emulator.port), timeout=10)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
            sock.close()
        time.sleep(0.2)
        resp = get(f"{emulator.root_url}{path}", "bytes=0-9")
    assert resp.status_code == 206 and resp.content == big[:10]
    assert "Traceback" not in caplog.text and not caplog.records


def test_large_file_from_disk_in_ranges(emulator_factory, tmp_path):
    data = bytes((i * 7) % 251 for i in range(3 * 1024 * 1024 + 5))
    (tmp_path / "disk.bin").write_bytes(data)
    server = emulator_factory(data_dir=tmp_path)
    file_id = server.account.children("0")[0]["id"]
    url = f"{server.root_url}/stream/{server.account.user_id}/{file_id}/atk/{token(server)}"
    assert get(url).content == data
    resp = get(url, "bytes=1048570-2097160")
    assert resp.content == data[1048570:2097161]


# ---------------------------------------------------------------------------------- stats


def test_stats_and_reset(emulator, payload_file):
    emulator.reset_stats()
    raw_call(emulator, "files", "list")
    raw_call(emulator, "files", "list", via="get")
    raw_call(emulator, "user", "info")
    get(payload_file[1], "bytes=0-99")
    requests.head(payload_file[1], timeout=10)
    stats = requests.get(f"{emulator.root_url}/_emulator/stats", timeout=10).json()
    assert stats == emulator.stats()
    assert stats["requests"] == {"files.list": 2, "user.info": 1}
    assert stats["requests_total"] == 3
    assert stats["data_requests"] == 2
    assert stats["bytes_served"] == 100
    reset = requests.post(f"{emulator.root_url}/_emulator/reset", timeout=10)
    assert reset.status_code == 200
    assert emulator.stats() == {"requests": {}, "requests_total": 0, "data_requests": 0,
                                "bytes_served": 0}
    assert requests.get(f"{emulator.root_url}/_emulator/reset", timeout=10).status_code == 404


def test_file_gone_from_disk_is_a_json_error(emulator_factory, tmp_path, caplog):
    (tmp_path / "vanishing.txt").write_bytes(b"soon gone")
    server = emulator_factory(data_dir=tmp_path)
    file_id = server.account.children("0")[0]["id"]
    (tmp_path / "vanishing.txt").unlink()
    url = f"{server.root_url}/stream/{server.account.user_id}/{file_id}"
    with caplog.at_level(logging.ERROR, logger="putiofs.emulator"):
        resp = get(url, auth=("demo", "demo"))
    assert resp.status_code == 500 and resp.json()["error_message"] == "File data unavailable"
    assert "Traceback" not in caplog.text
    assert get(url, "bytes=0-1", auth=("demo", "demo")).status_code == 500
