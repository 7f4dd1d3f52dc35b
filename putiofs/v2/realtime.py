"""put.io's realtime events: the websocket listener (``putio-api-v2.md`` §9.2 and the
Addendum's "Realtime events").

One daemon thread connects to the configured ``socket_url`` (put.io's is
:data:`putiofs.config.DEFAULT_SOCKET_URL`), sends the bare OAuth token as its first frame,
and turns the JSON frames ``{"type", "value"}`` into the neutral changes of
:mod:`putiofs.api.realtime`: ``file_create`` / ``file_update`` / ``file_delete`` (the file
object) and ``transfer_create`` / ``_update`` / ``_delete`` (the transfer object),
``transfers_count``; other types are ignored.

Decisions:

- **Live** means connected, token sent, and not refused: put.io acknowledges nothing, it only
  closes with 4001 on a bad token, so the connection counts as live after the first frame it
  sends or after ``AUTH_GRACE`` seconds of silence, whichever comes first.
- **Keepalive**: websocket pings every ``PING_INTERVAL`` seconds (put.io's sync client pings
  every 5); an unanswered ping closes the connection after ``PING_TIMEOUT``.
- **Reconnect** after any loss, with exponential backoff and full jitter from 1 s up to
  ``MAX_BACKOFF`` (60 s); the count of failures starts again once a connection was live.
  A 4001 (the token refused) is logged once, as a warning, and retried at the maximum
  backoff: a token refused by the socket but taken by the API still mounts, by TTL.
- The token is only ever sent in a frame: it is in no URL, log line or exception message
  (``putiofs.logs`` masks it too).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from putiofs.api.realtime import (
    COUNT,
    CREATED,
    DELETED,
    UPDATED,
    ChangeSink,
    FileChange,
    TransferChange,
)
from putiofs.logs import register_secret
from putiofs.net.retry import Backoff
from putiofs.v2.account import neutral_transfer
from putiofs.v2.backend import entry_from_file
from putiofs.v2.models import File, Transfer
from putiofs.v2.parse import BadValue, to_id, to_int

log = logging.getLogger(__name__)

UNAUTHORIZED = 4001
AUTH_GRACE = 1.0
PING_INTERVAL = 10.0
PING_TIMEOUT = 10.0
OPEN_TIMEOUT = 10.0
MAX_BACKOFF = 60.0
_FILE_KINDS = {"file_create": CREATED, "file_update": UPDATED, "file_delete": DELETED}
_TRANSFER_KINDS = {"transfer_create": CREATED, "transfer_update": UPDATED,
                   "transfer_delete": DELETED}


def parse_frame(text: str | bytes, api_url: str = "") -> FileChange | TransferChange | None:
    """The change one frame reports, or None (another type, or not understood)."""
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(frame, dict):
        return None
    kind, value = frame.get("type"), frame.get("value")
    if kind in _FILE_KINDS and isinstance(value, dict):
        return _file_change(_FILE_KINDS[kind], value, api_url)
    if kind in _TRANSFER_KINDS and isinstance(value, dict):
        try:
            transfer = neutral_transfer(Transfer.from_json(value))
        except BadValue:
            return None
        return TransferChange(_TRANSFER_KINDS[kind], transfer)
    if kind == "transfers_count":
        return TransferChange(COUNT, count=to_int(value))
    return None


def _file_change(kind: str, value: dict[str, Any], api_url: str) -> FileChange | None:
    item_id = to_id(value.get("id"))
    if item_id is None:
        return None
    parent_id = to_id(value.get("parent_id"))
    entry = None
    if parent_id is not None and isinstance(value.get("name"), str) and value["name"]:
        try:
            entry = entry_from_file(File.from_json(value), api_url=api_url)
        except BadValue:
            entry = None
    return FileChange(kind, item_id, entry, parent_id)


class V2ChangeListener:
    """The listener of one account (:class:`putiofs.api.realtime.ChangeListener`)."""

    def __init__(self, url: str, token: str, sink: ChangeSink, *, api_url: str = "",
                 backoff: Backoff | None = None, auth_grace: float = AUTH_GRACE,
                 connector: Callable[..., ClientConnection] = connect) -> None:
        register_secret(token)
        self.url = url
        self._token = token
        self._sink = sink
        self._api_url = api_url
        self._backoff = backoff or Backoff(first=1.0, maximum=MAX_BACKOFF)
        self._auth_grace = auth_grace
        self._connect = connector
        self._stop = threading.Event()
        self._live = False
        self._connection: ClientConnection | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._refusal_logged = False
        self._failure_logged = False
        self._problem: str | None = None

    def __repr__(self) -> str:
        return f"V2ChangeListener({self.url!r}, live={self._live})"

    @property
    def live(self) -> bool:
        return self._live

    @property
    def problem(self) -> str | None:
        return self._problem

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="putio-events",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            connection = self._connection
        if connection is not None:
            connection.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            refused = False
            was_live = False
            try:
                was_live = self._session()
            except ConnectionClosed as exc:
                refused = exc.rcvd is not None and exc.rcvd.code == UNAUTHORIZED
                was_live = self._live
                self._problem = "the connection closed; reconnecting"
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, EOFError) as exc:
                self._log_failure(exc)
            finally:
                self._set_live(False)
                with self._lock:
                    self._connection = None
            if self._stop.is_set():
                break
            if refused:
                self._problem = "put.io's realtime events refused the token"
                if not self._refusal_logged:
                    self._refusal_logged = True
                    log.warning("put.io's realtime events refused the token (close code %d); "
                                "changes made elsewhere show after the cache TTL",
                                UNAUTHORIZED)
                wait = self._backoff.maximum
            else:
                failures = 1 if was_live else failures + 1
                wait = self._backoff.delay(failures)
            self._stop.wait(wait)

    def _session(self) -> bool:
        """One connection, until it ends (by an exception). True if it was live."""
        with self._connect(self.url, open_timeout=OPEN_TIMEOUT, ping_interval=PING_INTERVAL,
                           ping_timeout=PING_TIMEOUT, close_timeout=2,
                           max_size=2**22) as connection:
            with self._lock:
                self._connection = connection
            if self._stop.is_set():
                return False
            connection.send(self._token)
            try:
                first = connection.recv(timeout=self._auth_grace)
            except TimeoutError:
                first = None
            self._set_live(True)
            self._failure_logged = False
            if first is not None:
                self._deliver(first)
            for message in connection:
                self._deliver(message)
        return True

    def _deliver(self, message: str | bytes) -> None:
        change = parse_frame(message, self._api_url)
        if change is None:
            return
        try:
            if isinstance(change, FileChange):
                self._sink.file_changed(change)
            else:
                self._sink.transfer_changed(change)
        except Exception:  # noqa: BLE001 - one bad change must not end the listener
            log.exception("applying a realtime change failed")

    def _set_live(self, live: bool) -> None:
        if self._live == live:
            return
        self._live = live
        log.info("realtime events %s", "connected" if live else "disconnected")
        try:
            self._sink.live_changed(live)
        except Exception:  # noqa: BLE001
            log.exception("reacting to the realtime connection failed")

    def _log_failure(self, exc: BaseException) -> None:
        self._problem = f"cannot connect ({type(exc).__name__}); retrying with backoff"
        if self._failure_logged:
            log.debug("realtime events: still cannot connect: %s", type(exc).__name__)
            return
        self._failure_logged = True
        log.info("realtime events: cannot connect (%s); retrying with backoff",
                 type(exc).__name__)
