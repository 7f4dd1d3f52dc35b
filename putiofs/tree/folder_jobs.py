"""The background work a folder's listing starts (thumbnails, subtitles): a bounded queue of
one job per folder, filled by a :attr:`MetadataCache.listing_observers` observer on the
fetching thread, and the worker threads that take the jobs, so no FUSE call waits for them.

A newer job of a folder still queued replaces it (in its place); at most ``queue_size``
folders wait, and a job beyond them is dropped (it comes back at the folder's next listing).
Workers start once mounted (libfuse's fork keeps no thread) and never die of an exception:
one is logged as a failure of ``work``. :class:`FailureLog` logs a kind of failure once at
info, then at debug.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Job = TypeVar("Job")


class FailureLog:
    """``name: <what> failed (<detail>)``: the first of each ``what`` at info, with a word
    that later ones go to debug, then at debug. The detail names what failed, never a URL."""

    def __init__(self, log: logging.Logger, name: str) -> None:
        self._log = log
        self._name = name
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, what: str, detail: str) -> None:
        with self._lock:
            first = what not in self._logged
            self._logged.add(what)
        self._log.log(logging.INFO if first else logging.DEBUG,
                      "%s: %s failed (%s)%s", self._name, what, detail,
                      "; later such failures are logged at debug level" if first else "")


class FolderJobs(Generic[Job]):
    """Jobs by folder id, done by ``do(folder_id, job)`` on ``workers`` threads named
    ``putiofs-<name>-<n>``; ``failed(what, detail)`` is told of an exception of ``do``."""

    def __init__(self, name: str, do: Callable[[str, Job], None],
                 failed: Callable[[str, str], None], *, log: logging.Logger, workers: int,
                 queue_size: int) -> None:
        self.name = name
        self.queue_size = queue_size
        self._do = do
        self._failed = failed
        self._log = log
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._busy = 0
        self._wake = threading.Condition(threading.Lock())
        self.stopping = False

    def offer(self, folder_id: str, job: Job) -> None:
        with self._wake:
            if self.stopping:
                return
            if folder_id not in self._jobs and len(self._jobs) >= self.queue_size:
                self._log.debug("%s: %d folders wait, folder %s is left for its next listing",
                                self.name, len(self._jobs), folder_id)
                return
            self._jobs[folder_id] = job
            self._wake.notify()

    def start(self) -> None:
        for number in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"putiofs-{self.name}-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, wait: float = 5.0) -> None:
        """Drop what waits and end the workers, waiting ``wait`` seconds at most in all (a
        job under way ends by its own timeouts, in a daemon thread)."""
        with self._wake:
            self.stopping = True
            self._jobs.clear()
            self._wake.notify_all()
        until = time.monotonic() + wait
        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))

    def idle(self) -> bool:
        """Nothing waits and no worker is at a job."""
        with self._wake:
            return not self._jobs and not self._busy

    def waiting(self) -> dict[str, Job]:
        """The jobs queued, oldest first."""
        with self._wake:
            return dict(self._jobs)

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._jobs and not self.stopping:
                    self._wake.wait()
                if self.stopping:
                    return
                folder_id, job = self._jobs.popitem(last=False)
                self._busy += 1
            try:
                self._do(folder_id, job)
            except Exception as exc:  # noqa: BLE001 - a thread of its own: log, never die
                self._failed("work", f"folder {folder_id}: {type(exc).__name__}")
            finally:
                with self._wake:
                    self._busy -= 1
