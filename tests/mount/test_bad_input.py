"""Bad input on a real mount: odd names from put.io, odd names from the user, odd answers.

Each case ends in its documented result (see ``putiofs/names.py`` and the README) and never in a
traceback in the mount log (the mount fixture fails the test on one). The emulator cases run on
both API versions; the careless server speaks v1 only.
"""

from __future__ import annotations

import errno
import json
import os
import unicodedata
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from putiofs.tree import names
from tests.support.errnos import errno_of
from tests.support.mounting import requires_fuse
from tests.support.serving import serve
from tests.support.versions import api_only, version_of

pytestmark = requires_fuse


def test_names_from_put_io_become_valid_distinct_entries(server_factory, mount_factory):
    server = server_factory()
    account = server.account
    files = {
        "a/b.txt": "a\u2215b.txt",
        "tab\there.txt": "tab\there.txt",
        "new\nline.txt": "new\nline.txt",
        "esc\x1b[31m.txt": "esc\x1b[31m.txt",
        "..": None,
        "x" * 300 + ".mkv": None,
    }
    ids = {name: account.add_file("0", name, data=name.encode()) for name in files}
    first_dup = account.add_file("0", "dup.txt", data=b"first")
    second_dup = account.add_file("0", "dup.txt", data=b"second")
    mount = mount_factory(server)
    listed = set(os.listdir(mount.path))

    for name, shown in files.items():
        if shown is None:
            shown = names.suffixed(names.clean(name), ids[name])
        assert shown in listed, (name, sorted(listed))
        assert len(shown.encode()) <= 255
        assert (mount.path / shown).read_bytes() == name.encode()
    assert (mount.path / "dup.txt").read_bytes() == b"first"
    assert (mount.path / f"dup [#{second_dup}].txt").read_bytes() == b"second"
    assert int(first_dup) < int(second_dup)
    assert ".." not in [p.name for p in mount.path.iterdir()]


def test_unicode_normalisation_exact_first_then_unambiguous_nfc(server_factory,
                                                                mount_factory):
    server = server_factory()
    nfd = unicodedata.normalize("NFD", "café.txt")
    server.account.add_file("0", nfd, data=b"decomposed")
    server.account.add_file("0", "nai\u0308ve.txt", data=b"nfd only")
    server.account.add_file("0", "\u00e9t\u00e9.txt", data=b"composed")
    server.account.add_file("0", "e\u0301t\u00e9.txt", data=b"half")
    # Two spellings that normalise alike, neither of them NFC: a typed NFC name is ambiguous.
    server.account.add_file("0", "e\u0323\u0302.txt", data=b"one")
    server.account.add_file("0", "e\u0302\u0323.txt", data=b"two")
    mount = mount_factory(server)

    listed = set(os.listdir(mount.path))
    assert nfd in listed and "café.txt" not in listed, "listings show names as put.io has them"
    assert (mount.path / nfd).read_bytes() == b"decomposed"
    assert (mount.path / "café.txt").read_bytes() == b"decomposed", "NFC finds the NFD name"
    assert (mount.path / "naïve.txt").read_bytes() == b"nfd only"
    assert (mount.path / "\u00e9t\u00e9.txt").read_bytes() == b"composed", "exact match wins"
    assert (mount.path / "e\u0301t\u00e9.txt").read_bytes() == b"half"
    assert errno_of(lambda: (mount.path / "\u1ec7.txt").stat()) == errno.ENOENT
    assert (mount.path / "e\u0323\u0302.txt").read_bytes() == b"one"


def test_names_typed_in_the_mount(server_factory, mount_factory):
    server = server_factory()
    mount = mount_factory(server)
    root = os.fsencode(mount.path)

    longest = "é" * 127 + "x"  # 255 bytes
    os.mkdir(mount.path / longest)
    assert any(c["name"] == longest for c in server.account.children("0"))
    assert errno_of(lambda: os.mkdir(mount.path / (longest + "y"))) == errno.ENAMETOOLONG
    assert errno_of(lambda: os.rename(mount.path / longest,
                                      mount.path / ("z" * 256))) == errno.ENAMETOOLONG
    assert errno_of(lambda: os.stat(mount.path / ("z" * 256))) == errno.ENAMETOOLONG

    os.mkdir(mount.path / "with\u2215slash")
    # v1 stores a typed '∕' as '/'; v2 refuses '/' in names, so there it is kept as typed
    stored = "with/slash" if version_of(server) == "v1" else "with\u2215slash"
    assert any(c["name"] == stored for c in server.account.children("0"))
    os.mkdir(mount.path / "tab\there")
    assert any(c["name"] == "tab\there" for c in server.account.children("0"))

    not_utf8 = root + b"/bad\xff\xfename"
    assert errno_of(lambda: os.stat(not_utf8)) == errno.ENOENT
    assert errno_of(lambda: os.mkdir(not_utf8)) == errno.EINVAL
    assert errno_of(lambda: os.rename(os.fsencode(mount.path / longest), not_utf8)) \
        == errno.EINVAL
    assert len(server.account.children("0")) == 3
    assert "Uncaught exception" not in mount.log()


