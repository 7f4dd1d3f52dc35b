"""Storage URLs: self-authorizing links to file bytes (and finished zips), valid for
``url_ttl`` seconds, served on ``/_storage/...`` without any other credential."""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

from putiofs.emulator.account.records import FileSource
from putiofs.emulator.account.state import ApiError
from putiofs.emulator.http.data_urls import sign_data_id, verify_data_id
from putiofs.emulator.v2.wire import error_payload

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Node
    from putiofs.emulator.http.httpd import Handler
    from putiofs.emulator.v2.request import V2Site

log = logging.getLogger("putiofs.emulator")


class Storage:
    def __init__(self, api: V2Site) -> None:
        self._api = api
        self._file_key = secrets.token_bytes(32)
        self._zip_key = secrets.token_bytes(32)

    def url_for(self, node: Node) -> str:
        """A fresh storage URL of a file (the name at the end is for people; it is ignored)."""
        expires = time.time() + self._api.emulator.options.url_ttl
        signed = sign_data_id(self._file_key, node.id, expires)
        return f"{self._api.emulator.root_url}/_storage/{signed}/{quote(node.name, safe='')}"

    def zip_url(self, zip_id: int) -> str:
        expires = time.time() + self._api.emulator.options.url_ttl
        signed = sign_data_id(self._zip_key, zip_id, expires)
        return f"{self._api.emulator.root_url}/_storage/zip/{signed}/putio-{zip_id}.zip"

    def serve(self, handler: Handler, path: str) -> None:
        """GET or HEAD a storage URL: 200, 206 or 416 (Range), 403 once expired, 404 for a
        URL this server did not sign or an item that is gone."""
        fault = handler.begin_data()
        if handler.started:
            return
        parts = path.strip("/").split("/")[1:]
        is_zip = bool(parts) and parts[0] == "zip"
        signed = parts[1] if is_zip and len(parts) > 1 else (parts[0] if parts else "")
        item_id, expired = verify_data_id(self._zip_key if is_zip else self._file_key, signed,
                                          time.time())
        if item_id is None:
            self._error(handler, 404, "NotFound", "Not found")
            return
        if expired:
            self._error(handler, 403, "LinkExpired", "Link expired")
            return
        source = self._zip_source(handler, item_id) if is_zip else \
            self._file_source(handler, item_id)
        if source is None:
            return
        handler.serve_bytes(source, is_zip, fault)

    def _file_source(self, handler: Handler, item_id: int) -> FileSource | None:
        try:
            source = self._api.emulator.account.file_source(item_id)
        except ApiError as exc:
            if exc.kind == "not_found":
                self._error(handler, 404, "NotFound", "File not found")
            else:
                self._error(handler, 400, "NotFile", "Not a file")
            return None
        if source.path is not None and not source.path.is_file():
            log.error("emulator: the file behind item %s is gone from disk", item_id)
            self._error(handler, 500, "InternalError", "File data unavailable")
            return None
        return source

    def _zip_source(self, handler: Handler, zip_id: int) -> FileSource | None:
        data = self._api.zips.archive(zip_id)
        if data is None:
            self._error(handler, 404, "NotFound", "Zip not found")
            return None
        return FileSource(zip_id, f"putio-{zip_id}.zip", len(data), self._api.zips.created(zip_id),
                          data, None)

    @staticmethod
    def _error(handler: Handler, status: int, error_type: str, message: str,
               headers: dict[str, str] | None = None) -> None:
        handler.send_json(status, error_payload(status, error_type, message), headers)
