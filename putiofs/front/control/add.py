"""``/.putio/add``: every complete line written is a link to start a transfer of.

A line may be at most :data:`MAX_LINE` bytes (64 KiB): links are short, and a magnet link with
a long tracker list is a few KiB. The write that takes a line past that fails at once with
EFBIG ("File too large"), and so does every later write until that line's newline: its bytes
are dropped as they arrive, never kept, and the lines after it are read as usual. Each byte is
looked at once: only the new data of a write is searched for newlines, and what is kept
between writes is at most one line.

Which lines are links: ``http://``, ``https://``, ``ftp://`` and ``magnet:``, case-insensitive;
blank lines and ``#`` comments are skipped. A write fails with EINVAL when one of its lines is
something else (or not UTF-8), or put.io refuses a link (by error, or by putting the new
transfer straight into an Error state) -- the other links of the same write are still added.
Other failures of put.io are answered by the shared mapping (:mod:`putiofs.front.errno_map`):
EACCES for refused credentials, EIO for the rest.

A .torrent file may be copied in too (``cp file.torrent ~/putio/.putio/add``): bytes whose
first written byte is ``d`` (a bencoded dictionary; no link starts with it) are kept whole,
up to :data:`MAX_TORRENT` (10 MiB: real .torrent files are KiB to a few MiB), and at close
they are uploaded as a torrent transfer into put.io's default download folder if they are a
.torrent (a bencoded dictionary with an ``info`` dictionary, :mod:`putiofs.torrent`); close
fails with EINVAL if they are not, or put.io refuses the torrent, and with EOPNOTSUPP on API
v1 (it has no .torrent upload). The write that takes them past the cap fails with EFBIG, and so
does every later write of that open: nothing is uploaded.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable

from putiofs.api.errors import BadRequestError
from putiofs.api.services import AccountServices, TransfersAdded
from putiofs.front.errno_map import fail
from putiofs.torrent import MAX_TORRENT, file_name, is_torrent

log = logging.getLogger("putiofs.front.control")

MAX_LINE = 64 * 1024
LINK_PREFIXES = ("http://", "https://", "ftp://", "magnet:")


class LineBuffer:
    """Splits written bytes into complete lines, keeping at most ``limit`` bytes of the line
    not yet complete; a longer line is dropped up to its newline. Bytes starting with ``d``
    (a .torrent) are kept whole instead, up to ``torrent_limit``; they are all the "rest"."""

    def __init__(self, limit: int = MAX_LINE, torrent_limit: int = MAX_TORRENT) -> None:
        self.limit = limit
        self.torrent_limit = torrent_limit
        self.lock = threading.Lock()
        self._pending = bytearray()
        self._discarding = False
        self._whole: bool | None = None  # kept whole (a .torrent)? None: nothing written yet

    def feed(self, data: bytes) -> tuple[list[bytes], bool]:
        """The lines ``data`` completes, and whether any of its bytes belonged to a line over
        the limit (and were dropped), or took a .torrent past its limit."""
        if self._whole is None and data:
            self._whole = data.startswith(b"d")
        if self._whole:
            if self._discarding or len(self._pending) + len(data) > self.torrent_limit:
                self._pending.clear()
                self._discarding = True
                return [], True
            self._pending += data
            return [], False
        lines: list[bytes] = []
        overlong = False
        start = 0
        while start <= len(data):
            newline = data.find(b"\n", start)
            end = len(data) if newline < 0 else newline
            if self._discarding:
                overlong = overlong or end > start or newline >= 0
            elif len(self._pending) + end - start > self.limit:
                overlong = True
                self._pending.clear()
                self._discarding = True
            else:
                self._pending += data[start:end]
            if newline < 0:
                break
            if not self._discarding:
                lines.append(bytes(self._pending))
            self._pending.clear()
            self._discarding = False
            start = newline + 1
        return lines, overlong

    def take_rest(self) -> bytes:
        """The last line, written without a newline (at close); the buffer starts afresh."""
        rest = b"" if self._discarding else bytes(self._pending)
        self.clear()
        return rest

    def clear(self) -> None:
        self._pending.clear()
        self._discarding = False
        self._whole = None


class LinkAdder:
    """Turns lines into transfers; ``changed`` is called after every attempt (the transfer
    list may differ now)."""

    def __init__(self, services: AccountServices, changed: Callable[[], None]) -> None:
        self.services = services
        self._changed = changed

    def add(self, lines: list[bytes]) -> None:
        """Start a transfer for each link; OSError(EINVAL) if a line is no link or put.io
        refuses one, after the others were sent; put.io's other failures as they are."""
        links: list[str] = []
        refused = False
        for raw in lines:
            if raw.startswith(b"d") and is_torrent(raw):
                self._send_torrent(raw)
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                log.warning("/.putio/add: refused a line that is not UTF-8 text (EINVAL)")
                refused = True
                continue
            for line in text.splitlines():
                link = line.strip()
                if not link or link.startswith("#"):
                    continue
                if link.lower().startswith(LINK_PREFIXES):
                    links.append(link)
                else:
                    log.warning("/.putio/add: %r is not a link (http, https, ftp or magnet) "
                                "(EINVAL)", link[:200])
                    refused = True
        if links:
            self._send(links)
        if refused:
            raise fail(errno.EINVAL)

    def _send_torrent(self, data: bytes) -> None:
        name = file_name(data)
        try:
            added = self.services.add_torrent(name, data)
        finally:
            self._changed()
        self._check(added)
        log.info("/.putio/add: a torrent transfer added (%d bytes of .torrent)", len(data))

    def _send(self, links: list[str]) -> None:
        try:
            added = self.services.add_transfers(links)
        except BadRequestError as exc:  # a refusal of these links, not of the request
            log.warning("/.putio/add: put.io refused the links: %s (EINVAL)", exc)
            raise fail(errno.EINVAL) from None
        finally:
            self._changed()
        self._check(added)
        log.info("/.putio/add: %d transfer(s) added", len(links))

    @staticmethod
    def _check(added: TransfersAdded) -> None:
        for transfer in added.failed:
            log.warning("/.putio/add: %s: %s (EINVAL)", transfer.name, transfer.status)
        if added.failed:
            raise fail(errno.EINVAL)
