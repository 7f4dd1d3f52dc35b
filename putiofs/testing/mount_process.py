"""A FUSE filesystem served by a child process: start it, wait for the mount, take it down.

The test suite and the benchmark both drive mounts this way (``putiofs mount -f``, or the
benchmark's in-memory filesystem), so there is one place that knows how: wait until the
mountpoint is a mount (or the process has died, or time is up), unmount with whatever tool
this system has (:func:`putiofs.mount.checks.unmount_command`), and never leave a process or a mount
behind: a process that does not exit after the unmount is detached lazily and killed.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from putiofs.mount.checks import unmount_command


class MountProcessError(RuntimeError):
    """The mount did not come up, or its process did not go away; the message says why."""


class MountProcess:
    """``argv`` serving ``mountpoint``; ``log_file`` is where it logs (read by :meth:`log`).

    stdout and stderr are pipes (text) unless ``stderr=subprocess.STDOUT`` merges them.
    """

    def __init__(self, argv: list[str], mountpoint: Path, *, log_file: Path | None = None,
                 env: dict[str, str] | None = None, timeout: float = 20.0,
                 stderr: int = subprocess.PIPE) -> None:
        self.path = mountpoint
        self.log_file = log_file
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=stderr,
                                        text=True)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(mountpoint):
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                raise MountProcessError(
                    f"{argv[0]} exited {self.process.returncode} before mounting {mountpoint}: "
                    f"{(err or '').strip()} {(out or '').strip()}\n{self.log()}")
            if time.monotonic() > deadline:
                self._force()
                raise MountProcessError(f"no mount at {mountpoint} after {timeout} s\n"
                                        f"{self.describe()}")
            time.sleep(0.02)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        if self.log_file is None:
            return "(no log file)"
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def describe(self) -> str:
        """The mount table and the log, for a failure message."""
        mounts = Path("/proc/mounts").read_text(errors="replace")
        return f"mount table:\n{mounts}\nmount log:\n{self.log()}"

    def unmount(self, timeout: float = 20.0) -> int:
        """Unmount and wait for the process; its exit code. MountProcessError if it had to be
        detached lazily and killed (it is gone either way)."""
        said = "it was not mounted"
        if os.path.ismount(self.path):
            done = subprocess.run(unmount_command(self.path), check=False, capture_output=True,
                                  text=True)
            said = f"the unmount exited {done.returncode}: {done.stderr.strip()}"
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._force()
            raise MountProcessError(f"{self.path}: the process did not exit after unmount "
                                    f"({said})\n{self.describe()}") from None

    def _force(self) -> None:
        subprocess.run(unmount_command(self.path, lazy=True), check=False, capture_output=True)
        self.process.kill()
        self.process.wait(5)
