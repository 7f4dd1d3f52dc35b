"""The v1 routes: API calls, the download and stream URLs, zip downloads and pictures.

Each route takes the connection's :class:`~putiofs.emulator.http.httpd.Handler` and the request
path; the wire-format decisions are in the :mod:`putiofs.emulator.v1` docstring.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import struct
import time
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from putiofs.emulator.account.state import ApiError
from putiofs.emulator.http.data_urls import sign_data_id, verify_data_id
from putiofs.emulator.http.httpd import Handler
from putiofs.emulator.v1 import api, jsontext
from putiofs.emulator.v1.call import Call

log = logging.getLogger("putiofs.emulator")

_SCREENSHOT = re.compile(r"/screenshot/(?:b/)?(\d+)\.jpg")
_ICON = re.compile(r"/images/file_types/([a-z_]+)\.png")


def error_envelope(message: str, user_id: int | None) -> dict[str, Any]:
    return {"user_id": user_id, "response": {"results": []}, "error": True,
            "error_message": message}


# ------------------------------------------------------------------------------------ API


def api_call(handler: Handler, path: str) -> None:
    body = handler.read_body()
    emulator = handler.emulator
    split = urlsplit(handler.path)
    query = parse_qs(split.query, keep_blank_values=True)
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
    service = split.path[len("/v1/"):].strip("/")
    method = (query.get("method") or form.get("method") or [None])[0]
    raw = (form.get("request") or query.get("request") or [None])[0]
    name = f"{service}.{method}"
    fault = handler.begin_call(name)
    if handler.started:
        return
    legacy = emulator.options.dialect == "legacy"
    status, payload = 200, None
    account = emulator.account
    user_id: int | None = None
    with account.lock:
        account.advance()
        try:
            if method is None:
                raise ApiError("Missing parameter: method", "param")
            method_handler = api.find_handler(service, method)
            params = api.check_request(raw, account)
            user_id = account.user_id
            call = Call(account, params, emulator.options.dialect, emulator.root_url,
                        emulator.options.token_ttl)
            payload = _success(handler, method_handler(call))
        except ApiError as exc:
            if legacy and exc.kind in ("route", "param"):
                status = 404
            payload = error_envelope(exc.message, user_id)
        except Exception:
            log.exception("emulator: fault in %s", name)
            status = 500 if legacy else 200
            payload = error_envelope("Internal server error", user_id)
    handler.send_json(status, payload, fault=fault, encode=jsontext.dumps)


def _success(handler: Handler, results: Any) -> dict[str, Any]:
    account = handler.emulator.account
    if handler.emulator.options.dialect == "legacy":
        return {"id": account.user_id, "user_id": account.user_id,
                "user_name": account.user_name, "response": {"results": results},
                "error": False, "error_message": None}
    return {"user_id": account.user_id, "response": {"results": results}, "error": None,
            "error_message": None}


# ------------------------------------------------------------------------------ file data


def _data_error(handler: Handler, status: int, message: str,
                headers: dict[str, str] | None = None) -> None:
    handler.send_json(status, error_envelope(message, None), headers)


def data(handler: Handler, path: str, *, signing_key: bytes) -> None:
    """A download, stream or signed ``/_data`` URL; ``signing_key`` signs and checks the
    ``/_data`` names."""
    fault = handler.begin_data()
    if handler.started:
        return
    emulator = handler.emulator
    parts = path.strip("/").split("/")
    if parts[0] == "_data":
        item_id, expired = verify_data_id(signing_key, "/".join(parts[1:]), time.time())
        if item_id is None:
            _data_error(handler, 404, "Not found")
        elif expired:
            _data_error(handler, 403, "Link expired")
        else:
            _serve_item(handler, item_id, parts[0], fault)
        return
    shape_ok = len(parts) == 3 or (len(parts) == 5 and parts[3] == "atk")
    if not shape_ok or parts[1] != str(emulator.account.user_id) or not parts[2].isdigit():
        _data_error(handler, 404, "Not found")
        return
    denial = _check_data_auth(handler, parts[4] if len(parts) == 5 else None)
    if denial is not None:
        _data_error(handler, *denial)
        return
    item_id = int(parts[2])
    if emulator.options.redirect:
        try:
            emulator.account.file_source(item_id)
        except ApiError as exc:
            _data_error(handler, 404 if exc.kind == "not_found" else 400, exc.message)
            return
        expires = time.time() + emulator.options.token_ttl
        signed = sign_data_id(signing_key, item_id, expires)
        handler.send_empty(302, {"Location": f"{emulator.root_url}/_data/{signed}"})
        return
    _serve_item(handler, item_id, parts[0], fault)


def _check_data_auth(handler: Handler, token: str | None) -> tuple[int, str, dict[str, str]] | None:
    """None when the request may read file data, else (status, message, headers)."""
    account = handler.emulator.account
    challenge = {"WWW-Authenticate": 'Basic realm="put.io"'}
    if token is not None:
        status = account.token_status(token)
        if status == "valid":
            return None
        if status == "expired":
            return 403, "Token expired", {}
        return 401, "Invalid token", challenge
    header = handler.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            key, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key, secret = "", ""
        if account.credentials_match(key, secret):
            return None
    return 401, "Authentication required", challenge


def _serve_item(handler: Handler, item_id: int, prefix: str, fault: Any) -> None:
    try:
        source = handler.emulator.account.file_source(item_id)
    except ApiError as exc:
        _data_error(handler, 404 if exc.kind == "not_found" else 400, exc.message)
        return
    if source.path is not None and not source.path.is_file():
        log.error("emulator: the file behind item %s is gone from disk", item_id)
        _data_error(handler, 500, "File data unavailable")
        return
    handler.serve_bytes(source, prefix == "download-file", fault)


def zip_download(handler: Handler, path: str) -> None:
    handler.read_body()
    handler.send_json(501, error_envelope("Zip downloads are not emulated", None))


# ------------------------------------------------------------------------------- pictures


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(
        b"IEND", b""
    )


ICON_PNG = _tiny_png()


def picture(handler: Handler, path: str, *, thumbnail: bytes) -> None:
    """A movie's or image's screenshot (``thumbnail``, a small JPEG) or a type icon (a small
    PNG)."""
    handler.read_body()
    shot = _SCREENSHOT.fullmatch(path)
    if shot is None and not _ICON.fullmatch(path):
        handler.send_json(404, error_envelope("Not found", None))
        return
    if shot is None:
        body, kind = ICON_PNG, "image/png"
    else:
        account = handler.emulator.account
        with account.lock:
            node = account.nodes.get(int(shot.group(1)))
            pictured = node is not None and node.type in ("movie", "image")
        if not pictured:
            handler.send_json(404, error_envelope("Not found", None))
            return
        body, kind = thumbnail, "image/jpeg"
    handler.started = True
    handler.send_response(200)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "max-age=86400")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
