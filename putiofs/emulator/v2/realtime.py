"""put.io's realtime events: the websocket at ``/socket/sockjs/websocket``.

As the reference describes put.io's socket (``putio-api-v2.md`` §9.2 and the Addendum): the
client's first text frame is the bare OAuth token, a token the account does not know closes
the connection with code 4001; after that the server sends JSON frames ``{"type", "value"}``:

* ``file_create`` / ``file_update`` / ``file_delete`` with the file object (as ``GET
  /files/{id}`` renders it; a delete's object is rendered just before the item leaves the
  tree), for every change of the tree, whoever made it: the API (folders, renames, moves,
  touch, copies, uploads, deletes, trash restores), a finished transfer, or a test changing
  the account in-process. A deleted folder is one ``file_delete`` (not one per item in it);
  a copied folder is one ``file_create`` per item. A file's object is rendered when the
  frame is sent (an upload's, once its bytes are in), so a create followed at once by a
  delete sends the delete only.
* ``transfer_create`` / ``transfer_update`` / ``transfer_delete`` with the transfer object,
  and ``transfers_count`` (the number listed), whenever a transfer appears, changes status,
  percentage or file, or is removed. Transfers progress with time, so while a client is
  connected the feed looks every :data:`FEED_POLL_SECONDS` (0.2 s) and finishes due
  transfers itself.

Decisions where the reference is silent: the socket has its own loopback port (the HTTP
plumbing stays plain HTTP/1.1); other paths answer 404; client frames after the token are
ignored; websockets' own ping/pong keeps idle connections alive. Every connected client gets
every frame (changes made with the same token included).

Test hooks (``POST``, on the API's port): ``/_emulator/socket/drop`` closes every connection
now (code 1012); ``/_emulator/socket/lose?count=N`` loses the next N frames (not sent to
anyone), ``?fraction=F`` each frame with probability F (seeded); ``/_emulator/socket/refuse
?seconds=S`` answers new connections 503 for S seconds. ``GET /_emulator/socket`` reports
``url``, ``clients`` (authenticated connections), ``sent`` and ``lost`` frames.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from putiofs.emulator.v2.render import file_object, transfer_object
from putiofs.emulator.v2.wire import error_payload

if TYPE_CHECKING:
    from websockets.http11 import Request as WsRequest
    from websockets.http11 import Response as WsResponse

    from putiofs.emulator.account.records import Node
    from putiofs.emulator.http.httpd import Handler
    from putiofs.emulator.v2.request import V2Site

log = logging.getLogger("putiofs.emulator")

SOCKET_PATH = "/socket/sockjs/websocket"
UNAUTHORIZED = 4001
#: Seconds between the feed's looks at the transfers (and at queued frames) while a client is
#: connected.
FEED_POLL_SECONDS = 0.2
#: Seconds a client has to send its token.
TOKEN_WAIT = 10.0
#: What a transfer's update is about: a frame is sent when one of these changes.
_TRANSFER_KEYS = ("status", "percent_done", "file_id", "error_message", "name", "finished_at",
                  "save_parent_id")


class Realtime:
    """The realtime feed of one v2 emulator: ``start(host)``, ``url``, ``stop()``."""

    def __init__(self, api: V2Site, *, seed: int = 14) -> None:
        self.api = api
        self.account = api.emulator.account
        self.account.on_change = self._on_change
        self._pending: deque[tuple[str, Node | dict[str, Any]]] = deque()
        self._wake = threading.Condition()
        self._clients: set[ServerConnection] = set()
        self._clients_lock = threading.Lock()
        self._rng = random.Random(seed)
        self._lose_next = 0
        self._lose_fraction = 0.0
        self._refuse_until = 0.0
        self.sent = 0
        self.lost = 0
        self._transfers: dict[int, dict[str, Any]] | None = None
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._url = ""

    # -- life ---------------------------------------------------------------------------

    def start(self, host: str) -> None:
        self._server = serve(self._serve_client, host, 0, process_request=self._check_request,
                             ping_interval=20, ping_timeout=20, close_timeout=2)
        port = self._server.socket.getsockname()[1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self._url = f"ws://{shown}:{port}{SOCKET_PATH}"
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="putio-socket",
                             daemon=True),
            threading.Thread(target=self._pump, name="putio-socket-feed", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        """``ws://host:port/socket/sockjs/websocket`` ("" before ``start``)."""
        return self._url

    def stop(self) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if self._server is not None:
            self._server.shutdown()
        self.drop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    # -- test hooks ---------------------------------------------------------------------

    def drop(self) -> int:
        """Close every connection now; how many there were."""
        with self._clients_lock:
            clients = list(self._clients)
            self._clients.clear()
        for client in clients:
            with contextlib.suppress(Exception):  # one already gone is dropped anyway
                client.close(1012, "dropped by the emulator")
        return len(clients)

    def lose(self, count: int = 0, fraction: float = 0.0) -> None:
        with self._wake:
            self._lose_next = max(0, count)
            self._lose_fraction = min(1.0, max(0.0, fraction))

    def refuse(self, seconds: float) -> None:
        self._refuse_until = time.monotonic() + max(0.0, seconds)

    def status(self) -> dict[str, Any]:
        with self._clients_lock:
            clients = len(self._clients)
        return {"url": self._url, "clients": clients, "sent": self.sent, "lost": self.lost}

    def control(self, handler: Handler, path: str) -> bool:
        """Answer a test hook's ``/_emulator/socket...`` path (see the module docstring); False
        for a path or method that is none."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        if path == "/_emulator/socket" and handler.command in ("GET", "HEAD"):
            handler.send_json(200, self.status())
            return True
        if handler.command != "POST":
            return False
        handler.read_body()
        try:
            if path == "/_emulator/socket/drop":
                answer: dict[str, Any] = {"dropped": self.drop()}
            elif path == "/_emulator/socket/lose":
                self.lose(int(query.get("count", 0)), float(query.get("fraction", 0.0)))
                answer = {}
            elif path == "/_emulator/socket/refuse":
                self.refuse(float(query.get("seconds", 0.0)))
                answer = {}
            else:
                return False
        except ValueError:
            handler.send_json(400, error_payload(400, "BadRequest", "Bad number"))
            return True
        handler.send_json(200, {**answer, **self.status(), "status": "OK"})
        return True

    # -- connections --------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection,
                       request: WsRequest) -> WsResponse | None:
        if request.path.split("?")[0] != SOCKET_PATH:
            return connection.respond(404, "Not found\n")
        if time.monotonic() < self._refuse_until:
            return connection.respond(503, "Refusing connections for now\n")
        return None

    def _serve_client(self, connection: ServerConnection) -> None:
        try:
            token = connection.recv(timeout=TOKEN_WAIT)
        except (TimeoutError, ConnectionClosed):
            connection.close(UNAUTHORIZED, "Unauthorized")
            return
        if not isinstance(token, str) or self.api.auth.token_id(token.strip()) is None:
            connection.close(UNAUTHORIZED, "Unauthorized")
            return
        with self._clients_lock:
            self._clients.add(connection)
        with self._wake:
            self._wake.notify_all()
        try:
            for _ in connection:
                pass  # nothing a client says after its token changes anything
        except ConnectionClosed:
            pass
        finally:
            with self._clients_lock:
                self._clients.discard(connection)

    # -- the feed -----------------------------------------------------------------------

    def _on_change(self, kind: str, node: Node) -> None:
        """Called by the account, under its lock, at every change of the tree."""
        if kind == "delete":
            # Rendered now: once it has left the tree its size and parent are gone.
            item: Node | dict[str, Any] = file_object(self.api, node)
        else:
            item = node
        with self._wake:
            self._pending.append((f"file_{kind}", item))
            self._wake.notify_all()

    def _pump(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                if not self._pending:
                    self._wake.wait(FEED_POLL_SECONDS)
                batch = list(self._pending)
                self._pending.clear()
            with self._clients_lock:
                connected = bool(self._clients)
            if not connected:
                self._transfers = None  # no baseline kept while nobody listens
                continue
            try:
                frames = self._frames(batch)
            except Exception:  # noqa: BLE001 - the feed must outlive any one bad render
                log.exception("realtime feed: could not render events")
                continue
            for frame in frames:
                self._send(frame)

    def _frames(self, batch: list[tuple[str, Node | dict[str, Any]]]) -> list[str]:
        account = self.account
        frames: list[dict[str, Any]] = []
        with account.lock:
            account.advance()  # finishes due transfers (which may create files: queued)
            with self._wake:
                batch.extend(self._pending)
                self._pending.clear()
            seen: set[tuple[str, int]] = set()
            for kind, item in batch:
                if isinstance(item, dict):
                    frames.append({"type": kind, "value": item})
                    continue
                if account.nodes.get(item.id) is not item or (kind, item.id) in seen:
                    continue  # gone since (its delete follows), or already in this batch
                seen.add((kind, item.id))
                frames.append({"type": kind, "value": file_object(self.api, item)})
            frames.extend(self._transfer_frames())
        return [json.dumps(frame, ensure_ascii=False) for frame in frames]

    def _transfer_frames(self) -> list[dict[str, Any]]:
        now = {t.id: transfer_object(self.api, t) for t in self.account.transfers.values()}
        before, self._transfers = self._transfers, now
        if before is None:
            return []
        frames: list[dict[str, Any]] = []
        for transfer_id, value in now.items():
            old = before.get(transfer_id)
            if old is None:
                frames.append({"type": "transfer_create", "value": value})
            elif any(old.get(k) != value.get(k) for k in _TRANSFER_KEYS):
                frames.append({"type": "transfer_update", "value": value})
        frames.extend({"type": "transfer_delete", "value": value}
                      for transfer_id, value in before.items() if transfer_id not in now)
        if len(now) != len(before) or frames and any(
                f["type"] != "transfer_update" for f in frames):
            frames.append({"type": "transfers_count", "value": len(now)})
        return frames

    def _send(self, frame: str) -> None:
        with self._wake:
            if self._lose_next > 0:
                self._lose_next -= 1
                self.lost += 1
                return
            if self._lose_fraction and self._rng.random() < self._lose_fraction:
                self.lost += 1
                return
            self.sent += 1
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.send(frame)
            except ConnectionClosed:
                with self._clients_lock:
                    self._clients.discard(client)
