"""The uploader: pending files of the spool go to put.io in worker threads, never lost on the way.

Every network step of writing happens here, outside any FUSE call: fetching the rest of an
original file opened without ``O_TRUNC``, the TUS upload, putting the new item where the file is
now, deleting what it replaces, setting its time. The FUSE side (:mod:`putiofs.front.writes`)
only queues closed files (accepted, durable since their flush) and answers from the spool.

Decisions:

* **Resumable.** The TUS ticket is saved in the manifest before the first byte is sent; after any
  failure the server's offset is asked (``HEAD``) and the upload goes on from there, also after a
  remount. A ticket the server forgot (or of another size) starts anew. Chunks are
  ``chunk_size`` bytes (``--upload-chunk-size``), streamed from the data file, never held in
  memory.
* **Backoff.** A temporary failure (network, 5xx, 429, busy: as
  :func:`putiofs.net.retry.is_temporary` decides) is retried at once a few times within the job,
  then the job waits, doubling from 1 s up to 5 min (with jitter), and is tried again for as
  long as the mount runs. A refusal for quota (put.io disk full) marks the file with
  ``ENOSPC`` (its next fsync/close says so) and is retried the same way.
* **A 409 at the server's own offset** (it still holds an earlier PATCH: a stalled connection)
  backs off like any temporary failure, listed as ``retrying`` with that reason
  (:mod:`putiofs.write.transfer`); a job that moved on since its last try starts its backoff
  again from 1 s.
* **Permanent failures are reported, never retried in a loop.** A file put.io will never take
  where and as it is (its folder is gone, put.io refuses its name, its original opened without
  ``O_TRUNC`` can no longer be read) is *handed back*: it leaves the mount at once (what it
  replaced is shown again, its open handles answer ESTALE), its data goes to ``recovered/`` with
  one ERROR line, and it is listed ``failed`` with the reason and where its data is for the rest
  of the mount; nothing of it is uploaded, now or by the next mount. Any other refusal that
  trying again cannot change (authentication, permission, an unexpected error) marks the upload
  ``failed`` with put.io's reason and an ERROR line: its data stays in the spool (and shown in
  the mount) for the next mount to try again, and unmount does not wait for it.
* **Unmount** stops an upload between two chunks (or when the PATCH in flight ends): one WARNING
  says it was interrupted and goes on at the next mount; it stays queued in the last status.
* **Landing** (:mod:`putiofs.write.landing`): the new item takes the file's place, then the items it
  replaces are deleted (kept until done, also across mounts). The new item's id is saved in the
  manifest as soon as the upload is complete, so a landing tried again never uploads twice; one
  that cannot be done is reported as ``failed`` and leaves the new item where it was uploaded.
* **One path at a time.** Jobs run FIFO, several at once, but never two for the same folder and
  name: a later version of a file waits for the earlier one.
* **Times.** The upload carries the file's mtime (set again after landing if put.io's differs).
* **Visibility.** :meth:`Uploads.snapshot` gives neutral :class:`UploadStatus` records (with
  the ``refused`` versions the FUSE side dropped, :meth:`Uploads.refused`); ``status.json`` in
  the account's spool folder carries the same, rewritten after every chunk put.io took and
  about once a second while anything is pending (see :func:`write_status`). The log has one
  INFO line per finished upload and one WARNING/ERROR per failure, never the TUS URL.
* **Own events.** While a job runs and lands, the cache is told what it changes (its name in
  its folder, the ids it makes, renames and deletes:
  :meth:`putiofs.tree.cache.MetadataCache.quiet`), so that only those realtime events are set
  aside, not other clients' changes in the same folder.
* **No thread dies.** A worker turns anything its job raises into a ``failed`` record; the status
  thread (status.json, the quota, the deletes due, the spool's reserve) logs an error once and
  goes on, so a full cache disk stops none of them.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable

from putiofs.api.backend import Backend, Entry
from putiofs.api.errors import (
    InvalidNameError,
    NoSpaceError,
    NotFoundError,
    PutioError,
    QuotaExceededError,
    UploadOffsetError,
)
from putiofs.net.retry import is_temporary
from putiofs.write.landing import BACKOFF_MAX, Landing, LandingFailed
from putiofs.write.spool import Spool, SpoolFile
from putiofs.write.status import STATUS_FILE, UploadStatus, write_status
from putiofs.write.transfer import Cancelled, Interrupted, Job, TusTransfer

log = logging.getLogger("putiofs.write")

QUOTA_TTL = 30.0


class BaseGone(Exception):
    """The original of a file opened without O_TRUNC can no longer be read from put.io."""


class Uploads:
    """The queue of all uploads, its worker threads and its status (each job's bytes are sent
    by :attr:`transfer`). ``start`` before use, ``stop`` at unmount."""

    def __init__(self, backend: Backend, spool: Spool, landing: Landing,
                 fill_base: Callable[[SpoolFile], None], *, chunk_size: int,
                 workers: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.spool = spool
        self.landing = landing
        self.fill_base = fill_base
        self.transfer = TusTransfer(backend, landing, chunk_size=chunk_size, clock=clock,
                                    progressed=self._publish)
        self.lock = landing.overlay.lock
        self._failed: list[Job] = []   # permanent failures, shown until the file changes
        self._refused: list[UploadStatus] = []  # versions refused while written, not uploaded
        self._changed = threading.Condition(self.lock)
        self._jobs: list[Job] = []
        self._running: dict[str, Job] = {}
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._stopping = landing.stopping
        self._clock = clock
        self.open_files: Callable[[], list[UploadStatus]] = list
        self.available: int | None = None   # put.io's free bytes as last asked
        self._quota_at = -QUOTA_TTL

    # -- room ------------------------------------------------------------------------------

    def refresh_quota(self) -> None:
        """Ask put.io's free space (at start, every QUOTA_TTL s while uploading, after each
        upload); keep the last answer when asking fails."""
        self._quota_at = self._clock()
        try:
            quota = self.backend.quota()
        except PutioError as exc:
            log.debug("quota unavailable: %s", type(exc).__name__)
            return
        self.available = quota.available if quota is not None else None

    def charge_check(self, grow: int) -> None:
        """NoSpaceError if ``grow`` more bytes would not fit: in the spool
        (``--cache-max-size``), or with what is already pending, in put.io's free space as last
        asked."""
        if self.spool.used + grow > self.spool.max_size:
            raise NoSpaceError(f"{grow} more bytes would pass the spool's cap "
                               f"(--cache-max-size, {self.spool.max_size} bytes)")
        available = self.available
        if available is not None and self.pending_bytes() + grow > available:
            raise NoSpaceError(f"{grow} more bytes would pass put.io's free space "
                               f"({available} bytes as last asked)")

    def pending_bytes(self) -> int:
        """Bytes in the spool not yet on put.io (files being written included)."""
        with self.lock:
            sent = sum(j.bytes_done for j in self._jobs)
        return max(0, self.spool.used - sent)

    # -- the queue -------------------------------------------------------------------------

    def start(self) -> None:
        for number in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"putiofs-upload-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        status = threading.Thread(target=self._report, name="putiofs-upload-status",
                                  daemon=True)
        status.start()
        self._threads.append(status)

    def submit(self, spooled: SpoolFile) -> Job:
        with self.lock:
            if spooled.gone:  # its data is gone (handed back, dropped): nothing to upload
                job = Job(spooled, state="failed", error="its data is gone")
                job.done.set()
                return job
            self._failed = [job for job in self._failed if job.file is not spooled]
            self._refused = [r for r in self._refused if r.path != spooled.manifest.path]
            for job in self._jobs:
                if job.file is spooled:
                    return job
            job = Job(spooled, bytes_done=0)
            self._jobs.append(job)
            self._changed.notify_all()
            return job

    def withdraw(self, spooled: SpoolFile, *, cancel: bool = True) -> bool:
        """Take a file's job off the queue: True if it had not started (or there was none);
        False if it is running (then, with ``cancel``, it stops at its next step). A handed-back
        file's failure stays listed: it is the only word of where its data went."""
        with self.lock:
            self._failed = [job for job in self._failed
                            if job.file is not spooled or spooled.handed_back]
            job = self.job_of(spooled)
            if job is None:
                return True
            if job.state == "uploading":
                job.cancelled = job.cancelled or cancel
                return False
            self._jobs.remove(job)
            job.done.set()
            self._changed.notify_all()
            return True

    def job_of(self, spooled: SpoolFile) -> Job | None:
        with self.lock:
            return next((job for job in self._jobs if job.file is spooled), None)

    @staticmethod
    def quota_refused(spooled: SpoolFile) -> bool:
        return spooled.quota_refused

    def refused(self, path: str, size: int, reason: str) -> None:
        """A version was refused while written (its writer saw the error) and dropped: one
        WARNING line, and a ``refused`` record until a new version of the path is queued."""
        log.warning("%s not uploaded: a write to it was refused (%s); what was there before "
                    "stays", path, reason)
        with self.lock:
            self._refused = [*[r for r in self._refused if r.path != path][-99:],
                             UploadStatus(path=path, size=size, state="refused", error=reason)]

    def pending(self) -> tuple[int, int]:
        """(jobs, bytes not yet on put.io)."""
        with self.lock:
            return (len(self._jobs),
                    sum(max(0, j.file.manifest.size - j.bytes_done) for j in self._jobs))

    def wait(self, timeout: float, progress: Callable[[int, int], None] | None = None,
             every: float = 5.0) -> bool:
        """Wait until no job is left, at most ``timeout`` s; ``progress(jobs, bytes)`` every
        ``every`` s meanwhile. True if none is left."""
        end = self._clock() + timeout
        next_report = self._clock() + every
        with self.lock:
            while self._jobs:
                now = self._clock()
                if now >= end:
                    return False
                if progress is not None and now >= next_report:
                    progress(*self.pending())
                    next_report = now + every
                self._changed.wait(min(0.2, end - now))
        return True

    def stop(self) -> None:
        """Stop the workers (a PATCH in flight ends within its request timeout; what is left
        stays in the spool with its ticket for the next mount)."""
        self._stopping.set()
        with self.lock:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        try:
            self.write_status()
        except OSError as exc:
            log.warning("uploads status not written (%s)", exc.strerror)

    # -- visibility ------------------------------------------------------------------------

    def snapshot(self) -> list[UploadStatus]:
        """Files being written, uploads queued, running, retrying or failed, versions
        refused, and handed-back files."""
        with self.lock:
            records = [UploadStatus(path=j.file.manifest.path, size=j.file.manifest.size,
                                    bytes_done=j.bytes_done, speed=round(j.speed, 1),
                                    state=j.state, error=j.error)
                       for j in [*self._jobs, *self._failed]]
            records += self._refused
        records = self.open_files() + records
        with contextlib.suppress(OSError):
            records += [UploadStatus(path=str(p), size=p.stat().st_size, state="recovered")
                        for p in self.spool.recovered_files()]
        return records

    def write_status(self) -> None:
        write_status(self.spool.root / STATUS_FILE, self.snapshot())

    def _publish(self) -> None:
        """``status.json`` anew after each chunk put.io took, so that ``putiofs uploads`` says
        what ``/.putio/uploads`` says (the status thread writes it every second besides)."""
        with contextlib.suppress(OSError):
            self.write_status()

    def _report(self) -> None:
        """About once a second: status.json while anything is pending (and once after), the
        quota while uploading, the deletes due, the spool's reserve. It never stops for an
        error (one line each time the error changes)."""
        written_empty = False
        last_error = ""
        while not self._stopping.wait(1.0):
            try:
                written_empty = self._report_once(written_empty)
                last_error = ""
            except Exception as exc:  # noqa: BLE001 - the status thread must survive anything
                error = f"{type(exc).__name__}: {exc}"
                if error != last_error:
                    log.error("uploads status: %s (going on)", error)
                last_error = error

    def _report_once(self, written_empty: bool) -> bool:
        if self._jobs and self._clock() - self._quota_at >= QUOTA_TTL:
            self.refresh_quota()
        self.landing.deletions.retry_due()
        self.spool.has_room()
        records = self.snapshot()
        if records or not written_empty:
            with contextlib.suppress(OSError):
                write_status(self.spool.root / STATUS_FILE, records)
            return not records
        return written_empty

    # -- the workers -----------------------------------------------------------------------

    def _next_job(self) -> Job | None:
        with self.lock:
            while not self._stopping.is_set():
                now = self._clock()
                busy = {self._key(j) for j in self._running.values()}
                wake = 1.0
                seen: set[tuple[str, str]] = set()
                for job in self._jobs:
                    key = self._key(job)
                    if job.state == "uploading" or key in seen:
                        seen.add(key)
                        continue
                    seen.add(key)
                    if key in busy:
                        continue
                    if job.next_try > now:
                        wake = min(wake, job.next_try - now)
                        continue
                    job.state = "uploading"
                    self._running[job.file.id] = job
                    return job
                self._changed.wait(max(0.05, wake))
        return None

    @staticmethod
    def _key(job: Job) -> tuple[str, str]:
        return (job.file.manifest.parent_id, job.file.manifest.name)

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                self._run(job)
            except Exception as exc:  # noqa: BLE001 - a worker must survive anything
                self._fail(job, f"unexpected {type(exc).__name__}: {exc}")
            finally:
                with self.lock:
                    self._running.pop(job.file.id, None)
                    self._changed.notify_all()

    def _finish(self, job: Job) -> None:
        with self.lock:
            if job in self._jobs:
                self._jobs.remove(job)
            job.done.set()
            self._changed.notify_all()

    def _fail(self, job: Job, reason: str, *, kept: bool = True) -> None:
        """A permanent failure: reported, not retried; the data stays in the spool (``kept``)
        for the next mount, or is dropped when put.io has it complete (a failed landing)."""
        log.error("upload of %s failed: %s%s", job.file.manifest.path, reason,
                  "; its data stays in the spool for the next mount" if kept else "")
        with self.lock:
            if job in self._jobs:
                self._jobs.remove(job)
            job.state, job.error, job.speed = "failed", reason, 0.0
            self._failed = [*self._failed[-99:], job]
            job.done.set()
            self._changed.notify_all()
        if not kept:
            job.file.discard()

    def _retry_later(self, job: Job, error: str) -> None:
        with self.lock:
            job.failures += 1
            delay = min(BACKOFF_MAX, 2.0 ** (job.failures - 1))
            job.next_try = self._clock() + delay * random.uniform(0.5, 1.0)
            job.state, job.error, job.speed = "retrying", error, 0.0
            self._changed.notify_all()

    def _run(self, job: Job) -> None:
        spooled, manifest = job.file, job.file.manifest
        before = job.bytes_done
        try:
            with self.lock:
                if self.landing.target(spooled) is None and not job.cancelled:
                    job.cancelled = True
            if job.cancelled:
                raise Cancelled
            cache = self.landing.cache
            with cache.quiet(manifest.parent_id, [manifest.name], manifest.replaces) as own:
                entry = self._landed_entry(spooled)
                if entry is None:
                    try:
                        self.fill_base(spooled)
                    except NotFoundError as exc:
                        raise BaseGone from exc
                    entry = self.transfer.send(job)
                    manifest.landed_id = entry.id
                    spooled.save()
                own.add(entry.id)
                with self.lock:
                    there = self.landing.target(spooled) or (entry.parent_id, entry.name)
                with cache.quiet(there[0], [there[1]], [entry.id, *manifest.replaces]):
                    self.landing.land(spooled, entry)  # where it lands now
            spooled.discard()
            self._finish(job)
        except Cancelled:
            self.transfer.abort(spooled)
            log.info("upload of %s dropped: the file was removed or replaced", manifest.path)
            spooled.discard()
            self._finish(job)
        except Interrupted:
            self._interrupted(job)
        except LandingFailed as exc:
            self._fail(job, str(exc), kept=False)
        except BaseGone:
            self._hand_back(job, "its original is gone from put.io, so the parts not "
                                 "rewritten could not be fetched")
        except QuotaExceededError:
            spooled.quota_refused = True
            log.warning("upload of %s refused: put.io disk full (kept in the spool, retried)",
                        manifest.path)
            self._retry_later(job, "put.io disk full")
        except InvalidNameError as exc:
            self._hand_back(job, f"put.io refuses its name: {exc}")
        except NotFoundError as exc:
            if self._folder_gone(manifest.parent_id):
                self._hand_back(job, "its folder is gone from put.io")
            else:
                manifest.ticket = None  # the upload (or its item) is gone: start anew
                self._retry_later(job, type(exc).__name__)
        except PutioError as exc:
            if self._stopping.is_set():  # a request cut short by the unmount
                self._interrupted(job)
                return
            if not is_temporary(exc) and not isinstance(exc, UploadOffsetError):
                self._fail(job, f"put.io refused it: {exc} ({type(exc).__name__})")
                return
            reason = exc.message if isinstance(exc, UploadOffsetError) else type(exc).__name__
            log.warning("upload of %s: %s, will retry", manifest.path, reason)
            if job.bytes_done > before:
                job.failures = 0  # it moved on since its last try: the backoff starts again
            self._retry_later(job, reason)
        except OSError as exc:
            log.error("upload of %s: local error %s", manifest.path, exc.strerror)
            self._retry_later(job, exc.strerror or "local error")

    def _interrupted(self, job: Job) -> None:
        """The mount stops: the job stays queued (so the last status says it is pending) and
        its data, with its ticket, in the spool for the next mount."""
        manifest = job.file.manifest
        log.warning("upload of %s interrupted by unmount at byte %d of %d: it stays in the "
                    "spool and goes on at the next mount", manifest.path, job.bytes_done,
                    manifest.size)
        with self.lock:
            job.state, job.error, job.speed = "queued", "interrupted by unmount", 0.0
            self._changed.notify_all()

    def _hand_back(self, job: Job, reason: str) -> None:
        """A file put.io will not take where and as it is: it leaves the mount at once (what it
        replaced is shown again; its open handles answer ESTALE), its data goes to
        ``recovered/`` (the one ERROR line, by the spool), and the listings show it failed
        with the reason for the rest of the mount."""
        spooled, overlay = job.file, self.landing.overlay
        with self.lock:
            overlay.unshow(spooled)
            overlay.successor.pop(spooled.id, None)
            for item_id in spooled.manifest.replaces:
                overlay.unhide(item_id)
        kept = self.spool.hand_back(spooled, reason)
        with self.lock:
            if job in self._jobs:
                self._jobs.remove(job)
            job.state, job.error, job.speed = "failed", f"{reason}; its data is in {kept}", 0.0
            self._failed = [*self._failed[-99:], job]
            job.done.set()
            self._changed.notify_all()

    def _landed_entry(self, spooled: SpoolFile) -> Entry | None:
        """The complete new item of an earlier try, if there was one and it still exists."""
        landed_id = spooled.manifest.landed_id
        if landed_id is None:
            return None
        try:
            return self.backend.lookup(landed_id)
        except NotFoundError:
            spooled.manifest.landed_id = spooled.manifest.ticket = None
            return None

    def _folder_gone(self, folder_id: str) -> bool:
        if folder_id == "0":
            return False
        try:
            self.backend.lookup(folder_id)
        except NotFoundError:
            return True
        except PutioError:
            return False
        return False
