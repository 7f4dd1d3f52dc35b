"""The spool: written data staged on local disk until put.io has it, and found again after a crash.

Layout, under one folder per account (``<cache-dir>/<account key>/``, see :func:`account_dir`):
``pending/<id>.data`` holds a file's bytes and ``pending/<id>.json`` its manifest (what it is, where
it goes, what it replaces, how far its upload got); ``recovered/`` holds what was handed back to the
user; ``status.json`` is the uploads status (:mod:`putiofs.write.uploader`). Folders are 0700 and
files 0600: the spool holds the user's data.

Decisions:

* A manifest is replaced atomically (written to a temporary file, then ``os.replace``), so a crash
  leaves the old one or the new one, never half of one. ``durable=True`` also fsyncs the data, the
  manifest and the folder: what ``fsync(2)`` promises survives a power cut.
* ``accepted`` says the data file holds a version the user finished (closed or fsynced, and not
  written since). Only accepted files are uploaded by the next mount; a file that was still being
  written when the mount died is never uploaded (half a file must not replace a good one): it is
  handed back in ``recovered/`` with an ERROR line in the log.
* ``--cache-max-size`` caps the bytes of all pending files together (their sizes, holes
  included): a write that would pass it raises :class:`~putiofs.api.errors.NoSpaceError`
  (``ENOSPC`` for the user), and a real ``ENOSPC`` of the local disk reaches the user as it is.
  Nothing is ever dropped silently.
* A file opened for writing without ``O_TRUNC`` starts as a sparse copy of the server item (its
  *base*): blocks of :data:`BLOCK` bytes are fetched when first needed (``present`` says which are
  local); bytes at or past ``base_limit`` (the smallest size the file has had) are never the base's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from putiofs.api.errors import NoSpaceError, ServerError

log = logging.getLogger("putiofs.write")

BLOCK = 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/putiofs``, else ``~/.cache/putiofs``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "putiofs"


def account_dir(cache_dir: Path, api_url: str, user: str) -> Path:
    """The account's spool folder: a readable user part and a hash of API URL + user (never of
    the token, which changes at every login)."""
    digest = hashlib.sha256(f"{api_url}\n{user}".encode()).hexdigest()[:12]
    label = _SAFE.sub("_", user)[:40] or "account"
    return cache_dir / f"{label}-{digest}"


def parse_size(text: str) -> int:
    """``10G``, ``512M``, ``100K``, ``12345``: bytes (powers of 1024). ValueError if not."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 500M or 10G)")
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(match.group(1)) * 1024 ** power