def test_an_item_deleted_after_listing_reads_as_enoent(server_factory, mount_factory):
    server = server_factory()
    keep = server.account.add_file("0", "keep.bin", data=b"k" * 1000)
    gone = server.account.add_file("0", "gone.bin", data=b"g" * 1000)
    mount = mount_factory(server, "--cache-ttl", "60")
    assert (mount.path / "keep.bin").read_bytes()  # v1's stream token, v2's URL of keep.bin
    assert sorted(os.listdir(mount.path)) == ["gone.bin", "keep.bin"]
    server.account.delete(gone)
    assert errno_of(lambda: (mount.path / "gone.bin").read_bytes()) == errno.ENOENT
    assert keep


# -- a server that answers badly -----------------------------------------------------------------

GOOD = b"hello, world"


class _BadServer(BaseHTTPRequestHandler):
    """put.io v1 as a careless server might answer it (raw JSON text, to send what json.dumps
    would not: lone surrogates)."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        method = parse_qs(urlsplit(self.path).query).get("method", [""])[0]
        service = urlsplit(self.path).path.rsplit("/", 1)[-1]
        params = json.loads(form["request"][0]).get("params") or {}
        data = self.server.data_url
        ok = '{"user_id": 1, "error": null, "error_message": null, "response": {"results": %s}}'
        if (service, method) == ("user", "info"):
            body = ok % '[{"username": "x", "disk_quota": "1000000", "disk_quota_available": 5}]'
        elif (service, method) == ("user", "acctoken"):
            body = ok % '{"token": "stubtoken-0123"}'
        elif (service, method) == ("files", "list") and params.get("parent_id") == "0":
            body = ok % ("[" + ", ".join([
                '{"id": "11", "name": "bad\\ud800name.txt", "size": "12", "is_dir": false,'
                f' "parent_id": "0", "download_url": "{data}/11"}}',
                f'{{"id": 12, "name": "wrong range.bin", "size": 12, "is_dir": "0",'
                f' "download_url": "{data}/12"}}',
                '{"id": "13", "size": null}',
                '{"id": "14", "name": "weird size", "size": "lots", "is_dir": "maybe"}',
                '{"id": "15", "name": ["a", "list"], "is_dir": 0}',
                '{"id": "16", "name": "results not a list", "is_dir": true}',
                '{"id": "17", "name": "not an envelope", "is_dir": "1"}',
                '"junk", 42, null',
            ]) + "]")
        elif (service, method) == ("files", "list") and params.get("parent_id") == "16":
            body = ok % '"not a list"'
        elif (service, method) == ("files", "list"):
            body = '[1, 2, 3]'
        else:
            body = json.dumps({"error": True, "error_message": f"Unknown method: {method}"})
        payload = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        item = self.path.split("/")[2]
        start, _, end = self.headers.get("Range", "bytes=0-").removeprefix("bytes=").partition("-")
        first, last = int(start), int(end) if end else len(GOOD) - 1
        body = GOOD[first:last + 1]
        shown = (first, last) if item == "11" else (first + 1, last + 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {shown[0]}-{shown[1]}/{len(GOOD)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def bad_server():
    with serve(_BadServer) as httpd:
        httpd.data_url = f"{httpd.base}/data"

        class Remote:
            base_url = f"{httpd.base}/v1"

        yield Remote


@api_only("v1", "a hand-written server answering put.io v1's envelopes badly")
def test_bad_answers_parse_leniently_or_fail_with_eio(bad_server, mount_factory):
    mount = mount_factory(bad_server, "--timeout", "5")
    listed = set(os.listdir(mount.path))
    assert listed == {"bad\ufffdname.txt", "wrong range.bin", " [#13]",
                      "['a', 'list']", "results not a list", "not an envelope"}
    assert (mount.path / "bad\ufffdname.txt").read_bytes() == GOOD, "lone surrogate replaced"
    assert errno_of(lambda: (mount.path / "weird size").stat()) == errno.ENOENT, \
        "a file whose size is not a byte count is left out, never shown with another size"
    assert os.path.isfile(mount.path / "['a', 'list']")
    assert errno_of(lambda: (mount.path / "wrong range.bin").read_bytes()) == errno.EIO, \
        "a Content-Range that does not match is an error, never data"
    assert errno_of(lambda: os.listdir(mount.path / "results not a list")) == errno.EIO
    assert errno_of(lambda: os.listdir(mount.path / "not an envelope")) == errno.EIO
    assert mount.process.poll() is None
    assert "Content-Range" in mount.log()
    assert Path(mount.path).is_dir()
