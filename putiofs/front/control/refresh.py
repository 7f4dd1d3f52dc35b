"""``/.putio/refresh``: every complete line written is a path of the mount whose cached listings
are dropped (what ``putiofs refresh MOUNTPOINT [PATH]`` writes; the front's
:meth:`~putiofs.front.operations.PutioFS.refresh` does the work).

Why a file: the command then reaches the mount through the kernel, which checks who may
(the file is ``0200``, its owner the mount's files' owner; root may as well), and needs no socket
or process id. A line is a path as the mount shows it (``/Movies``; without a leading slash it is
taken from the root), decoded as the mount decodes paths; blank lines are skipped, ``/`` is the
whole mount. A line's refresh is done when the ``write`` that completes it returns; a last
line without a newline is taken at ``close``. A line over :data:`MAX_PATH_LINE` bytes is EINVAL
(no path is that long), and its bytes are dropped.

A read-only mount (``-o ro``) takes no writes at all (the kernel answers EROFS before the mount
hears of it): SIGHUP refreshes such a mount whole.
"""

from __future__ import annotations

import errno
import threading

from putiofs.front.errno_map import fail

REFRESH = "refresh"
#: The longest line taken: four times PATH_MAX.
MAX_PATH_LINE = 16 * 1024


class RefreshHandle:
    """One open of ``/.putio/refresh``: the bytes of a line not complete yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        """The paths ``data`` completes; EINVAL (the line dropped) past :data:`MAX_PATH_LINE`."""
        with self.lock:
            self._pending += data
            *lines, rest = self._pending.split(b"\n")
            self._pending = bytearray(rest)
            longest = max((len(line) for line in lines), default=0)
            if max(longest, len(self._pending)) > MAX_PATH_LINE:
                self._pending.clear()
                raise fail(errno.EINVAL)
        return _paths(lines)

    def take_rest(self) -> list[str]:
        """The last line, written without a newline (at close)."""
        with self.lock:
            rest, self._pending = bytes(self._pending), bytearray()
        return _paths([rest])


def _paths(lines: list[bytes] | list[bytearray]) -> list[str]:
    paths = []
    for line in lines:
        text = bytes(line).decode("utf-8", "surrogateescape").strip("\r")
        if text.strip():
            paths.append(text if text.startswith("/") else "/" + text)
    return paths

