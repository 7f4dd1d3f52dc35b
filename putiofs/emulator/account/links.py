"""Remote links as the emulator pretends to fetch them (transfers, url analysis)."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, unquote, urlsplit

_FETCHABLE_SCHEMES = ("http", "https", "ftp")


def analyze_link(link: str) -> tuple[str, str | None]:
    """(name, error) for a link given to transfers add / urls analyze.

    http, https, ftp and magnet links succeed unless their host ends in ``.invalid``; the name is
    the URL's last path segment (a magnet's ``dn=``).
    """
    link = link.strip()
    try:
        parts = urlsplit(link)
    except ValueError:
        return link or "unknown", f"Error: Could not fetch {link}"
    if parts.scheme == "magnet":
        names = parse_qs(parts.query).get("dn")
        ok = bool(parse_qs(parts.query).get("xt"))
        name = names[0] if names else "magnet-download"
        return name, None if ok else f"Error: Could not fetch {link}"
    host = (parts.hostname or "").lower()
    segment = unquote(parts.path.rstrip("/").rpartition("/")[2])
    name = segment or host or "download"
    if name.lower().endswith(".torrent") and len(name) > len(".torrent"):
        name = name[: -len(".torrent")]
    if parts.scheme not in _FETCHABLE_SCHEMES or not host or host.endswith(".invalid"):
        return name, f"Error: Could not fetch {link}"
    return name, None


def fetched_size(link: str) -> int:
    """The deterministic size of what a transfer of ``link`` produces: 2 to 6 KiB."""
    digest = hashlib.sha256(link.strip().encode()).digest()
    return 2048 + int.from_bytes(digest[:2], "big") % 4096


def fetched_bytes(link: str) -> bytes:
    """The deterministic content a completed transfer of ``link`` puts in the account."""
    size = fetched_size(link)
    out = bytearray()
    block = hashlib.sha256(link.strip().encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])
