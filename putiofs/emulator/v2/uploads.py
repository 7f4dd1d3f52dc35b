"""Uploads: TUS 1.0.0 at ``/files/`` (creation, termination) and multipart at
``/v2/files/upload``; both need the OAuth token and count against the disk quota."""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.parser
import email.policy
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from putiofs.emulator.http.faults import Fault
from putiofs.emulator.http.httpd import BodyError
from putiofs.emulator.v2 import names
from putiofs.emulator.v2.render import file_object, transfer_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import (
    Params,
    V2Error,
    bad_request,
    error_payload,
    not_found,
    ok,
    parse_stamp,
)

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Node
    from putiofs.emulator.http.httpd import Handler
    from putiofs.emulator.v2.request import V2Site

MAX_UPLOADS = 1000
#: One request's upload body at most (multipart, or one PATCH).
UPLOAD_BODY_LIMIT = 1024 * 1024 * 1024
_TUS = {"Tus-Resumable": "1.0.0"}


route = Routes()


def quota_error() -> V2Error:
    return V2Error(413, "NOT_ENOUGH_DISK_SPACE", "Not enough disk space")


@dataclass
class Upload:
    id: str
    length: int
    name: str
    parent_id: int
    updated: float | None
    overwrite: bool
    data: bytearray = field(default_factory=bytearray)
    node_id: int | None = None
    crc: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def offset(self) -> int:
        return self.length if self.node_id is not None else len(self.data)


