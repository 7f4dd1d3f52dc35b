"""Log redaction of signed URLs and private log files (no mount, no emulator)."""

from __future__ import annotations

import os
import secrets
import stat
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from requests.adapters import HTTPAdapter

from putiofs import logs
from putiofs.read.fetcher import RangeFetcher
from putiofs.read.reader import StreamReader
from tests.support.serving import serve

DATA = bytes(range(256)) * 40


class _Cdn(BaseHTTPRequestHandler):
    """``/stream/<id>`` answers 302 to ``/signed/<id>.<nonce>?Expires=1&u=<nonce>``, which
    serves the bytes to anyone: a CDN's signed link."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/stream/"):
            nonce = secrets.token_hex(8)
            self.send_response(302)
            self.send_header("Location", f"/signed/{self.path[8:]}.{nonce}?Expires=1&u={nonce}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.signed.append(self.path)
        first, _, last = self.headers["Range"].removeprefix("bytes=").partition("-")
        end = int(last) + 1 if last else len(DATA)
        body = DATA[int(first):end]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{end - 1}/{len(DATA)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _CustomAdapter(HTTPAdapter):
    """Not the plain adapter: the reader then goes through ``session.get``."""


@pytest.mark.parametrize("path", ["direct pool", "session.get"])
def test_where_a_read_was_redirected_is_masked_in_every_log_line(path):
    with serve(_Cdn) as server:
        server.signed = []
        session = requests.Session()
        if path == "session.get":
            session.mount("http://", _CustomAdapter())
        fetcher = RangeFetcher(session, lambda refresh: f"{server.base}/stream/77", len(DATA),
                               label="item 77")
        reader = StreamReader(fetcher, len(DATA), label="item 77")
        try:
            assert reader.read(0, len(DATA)) == DATA
        finally:
            reader.close()
            session.close()
    assert server.signed, "the read went through the redirect"
    for signed in server.signed:
        line = f'http://127.0.0.1:1 "GET {signed} HTTP/1.1" 206 10240'
        assert signed.split("?")[0] not in logs.redact(line)
        assert signed.split("?")[1] not in logs.redact(line)


def test_signature_like_query_parameters_are_masked():
    line = ("GET /f?u=abc123&signature=def456&X-Amz-Signature=0a1b&token=t0k&oauth_token=o4"
            "&sig=s1g&access_token=a2&keep=visible HTTP/1.1")
    redacted = logs.redact(line)
    for value in ("abc123", "def456", "0a1b", "t0k", "o4", "s1g", "a2"):
        assert f"={value}" not in redacted
    assert "keep=visible" in redacted and redacted.count("***") == 7


def test_a_registered_download_link_is_masked_by_path_and_query():
    link = f"https://cdn.example/files/{secrets.token_hex(10)}/movie.mkv?Expires=99&opaque=zz99"
    logs.register_url_secret(link)
    redacted = logs.redact(f"GET {link} 200")
    assert "/files/" not in redacted and "opaque=zz99" not in redacted
    assert "cdn.example" in redacted, "the host is no secret and helps reading the log"


def test_log_files_are_created_private_and_loose_ones_narrowed(tmp_path):
    old = os.umask(0)
    try:
        fresh = tmp_path / "new" / "putiofs.log"
        logs.make_private(fresh)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
        assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
        loose = tmp_path / "loose.log"
        loose.write_text("earlier lines\n")
        loose.chmod(0o644)
        logs.make_private(loose)
        assert stat.S_IMODE(loose.stat().st_mode) == 0o600
        assert loose.read_text() == "earlier lines\n", "an existing log is appended to"
    finally:
        os.umask(old)


def test_signed_links_are_kept_in_a_bounded_set(monkeypatch):
    """A long session opens many files, each with a new signed link: memory stays bounded and
    the links of the files open now stay masked."""
    monkeypatch.setattr(logs, "MAX_URL_SECRETS", 100)
    links = [f"http://cdn.example/_data/{secrets.token_hex(12)}" for _ in range(150)]
    for link in links:
        logs.register_url_secret(link)
    assert len(logs._url_secrets) <= 100
    for link in links[-50:]:
        assert "/_data/" not in logs.redact(f'"GET {link[len("http://cdn.example"):]} HTTP/1.1"')


_RUN_LOGGING = """
import logging, os, sys
from pathlib import Path
from putiofs.logs import setup_logging
if sys.argv[1] == "journal":
    st = os.fstat(2)
    os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
elif sys.argv[1] == "elsewhere":
    os.environ["JOURNAL_STREAM"] = "1:2"   # the unit's journal, but stderr went elsewhere
setup_logging(log_file=Path("-"), level=sys.argv[2])
log = logging.getLogger("putiofs.test")
log.debug("a debug line")
log.info("an info line")
log.warning("a warning line")
try:
    raise ValueError("boom")
except ValueError:
    log.error("an error line", exc_info=True)
logging.getLogger("urllib3").warning("urllib3 warns")
"""


def _logged(mode: str, level: str) -> list[str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _RUN_LOGGING, mode, level],
                          capture_output=True, text=True, check=True, timeout=30)
    assert done.stdout == ""
    return done.stderr.splitlines()


def test_under_the_journal_every_line_has_its_priority_and_no_timestamp():
    lines = _logged("journal", "info")
    assert lines[:3] == ["<6>putiofs.test: an info line", "<4>putiofs.test: a warning line",
                         "<3>putiofs.test: an error line"]
    traceback = lines[3:-1]
    assert traceback and all(line.startswith("<3>") for line in traceback)
    assert traceback[-1] == "<3>ValueError: boom"
    assert lines[-1] == "<4>urllib3: urllib3 warns"


def test_log_level_leaves_out_the_less_severe_lines():
    lines = _logged("journal", "error")
    assert [line for line in lines if not line.startswith("<3>")] == []
    assert "<3>putiofs.test: an error line" in lines
    assert any("debug line" in line for line in _logged("journal", "debug"))


def test_stderr_that_is_not_the_journal_gets_timestamps_and_level_names():
    lines = _logged("elsewhere", "warning")
    assert lines[0].endswith(" WARNING putiofs.test: a warning line")
    assert lines[0][:4].isdigit()   # 2025-...: our own timestamp
    assert not any(line.startswith("<") for line in lines)
    assert not any("info line" in line for line in lines)


@pytest.mark.parametrize(("level", "priority"), [
    (10, 7), (20, 6), (30, 4), (40, 3), (50, 2), (25, 6), (5, 7)])
def test_journal_priorities_are_syslogs(level, priority):
    assert logs.journal_priority(level) == priority
