"""What the canned-answer stand-ins of put.io's APIs (:mod:`tests.support.v1_stub`,
:mod:`tests.support.v2_stub`) share: an HTTP/1.1 server on 127.0.0.1, port 0, in a daemon
thread (:func:`tests.support.serving.serve`), that hands each request to the stub and sends the
:class:`Reply` it chose: late (``delay``), or not at all (``drop`` closes the connection).
Not an emulator: each test says exactly what the server answers."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.serving import serve


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # bytes are sent as they are, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


class StubServer:
    """Serves until :meth:`close`; a subclass answers each request in :meth:`answer`."""

    def __init__(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = stub.answer(self.command, self.path, dict(self.headers), body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(
                    reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

        # serve(): quiet about clients that gave up (timeouts are expected here).
        self._stack = contextlib.ExitStack()
        self.server = self._stack.enter_context(serve(Handler, poll_interval=0.02))
        self.origin = self.server.base

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """The reply to one request (``target``: its path and query, as sent)."""
        raise NotImplementedError

    def close(self) -> None:
        self._stack.close()
