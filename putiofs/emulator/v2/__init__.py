"""The put.io v2 API (OAuth token, cursor paging, uploads), written from the v2 reference.

DECISIONS
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from putiofs.emulator.faults import Fault
from putiofs.emulator.httpd import Handler, Route, redact_query
from putiofs.emulator.links import fetched_size
from putiofs.emulator.state import ROOT_ID
from putiofs.emulator.v2 import account_api, files_api, manage_api, transfers_api, uploads
from putiofs.emulator.v2.auth import Auth
from putiofs.emulator.v2.cursors import Cursors
from putiofs.emulator.v2.media import Mp4, Zips
from putiofs.emulator.v2.storage import Storage
from putiofs.emulator.v2.wire import (
    Params,
    Redirect,
    Request,
    Rule,
    V2Error,
    error_payload,
)

if TYPE_CHECKING:
    from putiofs.emulator.records import Transfer
    from putiofs.emulator.server import EmulatorServer

log = logging.getLogger("putiofs.emulator")

_ERROR_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 411: "LengthRequired", 413: "RequestTooLarge",
                416: "RangeNotSatisfiable", 429: "RateLimited", 500: "InternalError",
                501: "NotImplemented", 503: "ServiceUnavailable"}


class V2Api:
    """The v2 API of one emulator: the routes, the token check and the v2 envelopes."""

    json_type = "application/json"
    prefix = "/v2"

    def __init__(self, emulator: EmulatorServer) -> None:
        self.emulator = emulator
        emulator.account.forget_failed_transfers = False
        self.auth = Auth(emulator.options.token, emulator.account.clock)
        self.cursors = Cursors()
        self.storage = Storage(self)
        self.mp4 = Mp4(emulator.account)
        self.zips = Zips(emulator.account)
        self.uploads = uploads.Uploads(self)
        #: The account setting ``default_download_folder`` (uploads and transfers without a
        #: parent go there).
        self.default_folder = ROOT_ID
        #: ``account/info?download_token=1``: an opaque token (nothing takes it in v2 here).
        self.download_token = secrets.token_urlsafe(18)
        self.rules: list[Rule] = [
            *files_api.RULES, *account_api.RULES, *transfers_api.RULES, *manage_api.RULES,
            *uploads.RULES,
        ]
        self._routes: dict[str, Route] = {
            "v2": self._call,
            "files": self.uploads.tus,
            "_storage": self.storage.serve,
        }

    # ------------------------------------------------------------------ WireApi protocol

    def route(self, head: str) -> Route | None:
        return self._routes.get(head)

    def error_payload(self, status: int, message: str) -> Any:
        return error_payload(status, _ERROR_TYPES.get(status, "Error"), message)

    def fault_headers(self, fault: Fault) -> dict[str, str]:
        if fault.status != 429:
            return {}
        wait = int(fault.retry_after or 1)
        return {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(time.time()) + wait),
                "x-ratelimit-id": "emulator", "x-ratelimit-action": "wait"}

    def control(self, handler: Handler, path: str) -> bool:
        """``POST /_emulator/approve?code=CODE``: approve a device code as the user would."""
        if path != "/_emulator/approve" or handler.command != "POST":
            return False
        handler.read_body()
        code = (parse_qs(urlsplit(handler.path).query).get("code") or [""])[0]
        if self.auth.approve(code) is None:
            handler.send_json(404, error_payload(404, "NotFound", "Unknown or expired code"))
        else:
            handler.send_json(200, {"status": "OK"})
        return True

    def redact(self, path: str) -> str:
        path = redact_query(path)
        path = re.sub(r"^/_storage/.*", "/_storage/<redacted>", path)
        return re.sub(r"^(/v2/oauth2/oob/code/)[^/]+", r"\1<redacted>", path)

    # ------------------------------------------------------------------------- helpers

    def transfer_size(self, transfer: Transfer) -> int:
        return fetched_size(transfer.link)

    # ------------------------------------------------------------------------ API calls

    def _call(self, handler: Handler, path: str) -> None:
        sub = path[len("/v2/"):] if path.startswith("/v2/") else ""
        matched = [(rule, m) for rule in self.rules if (m := rule.pattern.fullmatch(sub))]
        allowed = [(rule, m) for rule, m in matched if handler.command in rule.methods
                   or (handler.command == "HEAD" and "GET" in rule.methods)]
        if not allowed:
            handler.read_body(chunked=True)
            if matched:
                methods = sorted({m for rule, _ in matched for m in rule.methods})
                handler.send_json(405, error_payload(405, "MethodNotAllowed",
                                                     "Method not allowed"),
                                  {"Allow": ", ".join(methods)})
            else:
                handler.send_json(404, error_payload(404, "NotFound", "Not found"))
            return
        rule, match = allowed[0]
        body = handler.read_body(chunked=True, limit=rule.body_limit)
        self.emulator.stats_counter.count_api(rule.name)
        fault = handler.choose_fault("api", rule.name)
        if fault is not None and fault.status is not None:
            handler.send_fault_status(fault)
            return
        try:
            params = Params(urlsplit(handler.path).query, body,
                            handler.headers.get("Content-Type", ""))
            token = self.auth.token_of(handler, params)
            if rule.auth:
                self.auth.require(token)
            request = Request(self, handler, handler.command, params, match, token, body)
            account = self.emulator.account
            with account.lock:
                account.advance()
                answer = rule.endpoint(request)
        except V2Error as exc:
            handler.send_json(exc.status, error_payload(exc.status, exc.error_type, exc.message),
                              exc.headers, fault=fault)
            return
        if isinstance(answer, Redirect):
            handler.send_empty(302, {"Location": answer.location, "Cache-Control": "no-store"})
            return
        handler.send_json(200, answer, fault=fault)