@dataclass
class Manifest:
    """What one pending file is and where it goes (saved as JSON next to its data)."""

    id: str
    parent_id: str
    name: str                  # the put.io name
    # The mount path when last named through this file (create, rename of the file itself):
    # display only, for the log and the uploads listing. A rename of a folder above it does not
    # update it; where the file goes is parent_id + name, which a folder rename does not change.
    path: str
    size: int = 0
    mtime: float = 0.0
    accepted: bool = False
    replaces: list[str] = field(default_factory=list)
    base_id: str | None = None
    base_size: int = 0
    base_limit: int = 0
    present: list[list[int]] = field(default_factory=list)  # block ranges [start, end)
    ticket: dict[str, Any] | None = None
    landed_id: str | None = None  # the complete new item on put.io, once the upload is done
    created: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _to_ranges(blocks: set[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for block in sorted(blocks):
        if ranges and ranges[-1][1] == block:
            ranges[-1][1] = block + 1
        else:
            ranges.append([block, block + 1])
    return ranges


def _from_ranges(ranges: list[list[int]]) -> set[int]:
    return {block for start, end in ranges for block in range(start, end)}


class SpoolFile:
    """One pending file: its data file (kept open) and its manifest. Methods are thread-safe
    (one lock per file); sizes are charged to the spool before the data grows."""

    def __init__(self, spool: Spool, manifest: Manifest, fd: int) -> None:
        self.spool = spool
        self.manifest = manifest
        self.fd = fd
        self.lock = threading.RLock()
        self.present = _from_ranges(manifest.present)
        self.gone = False
        self.handed_back = False  # its data went to recovered/: open handles answer ESTALE
        self.quota_refused = False  # put.io refused its upload for lack of space (ENOSPC)
        self.users = 0  # open handles: the data stays readable until the last one goes

    @property
    def id(self) -> str:
        return self.manifest.id

    # -- the data --------------------------------------------------------------------------

    def pwrite(self, data: bytes, offset: int) -> int:
        with self.lock:
            end = offset + len(data)
            if end > self.manifest.size:
                self.spool.charge(end - self.manifest.size)
                self.manifest.size = end
            written = os.pwrite(self.fd, data, offset)
            self._mark_written(offset, end)
            return written

    def _mark_written(self, start: int, end: int) -> None:
        """Blocks fully covered by a write need nothing from the base."""
        limit = self.manifest.base_limit
        if not limit:
            return
        first = -(-start // BLOCK)
        for block in range(first, min(end, limit) // BLOCK + 1):
            if block * BLOCK >= start and min((block + 1) * BLOCK, limit) <= end:
                self.present.add(block)

    def pread(self, size: int, offset: int) -> bytes:
        with self.lock:
            size = max(0, min(size, self.manifest.size - offset))
            return os.pread(self.fd, size, offset) if size else b""

    def truncate(self, length: int) -> None:
        with self.lock:
            self.spool.charge(length - self.manifest.size)
            os.ftruncate(self.fd, length)
            self.manifest.size = length
            self.manifest.base_limit = min(self.manifest.base_limit, length)

    def missing(self, start: int, end: int) -> list[int]:
        """Blocks of the base still needed to serve bytes [start, end)."""
        with self.lock:
            limit = min(end, self.manifest.base_limit)
            if start >= limit:
                return []
            return [b for b in range(start // BLOCK, (limit - 1) // BLOCK + 1)
                    if b not in self.present]

    def fill(self, block: int, data: bytes) -> None:
        """Put the base's bytes of ``block`` in place (only the part below ``base_limit``)."""
        with self.lock:
            if block in self.present or self.gone:
                return
            start = block * BLOCK
            wanted = max(0, min(BLOCK, self.manifest.base_limit - start))
            if len(data) < wanted:
                raise ServerError(f"the original of {self.manifest.path} ended early: "
                                  f"{len(data)} bytes of block {block}, {wanted} expected")
            os.pwrite(self.fd, data[:wanted], start)
            self.present.add(block)

    # -- the manifest ----------------------------------------------------------------------

    def save(self, *, durable: bool = False) -> None:
        """Write the manifest atomically; ``durable`` also fsyncs data, manifest and folder."""
        with self.lock:
            if self.gone:
                return
            self.manifest.present = _to_ranges(self.present)
            if durable:
                os.fsync(self.fd)
            self.spool.write_manifest(self.manifest, durable=durable)

    def discard(self) -> None:
        """Forget the file: its data and manifest go, its bytes leave the cap. Handles still
        open keep reading it (the data file is unlinked, its descriptor closed at the last)."""
        with self.lock:
            if self.gone:
                return
            self.gone = True
            self.spool.charge(-self.manifest.size)
            self.spool.remove(self.id)
            self._close_if_unused()

    def retain(self) -> None:
        """One more open handle."""
        with self.lock:
            self.users += 1

    def let_go(self) -> None:
        """One handle fewer; the descriptor of a forgotten file closes with the last."""
        with self.lock:
            self.users = max(0, self.users - 1)
            self._close_if_unused()

    def _close_if_unused(self) -> None:
        if self.gone and not self.users and self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def open_reader(self) -> Any:
        """A new binary file object over the data (for the uploader's PATCH bodies)."""
        return open(self.spool.data_path(self.id), "rb")  # noqa: SIM115 - the caller closes


class Spool:
    """The pending files of one account under ``root``; ``max_size`` bytes at most."""

    def __init__(self, root: Path, max_size: int) -> None:
        self.root = root
        self.pending = root / "pending"
        self.recovered = root / "recovered"
        self.max_size = max_size
        self.used = 0
        self._lock = threading.Lock()
        for folder in (root.parent, root, self.pending, self.recovered):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                os.chmod(folder, 0o700)

    def data_path(self, file_id: str) -> Path:
        return self.pending / f"{file_id}.data"

    def manifest_path(self, file_id: str) -> Path:
        return self.pending / f"{file_id}.json"

    def charge(self, delta: int) -> None:
        """Count ``delta`` more bytes against the cap; NoSpaceError (nothing counted) past it."""
        with self._lock:
            if delta > 0 and self.used + delta > self.max_size:
                raise NoSpaceError(f"the spool holds {self.used} bytes; {delta} more would "
                                   f"pass its cap of {self.max_size}")
            self.used = max(0, self.used + delta)

    def create(self, parent_id: str, name: str, path: str, mtime: float, *,
               base_id: str | None = None, base_size: int = 0) -> SpoolFile:
        """A new pending file (sparse at ``base_size`` when it has a base); the manifest is
        written at once, not accepted."""
        manifest = Manifest(id=uuid.uuid4().hex, parent_id=parent_id, name=name, path=path,
                            size=base_size, mtime=mtime, base_id=base_id, base_size=base_size,
                            base_limit=base_size, created=time.time())
        self.charge(base_size)
        try:
            fd = os.open(self.data_path(manifest.id), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            self.charge(-base_size)
            raise
        spooled = SpoolFile(self, manifest, fd)
        try:
            if base_size:
                os.ftruncate(fd, base_size)
            spooled.save()
        except OSError:
            spooled.discard()
            raise
        return spooled

    def write_manifest(self, manifest: Manifest, *, durable: bool = False) -> None:
        target = self.manifest_path(manifest.id)
        temporary = target.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(asdict(manifest)).encode())
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
        if durable:
            self._sync_folder()

    def _sync_folder(self) -> None:
        fd = os.open(self.pending, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self, file_id: str) -> None:
        for path in (self.manifest_path(file_id), self.data_path(file_id)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- after a crash ---------------------------------------------------------------------

    def load_all(self) -> list[SpoolFile]:
        """Every pending file a previous mount left (manifest and data both there), oldest
        first. A data file without a manifest, or a manifest that cannot be read, is handed
        back; a manifest without data is dropped (there is nothing to give back)."""
        found: list[SpoolFile] = []
        for temporary in self.pending.glob("*.tmp"):
            temporary.unlink(missing_ok=True)
        for manifest_file in self.pending.glob("*.json"):
            file_id = manifest_file.stem
            try:
                manifest = Manifest.from_json(json.loads(manifest_file.read_text()))
                fd = os.open(self.data_path(file_id), os.O_RDWR)
            except FileNotFoundError:
                log.error("spool: manifest %s without data: dropped", file_id)
                manifest_file.unlink(missing_ok=True)
                continue
            except (OSError, ValueError, TypeError) as exc:
                log.error("spool: unreadable manifest %s (%s)", file_id, type(exc).__name__)
                self._hand_back_raw(file_id, f"{file_id}.data")
                continue
            manifest.size = os.fstat(fd).st_size  # a file still being written saved less
            self.used += manifest.size
            found.append(SpoolFile(self, manifest, fd))
        for data_file in self.pending.glob("*.data"):
            if not self.manifest_path(data_file.stem).exists():
                self._hand_back_raw(data_file.stem, f"{data_file.stem}.data")
        return sorted(found, key=lambda f: f.manifest.created)

    def hand_back(self, spooled: SpoolFile, reason: str) -> Path:
        """Move a pending file's data to ``recovered/`` under its own name (made unique), log
        an ERROR line, and forget it."""
        with spooled.lock:
            target = self._unique(spooled.manifest.name)
            os.replace(self.data_path(spooled.id), target)
            spooled.gone = spooled.handed_back = True
            self.charge(-spooled.manifest.size)
            self.manifest_path(spooled.id).unlink(missing_ok=True)
            spooled._close_if_unused()
        log.error("upload of %s not done (%s): its data is kept in %s", spooled.manifest.path,
                  reason, target)
        return target

    def _hand_back_raw(self, file_id: str, name: str) -> None:
        source = self.data_path(file_id)
        if source.exists():
            target = self._unique(name)
            os.replace(source, target)
            log.error("spool: data without a usable manifest kept in %s", target)
        self.manifest_path(file_id).unlink(missing_ok=True)

    def _unique(self, name: str) -> Path:
        name = name.replace("/", "_") or "unnamed"
        target = self.recovered / name
        counter = 1
        while target.exists():
            stem, dot, ext = name.rpartition(".")
            target = self.recovered / (f"{stem} ({counter}).{ext}" if dot and stem
                                       else f"{name} ({counter})")
            counter += 1
        return target

    def recovered_files(self) -> list[Path]:
        return sorted(p for p in self.recovered.iterdir() if p.is_file())


def user_key(user_name: str | None, user_id: object) -> str:
    """Who the account is, for :func:`account_dir`: its user name, else its id (the mount and
    ``putiofs uploads`` must find the same folder)."""
    return user_name or str(user_id)
