"""One TUS upload of a pending file, resumed at the server's offset.

The uploader (:mod:`putiofs.write.uploader`) keeps the queue and its workers; each worker hands
the job it runs to the one :class:`TusTransfer` it holds. The ticket is saved in the manifest
before the first byte is sent; after a failure the server's offset is asked and the upload goes on
from there; a ticket the server forgot (or of another size) starts anew. Chunks are streamed from
the data file (the backend reads ``length`` bytes of it per call). A temporary error is retried a
few times within the job (``Job.error`` says so meanwhile); anything else is raised to the job.

A ``409`` (:class:`~putiofs.api.errors.UploadOffsetError`) is followed at once only when the
server's offset (``HEAD``) moved: it kept bytes of a PATCH whose answer was lost. A 409 at our own
offset means the server still holds an earlier PATCH of the upload (a stalled connection it has
not given up yet); it, or a second 409 in a row, is raised to the job, which backs off (state
``retrying``, with the reason) instead of sending HEAD and PATCH as fast as the server answers.
When the mount stops, :class:`Interrupted` is raised: the upload stays in the spool, with its
ticket, for the next mount.

With a bandwidth limit (``limit``, the mount's upload bucket of :mod:`putiofs.net.bandwidth`,
shared by every worker) each block of the body is paid for as it is read for sending
(:class:`Throttled`), so a PATCH goes out at the limit whatever its chunk size.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from putiofs.api.backend import Backend, Entry, UploadTicket
from putiofs.api.errors import NotFoundError, PutioError, QuotaExceededError, UploadOffsetError
from putiofs.net.bandwidth import TokenBucket
from putiofs.net.retry import is_temporary
from putiofs.write.landing import Landing
from putiofs.write.spool import SpoolFile

log = logging.getLogger("putiofs.write")

#: Attempts of one chunk within a job (network hiccups) before the job itself backs off.
CHUNK_ATTEMPTS = 4


@dataclass
class Job:
    """One pending file's upload: the queue's record (``state``, ``failures``, ``next_try``,
    ``error``; the uploader's) and its transfer's progress (``bytes_done``, ``speed``; this
    module's). ``cancelled`` is set by the queue and stops the transfer at its next chunk."""

    file: SpoolFile
    state: str = "queued"
    bytes_done: int = 0
    speed: float = 0.0
    error: str | None = None
    failures: int = 0
    next_try: float = 0.0
    cancelled: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class Cancelled(Exception):
    """The file was dropped (unlinked, superseded) while its job ran."""


class Interrupted(Exception):
    """The mount is stopping: the upload goes on at the next mount, from the server's offset."""


class Throttled:
    """A file read for sending, each block paid for from ``bucket`` once read (what the
    PATCH body uses of a file: read, seek, tell)."""

    def __init__(self, source: BinaryIO, bucket: TokenBucket) -> None:
        self._source = source
        self._bucket = bucket

    def read(self, size: int = -1) -> bytes:
        block = self._source.read(size)
        self._bucket.spend(len(block))
        return block

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()


#: Why a job backs off after a 409 that is not about a lost answer.
HELD = "put.io still holds an earlier PATCH of this upload"


class TusTransfer:
    """Sends a job's file to put.io in ``chunk_size`` chunks (any number of workers at once, one
    job each). The landing gives where the file goes now (under the overlay's lock, the
    uploader's too), the mount's ``stopping`` event, and the deletions an aborted upload's item
    goes to."""

    def __init__(self, backend: Backend, landing: Landing, *, chunk_size: int,
                 clock: Callable[[], float],
                 progressed: Callable[[], None] = lambda: None) -> None:
        self.backend = backend
        self.landing = landing
        self.chunk_size = max(1, chunk_size)
        self._lock = landing.overlay.lock
        self._stopping = landing.stopping
        self._clock = clock
        self._progressed = progressed  # after each chunk the server took (the status file)
        #: The mount's upload bucket (``--bwlimit``), None: not limited.
        self.limit: TokenBucket | None = None

    def abort(self, spooled: SpoolFile) -> None:
        """Drop the file's TUS upload. One that is already complete has made its item (an
        empty file is complete as soon as it is created): that item is deleted, or put.io
        would keep a file the user removed (an editor's swap file, say)."""
        ticket = spooled.manifest.ticket
        if not ticket:
            return
        upload = UploadTicket(**ticket)
        with contextlib.suppress(PutioError):
            if self.backend.upload_offset(upload) >= upload.size:
                made = self.backend.upload_send(upload, upload.size, io.BytesIO(b""), 0).entry
                if made is not None:
                    self.landing.deletions.add([(made.id, made.parent_id)],
                                               spooled.manifest.path)
                    self.landing.deletions.run([made.id], self._stopping)
                    self.landing.cache.removed(made)  # an event may have shown it meanwhile
                return
            self.backend.upload_abort(upload)

    def _ticket(self, job: Job) -> tuple[UploadTicket, int]:
        """The saved ticket and the server's offset, or a new ticket (saved before use)."""
        spooled, manifest = job.file, job.file.manifest
        if manifest.ticket:
            ticket = UploadTicket(**manifest.ticket)
            if ticket.size == manifest.size:
                try:
                    return ticket, self.backend.upload_offset(ticket)
                except NotFoundError:
                    log.info("upload of %s: the server forgot it; starting anew", manifest.path)
            else:
                self.abort(spooled)
        with self._lock:
            target = self.landing.target(spooled)
        if target is None:
            raise Cancelled
        ticket = self.backend.upload_begin(target[0], target[1], manifest.size,
                                           float(int(manifest.mtime)))
        manifest.ticket = asdict(ticket)
        spooled.save()
        return ticket, 0

    def send(self, job: Job) -> Entry:
        """Upload the job's file (resuming its saved ticket); the complete new item. Cancelled
        if the file was dropped meanwhile, Interrupted if the mount stops; a PutioError when it
        cannot go on."""
        spooled, size = job.file, job.file.manifest.size
        ticket, offset = self._ticket(job)
        started, sent = self._clock(), 0
        failures = conflicts = 0
        with spooled.open_reader() as source:
            body: Any = source if self.limit is None else Throttled(source, self.limit)
            while True:
                if job.cancelled:
                    raise Cancelled
                if self._stopping.is_set():
                    raise Interrupted
                job.bytes_done = offset
                length = min(self.chunk_size, size - offset)
                body.seek(offset)
                try:
                    progress = self.backend.upload_send(ticket, offset, body, length)
                except UploadOffsetError as exc:
                    conflicts += 1
                    ahead = self.backend.upload_offset(ticket)
                    if ahead == offset or conflicts > 1:
                        raise UploadOffsetError(f"{HELD} (HTTP {exc.status or 409})",
                                                status=exc.status) from exc
                    offset = ahead
                    continue
                except (QuotaExceededError, NotFoundError):
                    raise
                except PutioError as exc:
                    failures += 1
                    if failures >= CHUNK_ATTEMPTS or not is_temporary(exc):
                        raise
                    log.info("upload of %s: %s at byte %d; resuming", spooled.manifest.path,
                             type(exc).__name__, offset)
                    job.error = f"{type(exc).__name__} at byte {offset}; resuming"
                    if self._stopping.wait(min(8.0, 0.5 * 2 ** failures)):
                        raise Interrupted from exc
                    offset = self.backend.upload_offset(ticket)
                    continue
                if progress.offset > offset:
                    failures = conflicts = 0
                    job.error = None
                    sent += progress.offset - offset
                offset = progress.offset
                elapsed = self._clock() - started
                job.bytes_done, job.speed = offset, sent / elapsed if elapsed > 0 else 0.0
                self._progressed()
                if progress.entry is not None:
                    return progress.entry
