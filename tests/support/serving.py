"""Ad-hoc HTTP servers for tests: one way to start them, one way to stop them.

``with serve(Handler) as server:`` serves ``Handler`` on a free loopback port in a daemon thread
and, on the way out (whatever happened inside), shuts the server down, closes its socket and
joins the thread. ``server.base`` is ``http://127.0.0.1:<port>``. A test needing state on the
server passes a :class:`TestServer` (subclass) instance instead of a handler class.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

S = TypeVar("S", bound="TestServer")


class TestServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 (port 0 by default) that stays quiet when a client
    cuts a connection (tests do that on purpose) and never waits for handler threads."""

    __test__ = False  # not a pytest test class
    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextlib.contextmanager
def serve(server: type[BaseHTTPRequestHandler] | S,
          poll_interval: float = 0.05) -> Iterator[S | TestServer]:
    """Serve until the block ends; then shut down, close and join (bounded: 5 s)."""
    httpd = TestServer(server) if isinstance(server, type) else server
    thread = threading.Thread(target=httpd.serve_forever, args=(poll_interval,), daemon=True,
                              name=f"test-http-{httpd.server_address[1]}")
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
