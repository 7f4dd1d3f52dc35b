"""The put.io v1 emulator's HTTP server.

Wire format decisions (where the spec is silent, these are ours):

* API calls are ``/v1/<service>?method=<name>``. The request JSON ``{"api_key", "api_secret",
  "params"}`` is read from the ``request`` query parameter (GET) or from the ``request`` field
  of a form-encoded POST body; both are accepted for every method. ``params`` may be absent or
  null. Unknown parameter names are ignored.
* Dialect "doc" (default) follows the document: success is ``{"user_id", "response":
  {"results": [...]}, "error": null, "error_message": null}`` with HTTP 200, and every error is
  HTTP 200 with ``"error": true``. Dialect "legacy" is the live server as put.io's own v1
  client library saw it: ``"error": false`` plus top-level ``"id"`` and ``"user_name"`` on
  success; an unknown service or method and a missing or invalid parameter answer HTTP 404, a
  server fault HTTP 500, other errors HTTP 200. The error envelope is the same in both:
  ``{"user_id": <int or null>, "response": {"results": []}, "error": true, "error_message"}``;
  ``user_id`` is null when the credentials were not (yet) accepted.
* Error messages are fixed phrases clients may classify on: "Invalid api_key or api_secret",
  "Item not found" (also "Message", "Transfer", "Subscription"), "Missing parameter: <name>",
  "Invalid parameter: <name>", "Unknown service: <s>", "Unknown method: <m>", "Malformed
  request", "Cannot move a folder into itself or its own subtree", "Target is not a folder",
  "Internal server error" (a handler fault), "Not found" (a path outside the API).
* Items carry exactly the spec's ten attributes (``id``, ``size``, ``parent_id`` strings,
  ``is_dir`` boolean); the legacy dialect adds ``stream_url``, ``zip_url`` (not served: it
  answers 501) and ``folder_icon_url``. The root folder is id "0"; ``files?method=info`` with
  id 0 answers it with ``parent_id`` null and name "Your Files". Folder sizes are the sum of
  their subtree (computed without recursion: nesting depth is unlimited).
* ``files?method=dirmap`` in the legacy dialect answers the root folder object itself as
  ``results`` (``{id, name, dirs, shared, default_shared}``, each folder of ``dirs`` alike), as
  put.io's v1 library reads it; ``shared`` marks a folder a friend shares. Legacy
  ``urls?method=analyze`` items carry an integer ``size`` next to ``file_size`` and
  ``paid_bw``, and a multipart item its ``parts`` (one single-url object per part).
* ``--data``: a file or folder name that is not valid UTF-8 is listed with U+FFFD in place of
  each undecodable byte (put.io stores names as text); its bytes are still served from disk.
* ``files?method=list``: ``limit`` defaults to 20 and is clamped to 2000; ``offset`` and
  ``limit`` must be non-negative / positive integers (or digit strings). ``orderby`` sorts by id,
  type code, name (case-folded), extension (folders have none) or creation time; ties are broken
  by id and ``_desc`` reverses the whole order, so every order is total and deterministic.
* Data URLs: ``download_url`` is ``{root}/download-file/{user_id}/{id}``, the stream URL
  ``{root}/stream/{user_id}/{id}``; both serve bytes when followed by ``/atk/<token>`` (from
  ``user?method=acctoken``) or with HTTP Basic auth api_key:api_secret. No or an unknown token
  or bad Basic credentials: 401; an expired token: 403; unknown item: 404; a folder: 400; a
  ``--data`` file gone from disk: 500; methods other than GET/HEAD: 405. Range
  follows RFC 9110 for a single range; a malformed or multi-range header gets the whole body
  (200). With ``redirect`` they answer 302 to ``{root}/_data/<signed id>``, which needs no
  further auth and stays valid for ``token_ttl`` seconds. Error bodies there are the JSON
  error envelope too.
* The account: user id 1001, user name "demo". Files sort and search by an internal creation
  time (``--data``: the files' mtimes). ``files?method=search`` returns matches in id order;
  the doc dialect treats the whole query as a name substring, the legacy dialect also takes
  ``from:``, ``type:`` (video, audio, image, text, pdf, document, archive, ...), ``ext:`` and
  ``time:`` operators (an unknown operator value: "Invalid parameter: query"). The demo seeds
  one friend ("alice", sharing the root folder "alice"), two messages and one subscription;
  an empty or ``--data`` account has none. Legacy ``user?method=info`` quota fields are byte
  strings; ``friends_count`` and ``shared_items`` are integers. Friend ``id`` and ``dir_id``
  are strings (like item ids).
* Transfers: progress is computed from time when read. Waiting for the first 10% of
  ``transfer_seconds``, then Downloading, then Completed (the file appears in the root and a
  dashboard message is posted); completed transfers stay listed until cancelled. A failing
  link lists with ``id`` and ``percent_done`` null (as the spec's sample) and is dropped after
  ``max(transfer_seconds, 1)`` seconds. Fetched files hold 2-6 KiB of bytes derived from the
  link; ``urls?method=analyze`` reports the same sizes.
* Movies and images have ``screenshot_url`` / ``thumb_url`` serving a small JPEG; every item's
  ``file_icon_url`` serves a small PNG. Neither needs credentials.
* ``GET /_emulator/stats`` counts API requests per "service.method" (as requested, even when
  the call failed), ``data_requests`` (GET/HEAD on download, stream and ``/_data`` URLs: a
  redirected read counts twice) and ``bytes_served`` (file body bytes actually written).
  ``POST /_emulator/reset`` zeroes them.
* Secrets never reach a log: there is no access log, and faults are logged with the path only
  (tokens and signed ids redacted).
* Fault injection (issue 6) goes through one hook, ``EmulatorOptions.faults`` (see
  :mod:`putiofs.emulator.faults`), consulted once per request.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import re
import secrets
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from putiofs.emulator import api, jsontext
from putiofs.emulator.data import UNSATISFIABLE, parse_range, sign_data_id, verify_data_id
from putiofs.emulator.faults import Fault, Faults, RequestInfo
from putiofs.emulator.filetypes import content_type
from putiofs.emulator.seed import seed_demo, seed_directory
from putiofs.emulator.state import Account, ApiError, FileSource

log = logging.getLogger("putiofs.emulator")

_MAX_BODY = 8 * 1024 * 1024
_DATA_PREFIXES = ("download-file", "stream")
_CONNECTION_ERRORS = (ConnectionError, TimeoutError, socket.timeout)
_SCREENSHOT = re.compile(r"/screenshot/(?:b/)?(\d+)\.jpg")
_ICON = re.compile(r"/images/file_types/([a-z_]+)\.png")


@dataclass
class EmulatorOptions:
    """How to run the emulator; see the module docstring for what each switch changes."""

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = "demo"
    api_secret: str = "demo"
    dialect: str = "doc"
    token_ttl: float = 3600.0
    redirect: bool = False
    data_dir: Path | None = None
    demo: bool = False
    transfer_seconds: float = 3.0
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.dialect not in ("doc", "legacy"):
            raise ValueError(f"unknown dialect {self.dialect!r} (doc or legacy)")
        if self.token_ttl <= 0 or self.transfer_seconds < 0:
            raise ValueError("token_ttl must be positive and transfer_seconds not negative")
        if self.demo and self.data_dir is not None:
            raise ValueError("choose either demo or data_dir, not both")


class Stats:
    """Request and byte counters behind ``/_emulator/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: dict[str, int] = {}
            self._data_requests = 0
            self._bytes_served = 0

    def count_api(self, name: str) -> None:
        with self._lock:
            self._requests[name] = self._requests.get(name, 0) + 1

    def count_data(self) -> None:
        with self._lock:
            self._data_requests += 1

    def count_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes_served += n

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "requests_total": sum(self._requests.values()),
                "data_requests": self._data_requests,
                "bytes_served": self._bytes_served,
            }


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(
        b"IEND", b""
    )


