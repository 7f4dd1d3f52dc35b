"""A program run in a pseudo-terminal and driven by keystrokes, for editors that only save from
their screen (nano): start it, wait for text to appear on its screen, type, wait for it to exit.

Every wait is bounded; a program still running at the end is killed, so a test never hangs on
an editor waiting for a key.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from collections.abc import Sequence
from pathlib import Path


class TerminalError(AssertionError):
    """The program did not show what was expected, or did not exit, in time."""


class Terminal:
    """``argv`` in a 24x80 xterm, started in ``cwd``."""

    def __init__(self, argv: Sequence[str], cwd: Path, *, rows: int = 24,
                 columns: int = 80) -> None:
        self.argv = list(argv)
        self.screen = b""
        self._status: int | None = None
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the program, or dies trying
            try:
                os.chdir(cwd)
                os.environ["TERM"] = "xterm"
                os.execvp(self.argv[0], self.argv)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def _pump(self, seconds: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            try:
                self.screen += os.read(self.fd, 65536)
            except OSError:  # EIO: the program closed the terminal (it exited)
                time.sleep(seconds)

    def expect(self, text: str, timeout: float = 10.0) -> None:
        """Wait until ``text`` has been drawn since the last :meth:`expect` (its earlier output
        is forgotten once found)."""
        wanted = text.encode()
        deadline = time.monotonic() + timeout
        while wanted not in self.screen:
            if time.monotonic() > deadline:
                self.close()
                raise TerminalError(f"{self.argv[0]}: {text!r} not on its screen within "
                                    f"{timeout} s; last output: {self.screen[-400:]!r}")
            self._pump(0.05)
        self.screen = self.screen[self.screen.index(wanted) + len(wanted):]

    def send(self, keys: str | bytes) -> None:
        os.write(self.fd, keys.encode() if isinstance(keys, str) else keys)

    def wait(self, timeout: float = 10.0) -> int:
        """The program's exit status once it has exited (killed after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while self._status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self._status = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                self.close()
                raise TerminalError(f"{self.argv[0]} did not exit within {timeout} s; last "
                                    f"output: {self.screen[-400:]!r}")
            self._pump(0.05)
        os.close(self.fd)
        return self._status

    def close(self) -> None:
        """Kill the program if it still runs (after a failed wait)."""
        if self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._status = -signal.SIGKILL
            os.close(self.fd)
