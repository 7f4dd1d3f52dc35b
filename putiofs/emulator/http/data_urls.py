"""Helpers of the file data URLs: Range parsing (RFC 9110) and signed CDN-style data ids."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

#: parse_range's answer for a syntactically valid range that cannot be satisfied (416).
UNSATISFIABLE = "unsatisfiable"

_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """Interpret a Range header for a representation of ``size`` bytes.

    Returns ``(first, last)`` (inclusive) for a single satisfiable range, :data:`UNSATISFIABLE`
    when the range starts at or beyond the end (any range of an empty file, a zero-length
    suffix), or None when the whole body should be sent: no header, a malformed one, an unknown
    unit or several ranges (RFC 9110 lets a server ignore Range).
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    return start, min(end, size - 1)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_data_id(key: bytes, item_id: int, expires: float) -> str:
    """An opaque, unguessable name for ``item_id`` valid until ``expires`` (epoch seconds)."""
    payload = f"{item_id}.{int(expires * 1000)}".encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify_data_id(key: bytes, opaque: str, now: float) -> tuple[int | None, bool]:
    """(item id, expired) of a signed name; the id is None when the name is not genuine."""
    try:
        payload_text, mac_text = opaque.split(".")
        payload, mac = _unb64(payload_text), _unb64(mac_text)
        expected = hmac.new(key, payload, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(mac, expected):
            return None, False
        item_text, expires_text = payload.decode().split(".")
        return int(item_text), now * 1000 >= int(expires_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None, False