def _metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (value optional)."""
    found = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            found[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise bad_request(f"Invalid Upload-Metadata value of {key}") from None
    return found


class Uploads:
    """The TUS uploads under way (and recently finished, for a repeated final PATCH)."""

    def __init__(self, api: V2Site) -> None:
        self._api = api
        self._uploads: OrderedDict[str, Upload] = OrderedDict()

    def reserved(self) -> int:
        """Bytes promised to unfinished uploads (they count against the quota)."""
        return sum(u.length for u in self._uploads.values() if u.node_id is None)

    def check_space(self, size: int) -> None:
        account = self._api.emulator.account
        if size > account.disk_size - account.disk_used() - self.reserved():
            raise quota_error()

    def _over_quota(self) -> bool:
        """The account's files and unfinished uploads no longer fit its disk."""
        account = self._api.emulator.account
        with account.lock:
            return account.disk_used() + self.reserved() > account.disk_size

    def store(self, parent_id: int, name: str, data: bytes, updated: float | None,
              overwrite: bool = False) -> Node:
        """Create the uploaded file (under the account lock) and record the upload event."""
        account = self._api.emulator.account
        parent = account.nodes.get(parent_id)
        if parent is None or not parent.is_dir:
            raise not_found("Parent folder not found")
        if overwrite:
            for child_id in list(parent.children):
                child = account.nodes[child_id]
                if child.name == name and not child.is_dir:
                    account.remove(child_id)
        node = account.put_file(parent.id, name, data, updated=updated)
        account.crc32_of(node)
        account.post_event("upload", file_id=node.id, file_name=node.name, file_size=node.size)
        return node

    # ------------------------------------------------------------------------------- TUS

    def tus(self, handler: Handler, path: str) -> None:
        parts = path.strip("/").split("/")
        upload_id = parts[1] if len(parts) == 2 else None
        stats = self._api.emulator.stats_counter
        if len(parts) > 2 or (upload_id is None and handler.command not in ("POST", "OPTIONS")):
            handler.read_body(chunked=True)
            handler.send_json(404, error_payload(404, "NotFound", "Not found"))
            return
        name = f"upload.tus_{handler.command.lower()}"
        stats.count_api(name)
        fault = handler.choose_fault("api", name)
        if fault is not None and fault.status is not None:
            self._fault_answer(handler, fault, upload_id)
            return
        try:
            if handler.command == "OPTIONS":
                handler.read_body()
                handler.send_empty(204, {**_TUS, "Tus-Version": "1.0.0",
                                         "Tus-Extension": "creation,termination"})
                return
            params = Params(urlsplit(handler.path).query, b"", "")
            self._api.auth.require(self._api.auth.token_of(handler, params))
            if upload_id is None:
                self._create(handler)
            elif handler.command == "PATCH":
                self._patch(handler, self._find(upload_id), fault)
            elif handler.command == "HEAD":
                upload = self._find(upload_id)
                handler.send_empty(200, {**_TUS, "Upload-Offset": str(upload.offset),
                                         "Upload-Length": str(upload.length),
                                         "Cache-Control": "no-store"})
            elif handler.command == "DELETE":
                handler.read_body()
                with self._api.emulator.account.lock:
                    self._uploads.pop(self._find(upload_id).id)
                handler.send_empty(204, _TUS)
            else:
                raise V2Error(405, "MethodNotAllowed", "Method not allowed",
                              {"Allow": "HEAD, PATCH, DELETE"})
        except V2Error as exc:
            if not handler.started:
                handler.send_json(exc.status, error_payload(exc.status, exc.error_type,
                                                            exc.message), {**_TUS, **exc.headers})

    def _fault_answer(self, handler: Handler, fault: Fault, upload_id: str | None) -> None:
        """An injected status, answered as a TUS server would: the body is read first (a
        client still sending would otherwise see a reset, not the answer); a 409 carries the
        upload's real ``Upload-Offset``; a 413 is the quota error."""
        handler.close_connection = True
        with contextlib.suppress(BodyError):
            _discard(handler.body_chunks(chunked=True, limit=UPLOAD_BODY_LIMIT))
        if fault.status == 409:
            with self._api.emulator.account.lock:
                upload = self._uploads.get(upload_id or "")
            offset = {"Upload-Offset": str(upload.offset)} if upload is not None else {}
            handler.send_json(409, error_payload(409, "Conflict", "Upload-Offset does not match"),
                              {**_TUS, **offset})
        elif fault.status == 413:
            exc = quota_error()
            handler.send_json(413, error_payload(413, exc.error_type, exc.message), _TUS)
        else:
            handler.send_fault_status(fault)

    def _find(self, upload_id: str) -> Upload:
        with self._api.emulator.account.lock:
            upload = self._uploads.get(upload_id)
        if upload is None:
            raise not_found("Upload not found")
        return upload

    def _create(self, handler: Handler) -> None:
        handler.read_body()
        try:
            length = int(handler.headers.get("Upload-Length", ""))
        except ValueError:
            raise bad_request("Missing or invalid Upload-Length") from None
        if length < 0:
            raise bad_request("Missing or invalid Upload-Length")
        meta = _metadata(handler.headers.get("Upload-Metadata", ""))
        name = meta.get("name") or meta.get("filename") or ""
        names.check(name)
        updated = parse_stamp(meta["updated-at"], "updated-at") if meta.get("updated-at") \
            else None
        overwrite = meta.get("overwrite", "").strip().lower() in ("1", "true")
        account = self._api.emulator.account
        with account.lock:
            parent_text = meta.get("parent_id", "").strip()
            parent_id = int(parent_text) if parent_text.isdigit() else self._api.default_folder
            parent = account.nodes.get(parent_id)
            if parent is None:
                raise not_found("Parent folder not found")
            if not parent.is_dir:
                raise bad_request("Parent is not a folder", "NotAFolder")
            self.check_space(length)
            upload = Upload(secrets.token_urlsafe(18), length, name, parent_id, updated,
                            overwrite)
            self._uploads[upload.id] = upload
            while len(self._uploads) > MAX_UPLOADS:
                self._uploads.popitem(last=False)
            headers = {**_TUS, "Location": f"{self._api.emulator.root_url}/files/{upload.id}"}
            if length == 0:
                headers.update(self._finish(upload))
        handler.send_empty(201, headers)

    def _patch(self, handler: Handler, upload: Upload, fault: Fault | None) -> None:
        """Append the body at ``Upload-Offset``. An injected ``drop_after`` keeps that many
        bytes of the body (so HEAD reports them, as a TUS server keeps what it received),
        pauses ``stall`` seconds if set, and closes the connection without an answer. Space
        that went away since the upload was created (a smaller quota, other files) is a 413
        here too."""
        try:
            offset = int(handler.headers.get("Upload-Offset", ""))
        except ValueError:
            _discard(handler.body_chunks(chunked=True, limit=UPLOAD_BODY_LIMIT))
            raise bad_request("Missing or invalid Upload-Offset") from None
        body = handler.body_chunks(chunked=True, limit=UPLOAD_BODY_LIMIT)
        if not upload.lock.acquire(blocking=False):
            _discard(body)
            raise V2Error(409, "Conflict", "Another PATCH of this upload is under way")
        try:
            if offset != upload.offset:
                _discard(body)
                raise V2Error(409, "Conflict", "Upload-Offset does not match",
                              {"Upload-Offset": str(upload.offset)})
            if self._over_quota():
                _discard(body)
                raise quota_error()
            budget = fault.drop_after if fault is not None else None
            for chunk in body:
                if upload.offset + len(chunk) > upload.length:
                    _discard(body)
                    raise bad_request("The body goes beyond Upload-Length")
                if budget is not None and len(chunk) >= budget:
                    upload.data += chunk[:budget]
                    if fault is not None and fault.stall:
                        time.sleep(fault.stall)
                    handler.drop_connection()
                    return
                upload.data += chunk
                if budget is not None:
                    budget -= len(chunk)
            headers = {**_TUS, "Upload-Offset": str(upload.offset)}
            if upload.offset == upload.length:
                with self._api.emulator.account.lock:
                    headers.update(self._finish(upload))
            handler.send_empty(204, headers)
        finally:
            upload.lock.release()

    def _finish(self, upload: Upload) -> dict[str, str]:
        """Create the file once (a repeated final PATCH answers the same file)."""
        if upload.node_id is None:
            node = self.store(upload.parent_id, upload.name, bytes(upload.data), upload.updated,
                              upload.overwrite)
            upload.node_id, upload.crc = node.id, node.crc
            upload.data = bytearray()
        return {"Putio-File-Id": str(upload.node_id), "Putio-File-Crc32": upload.crc or ""}


