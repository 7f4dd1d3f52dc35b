"""SIGHUP keeps the mount: it runs the mount's ``on_hangup`` (drop cached listings, reopen the
log) instead of unmounting, libfuse's default. SIGTERM and SIGINT stay libfuse's: they unmount.

Why this way: libfuse's ``fuse_set_signal_handlers`` takes SIGHUP, SIGINT and SIGTERM only
where their disposition is still ``SIG_DFL``, so a Python handler installed before the loop
starts keeps libfuse off SIGHUP. But Python runs its handlers on the main thread, which sits
in libfuse's loop for the whole mount; so the handler itself does nothing, and the work is
done by a watcher thread that reads the signal numbers Python's C handler writes to the
wakeup fd (:func:`signal.set_wakeup_fd`, one end of a socket pair). The handler is installed
with ``SA_RESTART`` (:func:`signal.siginterrupt` False), so a system call of another library
that a SIGHUP lands on is restarted rather than failing with EINTR.

:meth:`Hangup.install` (main thread, before the loop, before libfuse forks to the background),
:meth:`Hangup.start` once mounted (after the fork: the thread must live in the process that
serves), :meth:`Hangup.uninstall` after the loop.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger("putiofs.mount")

_STOP = b"\0"


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: the watcher thread does the work."""


class Hangup:
    """SIGHUP runs ``on_hangup()`` on a watcher thread; the mount stays."""

    def __init__(self, on_hangup: Callable[[], None]) -> None:
        self.on_hangup = on_hangup
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._previous_fd = -1
        self._previous: Any = signal.SIG_DFL
        self._thread: threading.Thread | None = None

    def install(self) -> None:
        """Take SIGHUP, before libfuse's loop starts. Only the main thread can: a mount
        served from another thread (an embedding program's) leaves SIGHUP alone."""
        if threading.current_thread() is not threading.main_thread():
            log.debug("not on the main thread: SIGHUP stays as it is")
            return
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(),
                                                 warn_on_full_buffer=False)
        self._previous = signal.signal(signal.SIGHUP, _ignore)
        signal.siginterrupt(signal.SIGHUP, False)

    def start(self) -> None:
        """Start the watcher (once mounted, in the process that serves)."""
        if self._reader is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="putiofs-signals")
        self._thread.start()

    def uninstall(self) -> None:
        """Give SIGHUP back and end the watcher (main thread, after the loop)."""
        if self._writer is None:
            return
        signal.signal(signal.SIGHUP, self._previous)
        signal.set_wakeup_fd(self._previous_fd)
        with contextlib.suppress(OSError):
            self._writer.send(_STOP)
        if self._thread is not None:
            self._thread.join(5)
        for end in (self._reader, self._writer):
            if end is not None:
                end.close()
        self._reader = self._writer = self._thread = None

    def _watch(self) -> None:
        assert self._reader is not None
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data or _STOP in data:
                return
            if signal.SIGHUP in data:
                self._hangup()

    def _hangup(self) -> None:
        log.info("SIGHUP: dropping cached listings and reopening the log")
        try:
            self.on_hangup()
        except Exception:  # noqa: BLE001 - the watcher must outlive a failed refresh
            log.exception("SIGHUP: the refresh failed")
