"""The emulators' HTTP plumbing, the same for every API version.

:class:`Handler` owns the connection: it reads request bodies (with a size limit, chunked only
where the version allows it), writes JSON answers and file bytes (applying injected faults),
serves ``/_emulator/stats`` and ``/_emulator/reset``, and hands every other request to the
route its API version registers for the first path segment (``v1``, ``v2``, ``files``, ...).
A version package supplies a :class:`WireApi`; it never touches sockets itself. The plumbing
and the routes see the running emulator as an :class:`Emulator` (the server implements it and
injects the version's API), so neither imports the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from putiofs.emulator.account.filetypes import content_type
from putiofs.emulator.http.data_urls import UNSATISFIABLE, parse_range
from putiofs.emulator.http.faults import Fault, RequestInfo

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Account, FileSource
    from putiofs.emulator.http.stats import Stats
    from putiofs.emulator.options import EmulatorOptions

log = logging.getLogger("putiofs.emulator")

MAX_BODY = 8 * 1024 * 1024
CONNECTION_ERRORS = (ConnectionError, TimeoutError, socket.timeout)

Route = Callable[["Handler", str], None]


class BodyError(Exception):
    """A request body the server will not take: ``status`` and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WireApi(Protocol):
    """What an API version gives the plumbing."""

    #: The exact Content-Type of JSON answers.
    json_type: str
    #: The path prefix of the API, e.g. "/v1".
    prefix: str

    def route(self, head: str) -> Route | None:
        """The route serving paths whose first segment is ``head``, or None (a 404)."""

    def error_payload(self, status: int, message: str) -> Any:
        """The JSON body of an error the plumbing answers (bad request line, fault, 404)."""

    def fault_headers(self, fault: Fault) -> dict[str, str]:
        """Extra headers of an injected status fault (e.g. rate-limit headers of a 429)."""

    def control(self, handler: Handler, path: str) -> bool:
        """Answer a version-specific ``/_emulator/...`` path; False when it has none."""

    def redact(self, path: str) -> str:
        """A request path safe to log (no tokens, no signed names)."""