_ICON_PNG = _tiny_png()


def _redact(path: str) -> str:
    """A request path safe to log: no query string, no token, no signed data id."""
    path = urlsplit(path).path
    path = re.sub(r"/atk/[^/]*", "/atk/<redacted>", path)
    return re.sub(r"^/_data/.*", "/_data/<redacted>", path)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("emulator: error on a connection")

    def close_connections(self) -> None:
        with self.connections_lock:
            conns, self.connections = list(self.connections), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body in separate writes: no 40 ms delayed-ACK wait
    server_version = "putiofs-emulator"
    timeout = 120
    server: _HTTPServer

    # ------------------------------------------------------------------- connection plumbing

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(_CONNECTION_ERRORS):
            super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _CONNECTION_ERRORS:
            self.close_connection = True

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: request lines can carry credentials (GET) or stream tokens."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (bad request line, unsupported method) as JSON, not HTML."""
        self.close_connection = True
        self._send_json(code, self._error_envelope(message or "Bad request", None))

    def _dispatch(self) -> None:
        self._started = False
        try:
            body = self._read_body()
            if body is None:
                return
            path = urlsplit(self.path).path
            head = path.split("/")[1] if path.count("/") else ""
            if head == "v1":
                self._api(body)
            elif head in _DATA_PREFIXES or head == "_data":
                self._data(path)
            elif head == "download-zip":
                self._send_json(501, self._error_envelope("Zip downloads are not emulated", None))
            elif head == "_emulator":
                self._control(path)
            elif _SCREENSHOT.fullmatch(path) or _ICON.fullmatch(path):
                self._picture(path)
            else:
                self._send_json(404, self._error_envelope("Not found", None))
        except _CONNECTION_ERRORS:
            self.close_connection = True
        except Exception:
            log.exception("emulator: fault while answering %s %s", self.command, _redact(self.path))
            if self._started:
                self.close_connection = True
            else:
                self._send_json(500, self._error_envelope("Internal server error", None))

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a request whose body we cannot take."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.send_error(411, "Chunked request bodies are not supported")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self.send_error(413 if length > 0 else 400, "Bad Content-Length")
            return None
        return self.rfile.read(length) if length else b""

    # ------------------------------------------------------------------------- answering

    @property
    def emulator(self) -> EmulatorServer:
        return self.server.emulator

    def _error_envelope(self, message: str, user_id: int | None) -> dict[str, Any]:
        return {"user_id": user_id, "response": {"results": []}, "error": True,
                "error_message": message}

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                   fault: Fault | None = None) -> None:
        body = jsontext.dumps(payload).encode()
        if fault is not None and fault.malformed_json:
            body = body[: max(1, len(body) // 2)]
        self._started = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self._write_body([body], fault)

    def _write_body(self, chunks: Any, fault: Fault | None, count: bool = False) -> None:
        """Write ``chunks``, applying a fault's stall and mid-body drop."""
        budget = fault.drop_after if fault is not None else None
        if fault is not None and fault.stall and budget is None:
            time.sleep(fault.stall)
        for chunk in chunks:
            if budget is not None and len(chunk) >= budget:
                self.wfile.write(chunk[:budget])
                self._count_bytes(budget if count else 0)
                if fault is not None and fault.stall:
                    time.sleep(fault.stall)
                self._drop()
                return
            self.wfile.write(chunk)
            self._count_bytes(len(chunk) if count else 0)
            if budget is not None:
                budget -= len(chunk)

    def _count_bytes(self, n: int) -> None:
        if n:
            self.emulator.stats_counter.count_bytes(n)
            with self.emulator.account.lock:
                self.emulator.account.bw_used += n

    def _drop(self) -> None:
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _fault(self, kind: str, name: str) -> Fault | None:
        fault = self.emulator.options.faults.choose(RequestInfo(kind, name, self.command))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        return fault

    def _send_fault_status(self, fault: Fault) -> None:
        assert fault.status is not None
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        message = "Too many requests" if fault.status == 429 else "Internal server error"
        self._send_json(fault.status, self._error_envelope(message, None), headers)

    # ------------------------------------------------------------------------------- API

    def _api(self, body: bytes) -> None:
        emulator = self.emulator
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
        service = split.path[len("/v1/"):].strip("/")
        method = (query.get("method") or form.get("method") or [None])[0]
        raw = (form.get("request") or query.get("request") or [None])[0]
        name = f"{service}.{method}"
        emulator.stats_counter.count_api(name)
        fault = self._fault("api", name)
        if fault is not None and fault.status is not None:
            self._send_fault_status(fault)
            return
        legacy = emulator.options.dialect == "legacy"
        status, payload = 200, None
        account = emulator.account
        user_id: int | None = None
        with account.lock:
            account.advance()
            try:
                if method is None:
                    raise ApiError("Missing parameter: method", "param")
                handler = api.find_handler(service, method)
                params = api.check_request(raw, account)
                user_id = account.user_id
                call = api.Call(account, params, emulator.options.dialect, emulator.root_url,
                                emulator.options.token_ttl)
                payload = self._success(handler(call))
            except ApiError as exc:
                if legacy and exc.kind in ("route", "param"):
                    status = 404
                payload = self._error_envelope(exc.message, user_id)
            except Exception:
                log.exception("emulator: fault in %s", name)
                status = 500 if legacy else 200
                payload = self._error_envelope("Internal server error", user_id)
        self._send_json(status, payload, fault=fault)

    def _success(self, results: Any) -> dict[str, Any]:
        account = self.emulator.account
        if self.emulator.options.dialect == "legacy":
            return {"id": account.user_id, "user_id": account.user_id,
                    "user_name": account.user_name, "response": {"results": results},
                    "error": False, "error_message": None}
        return {"user_id": account.user_id, "response": {"results": results}, "error": None,
                "error_message": None}

    # ------------------------------------------------------------------------ file data

    def _data_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, self._error_envelope(message, None), headers)

    def _data(self, path: str) -> None:
        emulator = self.emulator
        emulator.stats_counter.count_data()
        if self.command not in ("GET", "HEAD"):
            self._data_error(405, "Method not allowed", {"Allow": "GET, HEAD"})
            return
        parts = path.strip("/").split("/")
        fault = self._fault("data", "data")
        if fault is not None and fault.status is not None:
            self._send_fault_status(fault)
            return
        if parts[0] == "_data":
            item_id, expired = verify_data_id(emulator.signing_key, "/".join(parts[1:]),
                                              time.time())
            if item_id is None:
                self._data_error(404, "Not found")
            elif expired:
                self._data_error(403, "Link expired")
            else:
                self._serve_item(item_id, parts[0], fault)
            return
        shape_ok = len(parts) == 3 or (len(parts) == 5 and parts[3] == "atk")
        if not shape_ok or parts[1] != str(emulator.account.user_id) or not parts[2].isdigit():
            self._data_error(404, "Not found")
            return
        denial = self._check_data_auth(parts[4] if len(parts) == 5 else None)
        if denial is not None:
            self._data_error(*denial)
            return
        item_id = int(parts[2])
        if emulator.options.redirect:
            try:
                emulator.account.file_source(item_id)
            except ApiError as exc:
                self._data_error(404 if exc.kind == "not_found" else 400, exc.message)
                return
            expires = time.time() + emulator.options.token_ttl
            signed = sign_data_id(emulator.signing_key, item_id, expires)
            target = f"{emulator.root_url}/_data/{signed}"
            self._started = True
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._serve_item(item_id, parts[0], fault)

    def _check_data_auth(self, token: str | None) -> tuple[int, str, dict[str, str]] | None:
        """None when the request may read file data, else (status, message, headers)."""
        account = self.emulator.account
        challenge = {"WWW-Authenticate": 'Basic realm="put.io"'}
        if token is not None:
            status = account.token_status(token)
            if status == "valid":
                return None
            if status == "expired":
                return 403, "Token expired", {}
            return 401, "Invalid token", challenge
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                key, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                key, secret = "", ""
            if account.credentials_match(key, secret):
                return None
        return 401, "Authentication required", challenge

    def _serve_item(self, item_id: int, prefix: str, fault: Fault | None) -> None:
        try:
            source = self.emulator.account.file_source(item_id)
        except ApiError as exc:
            self._data_error(404 if exc.kind == "not_found" else 400, exc.message)
            return
        if source.path is not None and not source.path.is_file():
            log.error("emulator: the file behind item %s is gone from disk", item_id)
            self._data_error(500, "File data unavailable")
            return
        self._serve_bytes(source, prefix == "download-file", fault)

    def _serve_bytes(self, source: FileSource, attachment: bool, fault: Fault | None) -> None:
        size = source.size
        etag = source.etag
        last_modified = formatdate(source.created, usegmt=True)
        wanted = parse_range(self.headers.get("Range"), size)
        if_range = self.headers.get("If-Range")
        if wanted is not None and if_range is not None and if_range.strip() not in (
            etag, last_modified
        ):
            wanted = None
        common = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": last_modified}
        if wanted == UNSATISFIABLE:
            common["Content-Range"] = f"bytes */{size}"
            self._data_error(416, "Range not satisfiable", common)
            return
        if wanted is None:
            status, first, last = 200, 0, size - 1
        else:
            status, (first, last) = 206, wanted
        self._started = True
        self.send_response(status)
        self.send_header("Content-Type", content_type(source.name))
        self.send_header("Content-Length", str(last - first + 1))
        for name, value in common.items():
            self.send_header(name, value)
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        if attachment:
            self.send_header("Content-Disposition",
                             f"attachment; filename*=UTF-8''{quote(source.name, safe='')}")
        self.end_headers()
        if self.command == "HEAD" or last < first:
            return
        self._write_body(source.chunks(first, last), fault, count=True)

    # ---------------------------------------------------------------- pictures, control

    def _picture(self, path: str) -> None:
        shot = _SCREENSHOT.fullmatch(path)
        if shot is None:
            body, kind = _ICON_PNG, "image/png"
        else:
            with self.emulator.account.lock:
                node = self.emulator.account.nodes.get(int(shot.group(1)))
                pictured = node is not None and node.type in ("movie", "image")
            if not pictured:
                self._send_json(404, self._error_envelope("Not found", None))
                return
            body, kind = self.emulator.thumbnail, "image/jpeg"
        self._started = True
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=86400")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _control(self, path: str) -> None:
        if path == "/_emulator/stats" and self.command in ("GET", "HEAD"):
            self._send_json(200, self.emulator.stats())
        elif path == "/_emulator/reset" and self.command == "POST":
            self.emulator.reset_stats()
            self._send_json(200, self.emulator.stats())
        else:
            self._send_json(404, self._error_envelope("Not found", None))


class EmulatorServer:
    """A running put.io v1 emulator: ``start()``, use ``base_url``, ``stop()`` (or ``with``)."""

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        self.account = Account(self.options.api_key, self.options.api_secret,
                               transfer_seconds=self.options.transfer_seconds)
        if self.options.demo:
            seed_demo(self.account)
        elif self.options.data_dir is not None:
            seed_directory(self.account, Path(self.options.data_dir))
        self.stats_counter = Stats()
        self.signing_key = secrets.token_bytes(32)
        self.thumbnail = resources.files("putiofs.emulator").joinpath(
            "demo_data/thumb.jpg").read_bytes()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self.root_url if self._httpd else "not started"
        return f"<EmulatorServer {self.options.dialect} {where}>"

    def start(self) -> EmulatorServer:
        """Listen and serve in a daemon thread; returns once the socket is listening."""
        if self._httpd is not None:
            raise RuntimeError("emulator already started")
        self._httpd = _HTTPServer((self.options.host, self.options.port), self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="putio-emulator", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        """The listening port (still known after ``stop()``)."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def root_url(self) -> str:
        host = self.options.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def stats(self) -> dict[str, Any]:
        return self.stats_counter.snapshot()

    def reset_stats(self) -> None:
        self.stats_counter.reset()

    def stop(self) -> None:
        """Stop serving, close open connections and join the server thread."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
