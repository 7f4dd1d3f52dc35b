"""The emulator's server: its options, its request counters and its life cycle.

One :class:`EmulatorServer` serves one account through one API version (``options.api``):
``v1`` (:mod:`putiofs.emulator.v1`) or ``v2`` (:mod:`putiofs.emulator.v2`). The HTTP plumbing
(:mod:`putiofs.emulator.httpd`) hands each request to the route the version registers for the
request path's first segment; ``/_emulator/stats`` and ``/_emulator/reset`` are served for both.
The account model (:mod:`putiofs.emulator.state`) knows no API version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from putiofs.emulator.faults import Faults
from putiofs.emulator.httpd import HttpServer, WireApi
from putiofs.emulator.seed import seed_demo, seed_directory
from putiofs.emulator.state import DISK_QUOTA, Account

API_VERSIONS = ("v1", "v2")


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
    #: Which API the server speaks: "v1" (api_key/api_secret) or "v2" (OAuth token).
    api: str = "v1"
    #: v2: the account's OAuth token (``putiofs emulator`` takes it from PUTIO_TOKEN).
    token: str = "demo-token"
    #: v2: seconds a storage URL from ``/v2/files/{id}/url`` stays valid.
    url_ttl: float = 3600.0
    #: The account's disk size in bytes (v2 uploads beyond what is left fail).
    disk_size: int = DISK_QUOTA
    #: v2: the account setting ``trash_enabled`` at start (deletes go to the trash).
    trash_enabled: bool = True

    def __post_init__(self) -> None:
        if self.api not in API_VERSIONS:
            raise ValueError(f"unknown API version {self.api!r} (v1 or v2)")
        if not self.token or self.url_ttl <= 0 or self.disk_size < 0:
            raise ValueError("token must not be empty, url_ttl positive, disk_size not negative")
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