def _discard(body: Iterator[bytes]) -> None:
    """Read the rest of a refused body, so the answer reaches the client (closing with unread
    bytes would reset the connection) and the connection stays usable."""
    for _ in body:
        pass


# -------------------------------------------------------------------------------- multipart


@route("POST", r"files/upload", "files.upload", body_limit=UPLOAD_BODY_LIMIT)
def multipart_upload(request: Request) -> dict[str, Any]:
    """``file`` (required), ``filename``, ``parent_id``; a .torrent becomes a transfer."""
    fields, files = _form_parts(request)
    if "file" not in files:
        raise bad_request("Missing file")
    original, data = files["file"]
    name = fields.get("filename") or original or ""
    names.check(name)
    parent_text = fields.get("parent_id") or request.params.text("parent_id") or ""
    parent_id = int(parent_text) if parent_text.strip().isdigit() else request.api.default_folder
    account = request.account
    parent = account.nodes.get(parent_id)
    if parent is None or not parent.is_dir:
        raise not_found("Parent folder not found")
    if name.lower().endswith(".torrent"):
        digest = hashlib.sha1(data).hexdigest()
        link = f"magnet:?xt=urn:btih:{digest}&dn={quote(name[:-len('.torrent')])}"
        transfer = account.transfers.add(link, parent_id)
        return ok(transfer=transfer_object(request.api, transfer))
    request.api.uploads.check_space(len(data))
    node = request.api.uploads.store(parent_id, name, data, None)
    return ok(file=file_object(request.api, node))


def _form_parts(request: Request) -> tuple[dict[str, str], dict[str, tuple[str | None, bytes]]]:
    content_type = request.handler.headers.get("Content-Type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise bad_request("Expected a multipart/form-data body")
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise bad_request("Malformed multipart body")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None or name == "file":
            files[name] = (part.get_filename(), payload)
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, files
