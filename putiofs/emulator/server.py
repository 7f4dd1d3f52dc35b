"""The emulator's server: it puts an emulator together and runs it.

One :class:`EmulatorServer` serves one account through one API version (``options.api``):
``v1`` (:mod:`putiofs.emulator.v1`) or ``v2`` (:mod:`putiofs.emulator.v2`). This module is the
one that names the versions: it builds the account (:mod:`putiofs.emulator.account.state`, which
knows no API version), the version's API object, and the HTTP plumbing
(:mod:`putiofs.emulator.http.httpd`), which hands each request to the route the version registers
for the request path's first segment; ``/_emulator/stats`` and ``/_emulator/reset`` are served
for both. The plumbing and the versions see the server only as the
:class:`~putiofs.emulator.http.httpd.Emulator` protocol, so none of them imports this module.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from putiofs.emulator.account.seed import seed_demo, seed_directory
from putiofs.emulator.account.state import Account
from putiofs.emulator.http.httpd import HttpServer, WireApi
from putiofs.emulator.http.stats import Stats
from putiofs.emulator.options import EmulatorOptions


class EmulatorServer:
    """A running put.io emulator: ``start()``, use ``base_url``, ``stop()`` (or ``with``)."""

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        self.account = Account(self.options.api_key, self.options.api_secret,
                               transfer_seconds=self.options.transfer_seconds,
                               disk_size=self.options.disk_size,
                               trash_enabled=self.options.trash_enabled)
        if self.options.demo:
            seed_demo(self.account)
        elif self.options.data_dir is not None:
            seed_directory(self.account, Path(self.options.data_dir))
        self.stats_counter = Stats()
        self.api = self._make_api()
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def _make_api(self) -> WireApi:
        if self.options.api == "v2":
            from putiofs.emulator.v2 import V2Api

            return V2Api(self)
        from putiofs.emulator.v1 import V1Api

        return V1Api(self)

    def __repr__(self) -> str:
        where = self.root_url if self._httpd else "not started"
        what = self.options.api if self.options.api != "v1" else f"v1 {self.options.dialect}"
        return f"<EmulatorServer {what} {where}>"

    def start(self) -> EmulatorServer:
        """Listen and serve in a daemon thread; returns once the socket is listening."""
        if self._httpd is not None:
            raise RuntimeError("emulator already started")
        self._httpd = HttpServer((self.options.host, self.options.port), self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="putio-emulator", daemon=True)
        self._thread.start()
        realtime = getattr(self.api, "realtime", None)
        if realtime is not None:
            realtime.start(self.options.host)
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
        """Where the API lives: ``{root_url}/v1`` or ``{root_url}/v2``."""
        return f"{self.root_url}{self.api.prefix}"

    @property
    def socket_url(self) -> str | None:
        """v2: where put.io's realtime websocket is served (``ws://.../socket/sockjs/
        websocket``); None for v1, which has none."""
        realtime = getattr(self.api, "realtime", None)
        return realtime.url if realtime is not None and realtime.url else None

    def stats(self) -> dict[str, Any]:
        return self.stats_counter.snapshot()

    def reset_stats(self) -> None:
        self.stats_counter.reset()

    def stop(self) -> None:
        """Stop serving, close open connections and join the server thread."""
        if self._httpd is None:
            return
        realtime = getattr(self.api, "realtime", None)
        if realtime is not None:
            realtime.stop()
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
