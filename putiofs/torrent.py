"""Recognising a .torrent file by its bytes (a bencoded dictionary with an ``info`` dictionary).

Used where bytes arrive without a name (``/.putio/add``) and to name an upload after the
torrent's own ``info.name``. The decoder is strict and bounded: nesting deeper than
:data:`MAX_DEPTH`, a length running past the end, or bytes after the top-level value all make
the bytes "not a torrent" (never an exception, never a deep recursion).
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64
#: The largest .torrent file putiofs takes (real ones are KiB to a few MiB).
MAX_TORRENT = 10 * 1024 * 1024


class _Invalid(ValueError):
    pass


def _value(data: bytes, at: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH or at >= len(data):
        raise _Invalid
    head = data[at:at + 1]
    if head == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1:end]), end + 1
    if head in (b"l", b"d"):
        items: list[Any] = []
        at += 1
        while data[at:at + 1] != b"e":
            item, at = _value(data, at, depth + 1)
            items.append(item)
        if head == b"l":
            return items, at + 1
        if len(items) % 2 or not all(isinstance(k, bytes) for k in items[::2]):
            raise _Invalid
        return dict(zip(items[::2], items[1::2], strict=True)), at + 1
    if head.isdigit():
        colon = data.index(b":", at)
        start = colon + 1
        end = start + int(data[at:colon])
        if end > len(data):
            raise _Invalid
        return data[start:end], end
    raise _Invalid


def decode(data: bytes) -> dict[bytes, Any] | None:
    """The top-level dictionary of bencoded ``data``, or None if it is anything else."""
    if not data.startswith(b"d"):
        return None
    try:
        value, end = _value(data, 0, 0)
    except (ValueError, IndexError):
        return None
    return value if end == len(data) and isinstance(value, dict) else None


def is_torrent(data: bytes) -> bool:
    """Is ``data`` a .torrent: a bencoded dictionary whose ``info`` is a dictionary?"""
    top = decode(data)
    return top is not None and isinstance(top.get(b"info"), dict)


def file_name(data: bytes, fallback: str = "transfer") -> str:
    """``<info.name>.torrent`` (``/`` and NULs replaced, at most 200 bytes of name), else
    ``<fallback>.torrent``: put.io turns an upload into a transfer by that suffix."""
    top = decode(data) or {}
    info = top.get(b"info")
    raw = info.get(b"name") if isinstance(info, dict) else None
    name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    name = name.replace("/", "_").replace("\0", "_").strip()
    name = name.encode("utf-8")[:200].decode("utf-8", "ignore") or fallback
    return f"{name}.torrent"
