"""``--on-change COMMAND``: the queue, the thread and the shell.

Changes are queued by whoever learns of them (a FUSE call, the events' listener: queuing is
all they do, so no FUSE call ever waits for a hook) and run by one thread of the runner:

- **Batches.** The first change opens a batch; it closes after ``SETTLE`` seconds without a
  new change, or ``BATCH_SPAN`` seconds after it opened, whichever comes first. Its paths are
  then worked out (:meth:`putiofs.tree.changes.ChangeFeed.resolve`), repeats dropped and bursts
  folded (:mod:`putiofs.hooks.batches`): 500 files of one torrent are one run.
- **One at a time.** Runs go one after the other, never two at once; changes that arrive
  meanwhile wait in the queue for the next batch.
- **The shell.** Each run is ``/bin/sh -c COMMAND`` as the mount's user, in the mount's
  environment without the ``PUTIO_*`` variables (the account's token and keys), plus
  ``PUTIOFS_EVENT`` (created, changed, deleted, moved), ``PUTIOFS_PATH`` (the absolute local
  path, mountpoint included: what a media server knows the file by), ``PUTIOFS_REL_PATH``
  (the path inside the mount, from "/"), ``PUTIOFS_OLD_PATH`` and ``PUTIOFS_OLD_REL_PATH``
  (moves only), ``PUTIOFS_TYPE`` (file or folder), ``PUTIOFS_MOUNTPOINT`` and
  ``PUTIOFS_COUNT`` (how many changes the run stands for). Its stdin has those changes, one
  a line: event, path and (moves) old path, separated by tabs. Its stdout is dropped.
- **Failures.** A run that exits non-zero, cannot start, or outlasts ``--on-change-timeout``
  (default ``TIMEOUT``; it and everything it started are killed) is a WARNING with the end
  of its stderr, never a traceback; the next run goes on. The command line itself is never
  logged: it may hold a media server's API key.
- **Unmount.** :meth:`HookRunner.stop` runs what is queued at once (no settling) and waits
  for it up to ``STOP_WAIT`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from putiofs.hooks.batches import DEDUP_WINDOW, Deduplicator, Run, plan
from putiofs.tree.changes import MOVED, Change

log = logging.getLogger("putiofs.hooks")

#: Seconds without a new change that close a batch.
SETTLE = 1.5
#: The longest a batch stays open, in seconds, however the changes keep coming.
BATCH_SPAN = 10.0
#: Seconds a run may take before it is killed (``--on-change-timeout``).
TIMEOUT = 60.0
#: Seconds an unmount waits for the last runs.
STOP_WAIT = 10.0
#: The most characters of a failed run's stderr the log shows (its end).
STDERR_SHOWN = 500
SHELL = "/bin/sh"
#: The prefix of the environment variables the command is not given (the account's).
SECRET_PREFIX = "PUTIO_"

Resolver = Callable[[list[Change]], list[Change]]
_END_OF_QUEUE = object()


def hook_environment(base: Mapping[str, str], run: Run, mountpoint: Path) -> dict[str, str]:
    """The command's environment for ``run``: ``base`` without ``PUTIO_*``, plus the
    ``PUTIOFS_*`` variables (see the module docstring)."""
    env = {key: value for key, value in base.items() if not key.startswith(SECRET_PREFIX)}
    env = {key: value for key, value in env.items() if not key.startswith("PUTIOFS_")}
    env.update(PUTIOFS_EVENT=run.event, PUTIOFS_PATH=local_path(mountpoint, run.path),
               PUTIOFS_REL_PATH=run.path, PUTIOFS_TYPE="folder" if run.is_dir else "file",
               PUTIOFS_MOUNTPOINT=str(mountpoint), PUTIOFS_COUNT=str(len(run.changes)))
    if run.event == MOVED and run.old_path is not None:
        env.update(PUTIOFS_OLD_PATH=local_path(mountpoint, run.old_path),
                   PUTIOFS_OLD_REL_PATH=run.old_path)
    return env


def local_path(mountpoint: Path, path: str) -> str:
    """A mount path ("/a/b") as the local file system names it ("/mnt/putio/a/b")."""
    inside = path.strip("/")
    return str(mountpoint / inside) if inside else str(mountpoint)


def stdin_lines(run: Run, mountpoint: Path) -> bytes:
    lines = []
    for change in run.changes:
        fields = [change.event, local_path(mountpoint, change.path or "/")]
        if change.event == MOVED and change.old_path is not None:
            fields.append(local_path(mountpoint, change.old_path))
        lines.append("\t".join(fields))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


class HookRunner:
    """Runs ``command`` for the changes :meth:`submit` is given (see the module docstring).
    ``resolve`` fills in the paths of a batch's changes (on the runner's thread)."""

    def __init__(self, command: str, mountpoint: Path, resolve: Resolver = lambda c: c, *,
                 timeout: float = TIMEOUT, settle: float = SETTLE,
                 batch_span: float = BATCH_SPAN, dedup_window: float = DEDUP_WINDOW,
                 environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.command = command
        self.mountpoint = mountpoint
        self.resolve = resolve
        self.timeout = timeout
        self.settle = settle
        self.batch_span = batch_span
        self.environ = environ
        self._clock = clock
        self._seen = Deduplicator(dedup_window, clock)
        self._queue: queue.Queue[object] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Runs done and failed (for tests and the log's story).
        self.runs = 0
        self.failures = 0

    def submit(self, change: Change) -> None:
        """Queue one change; never waits."""
        self._queue.put(change)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="putiofs-on-change",
                                        daemon=True)
        self._thread.start()

    def stop(self, wait: float = STOP_WAIT) -> None:
        """Run what is queued now, without settling, and wait for it up to ``wait`` s."""
        self._stopping.set()
        self._queue.put(_END_OF_QUEUE)
        if self._thread is not None:
            self._thread.join(wait)

    # -- the thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            batch, stop = self._next_batch()
            try:
                if batch:
                    self.run_batch(batch)
            except Exception:  # a thread of its own: log, never die
                log.exception("on-change: a batch of %d change(s) was not run", len(batch))
            if stop:
                return

    def _next_batch(self) -> tuple[list[Change], bool]:
        """The next batch (waits for its first change), and whether to stop after it."""
        first = self._queue.get()
        if first is _END_OF_QUEUE:
            return [], True
        batch = [first]
        opened = self._clock()
        while True:
            wait = 0.0 if self._stopping.is_set() else min(
                self.settle, self.batch_span - (self._clock() - opened))
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                return batch, False  # type: ignore[return-value]
            if item is _END_OF_QUEUE:
                return batch, True  # type: ignore[return-value]
            batch.append(item)

    def run_batch(self, changes: list[Change]) -> None:
        """Resolve, drop repeats, fold and run one batch (on the calling thread)."""
        resolved = self._seen.fresh(self.resolve(changes))
        for run in plan(resolved):
            self.run_one(run)

    def run_one(self, run: Run) -> bool:
        """One run of the command; True if it exited 0."""
        self.runs += 1
        told = f"{run.event} {local_path(self.mountpoint, run.path)}"
        if len(run.changes) > 1:
            told += f" ({len(run.changes)} changes)"
        env = hook_environment(os.environ if self.environ is None else self.environ, run,
                               self.mountpoint)
        log.debug("on-change: %s", told)
        with tempfile.TemporaryFile() as errors:
            try:
                process = subprocess.Popen(  # noqa: S603 - the user's own command, on purpose
                    [SHELL, "-c", self.command], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=errors, env=env, close_fds=True,
                    start_new_session=True)
            except OSError as exc:
                self.failures += 1
                log.warning("on-change: the command could not be started for %s: %s", told,
                            exc.strerror or type(exc).__name__)
                return False
            try:
                process.communicate(stdin_lines(run, self.mountpoint), timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._kill(process)
                self.failures += 1
                log.warning("on-change: the command was killed after %.0f s for %s%s",
                            self.timeout, told, _tail(errors))
                return False
            if process.returncode != 0:
                self.failures += 1
                log.warning("on-change: the command failed (%s) for %s%s",
                            _exit_status(process.returncode), told, _tail(errors))
                return False
        return True

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        """Kill the run and what it started (its own session: ``start_new_session``)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)


def _exit_status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit status {code}"


def _tail(errors: IO[bytes]) -> str:
    """': ' and the end of the run's stderr (on one line), or nothing if it wrote none."""
    try:
        size = errors.seek(0, os.SEEK_END)
        errors.seek(max(0, size - 4 * STDERR_SHOWN))
        text = errors.read().decode("utf-8", "replace")
    except OSError:
        return ""
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(text) > STDERR_SHOWN:
        text = "..." + text[-STDERR_SHOWN:]
    return f": {text}" if text else ""