class Emulator(Protocol):
    """What the plumbing and the version routes use of the running emulator
    (:class:`~putiofs.emulator.server.EmulatorServer`)."""

    options: EmulatorOptions
    account: Account
    stats_counter: Stats
    #: The API version the server was built with.
    api: WireApi

    @property
    def root_url(self) -> str:
        """``http://host:port``, where the routes live."""

    def stats(self) -> dict[str, Any]: ...

    def reset_stats(self) -> None: ...


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("emulator: error on a connection")

    def close_connections(self) -> None:
        with self.connections_lock:
            conns, self.connections = list(self.connections), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body in separate writes: no 40 ms delayed-ACK wait
    server_version = "putiofs-emulator"
    timeout = 120
    server: HttpServer

    #: True once a status line went out: a later fault can only drop the connection.
    started = False

    # ------------------------------------------------------------------- connection plumbing

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(CONNECTION_ERRORS):
            super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except CONNECTION_ERRORS:
            self.close_connection = True

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: request lines can carry credentials (GET) or stream tokens."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (bad request line, unsupported method) as JSON, not HTML."""
        self.close_connection = True
        self.send_json(code, self.api.error_payload(code, message or "Bad request"))

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    @property
    def api(self) -> WireApi:
        return self.emulator.api

    def _dispatch(self) -> None:
        self.started = False
        self._body_read = False
        try:
            path = urlsplit(self.path).path
            head = path.split("/")[1] if path.count("/") else ""
            route = self.api.route(head)
            if head == "_emulator":
                self._control(path)
            elif route is not None:
                route(self, path)
            else:
                self.send_json(404, self.api.error_payload(404, "Not found"))
        except BodyError as exc:
            self.close_connection = True
            if not self.started:
                self.send_json(exc.status, self.api.error_payload(exc.status, exc.message))
        except CONNECTION_ERRORS:
            self.close_connection = True
        except Exception:
            log.exception("emulator: fault while answering %s %s", self.command,
                          self.api.redact(urlsplit(self.path).path))
            if self.started:
                self.close_connection = True
            else:
                self.send_json(500, self.api.error_payload(500, "Internal server error"))
        if not self._body_read and self._has_body():
            self.close_connection = True  # an unread body would be taken for the next request

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    # ---------------------------------------------------------------------------- bodies

    def _has_body(self) -> bool:
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        return chunked or self.headers.get("Content-Length", "0").strip() not in ("", "0")

    def body_chunks(self, *, chunked: bool = False, limit: int = MAX_BODY) -> Iterator[bytes]:
        """The request body in pieces as they arrive; :class:`BodyError` when it is refused
        (chunked where not ``chunked``, a bad Content-Length, more than ``limit`` bytes)."""
        self._body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            if not chunked:
                raise BodyError(411, "Chunked request bodies are not supported")
            yield from self._chunked(limit)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            raise BodyError(413 if length > 0 else 400, "Bad Content-Length")
        while length > 0:
            piece = self.rfile.read(min(length, 1024 * 1024))
            if not piece:
                raise ConnectionError("request body cut short")
            length -= len(piece)
            yield piece

    def _chunked(self, limit: int) -> Iterator[bytes]:
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "Bad chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            total += size
            if total > limit:
                raise BodyError(413, "Request body too large")
            data = self.rfile.read(size)
            if len(data) != size:
                raise ConnectionError("request body cut short")
            self.rfile.readline(1024)
            yield data

    def read_body(self, *, chunked: bool = False, limit: int = MAX_BODY) -> bytes:
        return b"".join(self.body_chunks(chunked=chunked, limit=limit))

    # ------------------------------------------------------------------------- answering

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                  fault: Fault | None = None, encode: Callable[[Any], str] | None = None) -> None:
        body = (encode or _dumps)(payload).encode()
        if fault is not None and fault.malformed_json:
            body = body[: max(1, len(body) // 2)]
        self.send_document(status, body, self.api.json_type, headers, fault)

    def send_document(self, status: int, body: bytes, content_type: str,
                      headers: dict[str, str] | None = None, fault: Fault | None = None) -> None:
        """A whole answer of ``content_type`` (JSON, or a playlist and the like)."""
        self.started = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.write_body([body], fault)

    def send_empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        """A status with headers and no body (redirects, TUS answers)."""
        self.started = True
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", "0")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def write_body(self, chunks: Iterable[bytes], fault: Fault | None, count: bool = False) -> None:
        """Write ``chunks``, applying a fault's stall and mid-body drop."""
        budget = fault.drop_after if fault is not None else None
        if fault is not None and fault.stall and budget is None:
            time.sleep(fault.stall)
        # Bytes are counted just before they are written, so a client that has read them
        # already sees them in /_emulator/stats (a write that fails half-way still counts).
        for chunk in chunks:
            if budget is not None and len(chunk) >= budget:
                self._count_bytes(budget if count else 0)
                self.wfile.write(chunk[:budget])
                if fault is not None and fault.stall:
                    time.sleep(fault.stall)
                self._drop()
                return
            self._count_bytes(len(chunk) if count else 0)
            self.wfile.write(chunk)
            if budget is not None:
                budget -= len(chunk)

    def _count_bytes(self, n: int) -> None:
        if n:
            self.emulator.stats_counter.count_bytes(n)
            with self.emulator.account.lock:
                self.emulator.account.bw_used += n

    def drop_connection(self) -> None:
        """End the connection now, without an answer (or the rest of one)."""
        self._drop()

    def _drop(self) -> None:
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def choose_fault(self, kind: str, name: str) -> Fault | None:
        """Ask the fault policy about this request (once per request) and apply its delay."""
        fault = self.emulator.options.faults.choose(RequestInfo(kind, name, self.command))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        return fault

    def begin_call(self, name: str) -> Fault | None:
        """The start every API call shares (v1 ``service.method``, v2 ``files.list``): count it
        under ``name`` and answer an injected status fault. Returns the fault to apply to the
        answer; the request is answered already when ``started`` is then True."""
        self.emulator.stats_counter.count_api(name)
        fault = self.choose_fault("api", name)
        if fault is not None and fault.status is not None:
            self.send_fault_status(fault)
        return fault

    def send_fault_status(self, fault: Fault) -> None:
        assert fault.status is not None
        headers = self.api.fault_headers(fault)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        message = "Too many requests" if fault.status == 429 else "Internal server error"
        self.send_json(fault.status, self.api.error_payload(fault.status, message), headers)

    # ------------------------------------------------------------------------ file bytes

    def begin_data(self) -> Fault | None:
        """The start every file data URL shares (v1 download and stream URLs, v2 storage
        URLs): read any body, count the request, answer 405 to a method other than GET and
        HEAD and answer an injected status fault. Returns the fault to apply to the bytes; the
        request is answered already when ``started`` is then True."""
        self.read_body()
        self.emulator.stats_counter.count_data()
        if self.command not in ("GET", "HEAD"):
            self.send_json(405, self.api.error_payload(405, "Method not allowed"),
                           {"Allow": "GET, HEAD"})
            return None
        fault = self.choose_fault("data", "data")
        if fault is not None and fault.status is not None:
            self.send_fault_status(fault)
        return fault

    def serve_bytes(self, source: FileSource, attachment: bool, fault: Fault | None) -> None:
        """Serve one file: 200 or 206 for a single satisfiable range (RFC 9110), 416 for an
        unsatisfiable one; a malformed or multi-range header gets the whole body."""
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
            self.send_json(416, self.api.error_payload(416, "Range not satisfiable"), common)
            return
        if wanted is None:
            status, first, last = 200, 0, size - 1
        else:
            status, (first, last) = 206, wanted
        self.started = True
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
        self.write_body(source.chunks(first, last), fault, count=True)

    # ---------------------------------------------------------------------------- control

    def _control(self, path: str) -> None:
        if path == "/_emulator/stats" and self.command in ("GET", "HEAD"):
            self.send_json(200, self.emulator.stats())
        elif path == "/_emulator/reset" and self.command == "POST":
            self.emulator.reset_stats()
            self.send_json(200, self.emulator.stats())
        elif not self.api.control(self, path):
            self.send_json(404, self.api.error_payload(404, "Not found"))


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def redact_query(path: str) -> str:
    """A path without its query string, and without any ``/atk/<token>`` segment."""
    return re.sub(r"/atk/[^/]*", "/atk/<redacted>", urlsplit(path).path)
