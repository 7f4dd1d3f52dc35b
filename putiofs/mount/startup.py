"""Starting libfuse's loop: what libfuse or fusermount says when the mount cannot start becomes
one ``putiofs: error:`` line, and a background mount's command returns once the mount answers.

**Its words.** libfuse writes its reasons on stderr (``fuse: unknown option(s): `-o x'``,
``fusermount3: option allow_other only allowed if 'user_allow_other' is set in
/etc/fuse.conf``) and returns a bare code. While it starts, :class:`StderrCapture` sends file
descriptor 2 to a temporary file; if the loop fails before the mount is up, the captured lines
are the reason of the one :class:`~putiofs.mount.checks.MountError` (:func:`reason_of`), and
nothing else reaches the terminal. Once the mount is up (libfuse's ``init``) stderr is given
back, with what was captured written to it.

**The background.** libfuse's own daemonizing forks after mounting and its parent exits 0
before the loop has even started, so the command could not tell a failure from a success.
Instead :func:`detach` forks first: the child mounts in the foreground of its own session and
says "ready" through a pipe from ``init``; the parent waits for that, prints the announce line
and exits 0, or, when the child ends without saying it (its error line already printed on the
same stderr), exits with the child's status. The child then lets go of the terminal: stdin and
stdout go to /dev/null, and stderr too unless the log is written there (``--log-file -``, or
systemd's journal).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import BinaryIO

_READY = b"R"
#: libfuse's and fusermount's prefixes of their lines, left out of our one line.
_PREFIXES = ("fusermount3: ", "fusermount: ", "fuse: ")


class StderrCapture:
    """File descriptor 2 sent to a temporary file until :meth:`release` (idempotent)."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._saved: int | None = os.dup(2)
        self._file: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by release
        os.dup2(self._file.fileno(), 2)

    def release(self, *, replay: bool = True) -> str:
        """Give stderr back; what was captured (written to stderr again when ``replay``)."""
        if self._saved is None:
            return ""
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None
        self._file.seek(0)
        captured = self._file.read()
        self._file.close()
        if replay and captured:
            with contextlib.suppress(OSError):
                os.write(2, captured)
        return captured.decode("utf-8", "replace")


def reason_of(captured: str, code: object) -> str:
    """libfuse's words as one line: its lines joined, their ``fuse:`` prefixes dropped, with a
    hint where the fix is known; its code when it said nothing."""
    lines = [line.strip() for line in captured.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        for prefix in _PREFIXES:
            if line.startswith(prefix):
                lines[index] = line[len(prefix):]
                break
    reason = "; ".join(dict.fromkeys(lines)) or f"libfuse returned {code}"
    if "user_allow_other" in reason:
        reason += " (add the line user_allow_other to /etc/fuse.conf, or mount as root)"
    return reason


class Detached:
    """The child's end of :func:`detach`: :meth:`ready` once the mount answers."""

    def __init__(self, ready_fd: int, keep_stderr: bool) -> None:
        self._fd: int | None = ready_fd
        self._keep_stderr = keep_stderr

    def ready(self) -> None:
        """Tell the waiting parent the mount is up, and let go of the terminal."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._fd, _READY)
        os.close(self._fd)
        self._fd = None
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1) if self._keep_stderr else (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)


def detach(announce: str | None, *, keep_stderr: bool) -> Detached:
    """Fork: in the parent, wait for the child and exit (0 once it is :meth:`Detached.ready`,
    printing ``announce``; else the child's status); in the child, a new session and the
    :class:`Detached` to call once mounted."""
    sys.stdout.flush()
    sys.stderr.flush()
    ready_fd, tell_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_fd)
        os.setsid()
        os.chdir("/")   # hold no folder busy (as libfuse's daemonizing does)
        return Detached(tell_fd, keep_stderr)
    os.close(tell_fd)
    said = b""
    with contextlib.suppress(OSError):
        said = os.read(ready_fd, 1)
    if said == _READY:
        if announce:
            print(announce, file=sys.stderr, flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) or 1)
