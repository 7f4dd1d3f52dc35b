"""The spool: written data staged on local disk until put.io has it, and found again after a crash.

Layout, under one folder per account (``<cache-dir>/<account key>/``, see :func:`account_dir`):
``pending/<id>.data`` holds a file's bytes and ``pending/<id>.json`` its manifest (what it is, where
it goes, what it replaces, how far its upload got); ``recovered/`` holds what was handed back to the
user; ``status.json`` is the uploads status (:mod:`putiofs.write.uploader`); ``reserve`` is the
room kept for manifests (below). Folders are 0700 and files 0600: the spool holds the user's data.

Decisions:

* A manifest is replaced atomically (written to a temporary file, then ``os.replace``), so a crash
  leaves the old one or the new one, never half of one.
* ``accepted`` says the data file holds a version the user finished (flushed by ``close`` or
  fsynced, and not changed since). :meth:`SpoolFile.accept` makes it so durably, in this order:
  the data is fsynced, then the manifest saying ``accepted`` is written and fsynced and renamed
  into place, then the folder is fsynced; so once ``close(2)`` or ``fsync(2)`` has returned, the
  version survives a SIGKILL of the mount and a power cut of the machine. A later rewrite of an
  accepted manifest (a rename, a time, the upload's progress) is fsynced before its rename, so a
  power cut leaves the old manifest or the new one, both accepted (the change of name or time
  itself is durable only with a later fsync, as on any filesystem); one that claims more blocks
  of an original are local fsyncs the data first. A change of the data first saves, durably,
  that the manifest is no longer accepted (so a crash never pairs an accepted manifest with
  changed data). Only accepted files are uploaded by the next mount; a file that was still
  being written when the mount died is never uploaded (half a file must not replace a good
  one): it is handed back in ``recovered/`` with an ERROR line in the log.
* Removal is crash-safe in any order of events: the manifest is first renamed to a tombstone
  (``<id>.gone``, or ``<id>.back`` for a hand-back), then the data goes (or moves to
  ``recovered/``), then the tombstone. The next mount finishes what a tombstone says, silently for
  a removal; a data file a manifest was never written for (a crash inside ``create``) is empty and
  dropped. So a kill at any moment neither loses an accepted file nor hands back one already
  uploaded.
* ``--cache-max-size`` caps the bytes of all pending files together (their sizes, holes
  included): a write that would pass it raises :class:`~putiofs.api.errors.NoSpaceError`
  (``ENOSPC`` for the user), and a real ``ENOSPC`` of the local disk reaches the user as it is.
  Nothing is ever dropped silently.
* **A full cache disk.** ``reserve`` (:data:`RESERVE` bytes, allocated at start) is given up when
  the rewrite of an existing manifest finds the disk full, and that rewrite is tried again in the
  room it left: the manifests of what was accepted (an upload's ticket, its landing, a rename)
  are saved even on a full disk. While the reserve is not back in place, new data (a create, a
  write or a truncate that grows) is refused with ``ENOSPC`` before anything is written, so our
  own writes cannot take the room back; each such attempt, and the uploader's status thread
  every second, tries to put the reserve back, which succeeds once room returns.
* A file opened for writing without ``O_TRUNC`` starts as a sparse copy of the server item (its
  *base*): blocks of :data:`BLOCK` bytes are fetched when first needed (``present`` says which are
  local); bytes at or past ``base_limit`` (the smallest size the file has had) are never the base's.
* ``changed`` says the bytes may differ from the base's. It is False only for a version opened
  over an item without ``O_TRUNC`` and not yet written, truncated or renamed (``touch``, a
  program that opens for writing and closes): such a version is never uploaded nor accepted,
  and counts nothing against ``--cache-max-size`` (its size is charged at its first change,
  :meth:`SpoolFile.mark_changed`, which saves the manifest saying ``changed`` before the data
  changes). A manifest without the field (an older putiofs) is changed; the next mount drops
  an unchanged one quietly (the item on put.io is the same).
"""

from __future__ import annotations

import contextlib
import errno
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
#: Bytes kept allocated in ``reserve`` so manifests can be rewritten on a full disk.
RESERVE = 256 * 1024
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
#: Why data is refused on a full cache disk (the log, the uploads listing).
NO_ROOM_ON_DISK = "no space left on the cache disk"
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
    changed: bool = True  # its bytes may differ from the base's (see the module docstring)

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
        # The data file held an accepted version at some time (and was not truncated to
        # nothing since): bytes a close or fsync promised to keep.
        self.was_accepted = manifest.accepted

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def charged(self) -> int:
        """The bytes it counts against the cap: its size once changed, else nothing."""
        return self.manifest.size if self.manifest.changed else 0

    # -- the data --------------------------------------------------------------------------

    def pwrite(self, data: bytes, offset: int) -> int:
        """Write at ``offset``; NoSpaceError past the cap or on a full disk (before anything
        changed), or the disk's OSError; an accepted version first stops being accepted."""
        with self.lock:
            self.spool.need_room()
            size = self.manifest.size
            end = offset + len(data)
            if end > size:
                self.spool.charge(end - size)
            try:
                self._changing()
                written = os.pwrite(self.fd, data, offset)
            except BaseException:
                self.spool.charge(-max(0, end - size))
                raise
            if end > size:  # a short write grew the file less
                grown = max(size, offset + written)
                self.spool.charge(grown - end)
                self.manifest.size = grown
            self._mark_written(offset, offset + written)
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
        """Cut or extend to ``length`` (the errors of :meth:`pwrite`). To nothing: no byte of
        an earlier accepted version is left."""
        with self.lock:
            before = self.manifest.size, self.manifest.base_limit
            if not self.manifest.changed and length < before[0]:
                # Nothing is charged yet: what it keeps is, not what it had (a cut of a file
                # bigger than the cap fits).
                self.manifest.size, self.manifest.base_limit = length, min(before[1], length)
                try:
                    self.mark_changed()
                except BaseException:
                    self.manifest.size, self.manifest.base_limit = before
                    raise
            grow = length - self.manifest.size
            if grow > 0:
                self.spool.need_room()
                self.spool.charge(grow)
            try:
                self._changing()
                os.ftruncate(self.fd, length)
            except BaseException:
                self.spool.charge(-max(0, grow))
                raise
            self.spool.charge(min(0, grow))
            self.manifest.size = length
            self.manifest.base_limit = min(self.manifest.base_limit, length)
            if length == 0:
                self.was_accepted = False

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
        """Write the manifest atomically (see :meth:`Spool.write_manifest`); ``durable`` first
        fsyncs the data (which ``present`` may now claim)."""
        with self.lock:
            if self.gone:
                return
            self.manifest.present = _to_ranges(self.present)
            if durable:
                os.fdatasync(self.fd)
            self.spool.write_manifest(self.manifest, durable=durable)

    def accept(self) -> None:
        """The data as it is now is a finished version: durably so before this returns (see
        the module docstring). The errors of the disk; nothing is accepted then."""
        with self.lock:
            if self.gone or self.manifest.accepted:
                return
            self.manifest.accepted = True
            try:
                self.save(durable=True)
            except BaseException:
                self.manifest.accepted = False
                raise
            self.was_accepted = True

    def mark_changed(self) -> None:
        """From now on its bytes may differ from the base's (idempotent): its size is charged
        (NoSpaceError past the cap, nothing changed then) and the manifest saying so is saved
        before any byte changes, so a crash never takes changed data for the item's."""
        with self.lock:
            if self.manifest.changed:
                return
            self.spool.charge(self.manifest.size)
            self.manifest.changed = True
            self.manifest.present = _to_ranges(self.present)
            try:
                self.spool.write_manifest(self.manifest)
            except BaseException:
                self.manifest.changed = False
                self.spool.charge(-self.manifest.size)
                raise

    def _changing(self) -> None:
        """Before the data changes: it is changed, and a manifest saying ``accepted`` must not
        outlive it."""
        self.mark_changed()
        if self.manifest.accepted:
            self.manifest.accepted = False
            self.manifest.present = _to_ranges(self.present)
            try:
                self.spool.write_manifest(self.manifest, durable=True)
            except BaseException:
                self.manifest.accepted = True
                raise

    def discard(self) -> None:
        """Forget the file: its data and manifest go, its bytes leave the cap. Handles still
        open keep reading it (the data file is unlinked, its descriptor closed at the last)."""
        with self.lock:
            if self.gone:
                return
            self.gone = True
            self.spool.charge(-self.charged)
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
        self.reserve = root / "reserve"
        self.max_size = max_size
        self.used = 0
        self._lock = threading.Lock()
        self._reserved = False
        for folder in (root.parent, root, self.pending, self.recovered):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                os.chmod(folder, 0o700)
        self.has_room()

    def data_path(self, file_id: str) -> Path:
        return self.pending / f"{file_id}.data"

    def manifest_path(self, file_id: str) -> Path:
        return self.pending / f"{file_id}.json"

    def _tombstone(self, file_id: str, kind: str) -> Path:
        return self.pending / f"{file_id}.{kind}"

    def charge(self, delta: int) -> None:
        """Count ``delta`` more bytes against the cap; NoSpaceError (nothing counted) past it."""
        with self._lock:
            if delta > 0 and self.used + delta > self.max_size:
                raise NoSpaceError(f"the spool holds {self.used} bytes; {delta} more would "
                                   f"pass its cap (--cache-max-size, {self.max_size} bytes)")
            self.used = max(0, self.used + delta)

    # -- room on the disk ------------------------------------------------------------------

    def has_room(self) -> bool:
        """Is the reserve in place (put back if it was given up and the disk has room)?"""
        if self._reserved:
            return True
        with self._lock:
            if self._reserved:
                return True
            try:
                fd = os.open(self.reserve, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    _allocate(fd, RESERVE)
                finally:
                    os.close(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    self.reserve.unlink()
                log.debug("spool: no room for the reserve (%s)", exc.strerror)
                return False
            self._reserved = True
            return True

    def need_room(self) -> None:
        """NoSpaceError unless the reserve is in place: new data must not take the room that
        the manifests of accepted files were given."""
        if not self.has_room():
            raise NoSpaceError(NO_ROOM_ON_DISK)

    def _give_up_reserve(self) -> bool:
        with self._lock:
            if not self._reserved:
                return False
            self._reserved = False
            with contextlib.suppress(OSError):
                self.reserve.unlink()
        log.warning("spool: the cache disk (%s) is full: its reserve is used for the records "
                    "of pending uploads, and new data is refused until there is room again",
                    self.root)
        return True

    # -- files -----------------------------------------------------------------------------

    def create(self, parent_id: str, name: str, path: str, mtime: float, *,
               base_id: str | None = None, base_size: int = 0,
               changed: bool = True) -> SpoolFile:
        """A new pending file (sparse at ``base_size`` when it has a base; not ``changed``: the
        base's bytes, charged at its first change); the manifest is written at once, not
        accepted."""
        manifest = Manifest(id=uuid.uuid4().hex, parent_id=parent_id, name=name, path=path,
                            size=base_size, mtime=mtime, base_id=base_id, base_size=base_size,
                            base_limit=base_size, created=time.time(), changed=changed)
        charged = base_size if changed else 0
        self.need_room()
        self.charge(charged)
        try:
            fd = os.open(self.data_path(manifest.id), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            self.charge(-charged)
            raise
        spooled = SpoolFile(self, manifest, fd)
        try:
            self.write_manifest(manifest, first=True)
            if base_size:
                os.ftruncate(fd, base_size)
        except OSError:
            spooled.discard()
            raise
        return spooled

    def write_manifest(self, manifest: Manifest, *, durable: bool = False,
                       first: bool = False) -> None:
        """Replace the manifest atomically: written aside, renamed over the old one. The new
        one of an accepted file is fsynced before the rename (a power cut leaves the old one or
        the new one, never an empty one); ``durable`` also fsyncs the folder (the new one is
        the one a power cut leaves). The rewrite of an existing one (not ``first``) that finds
        the disk full is tried again in the room the reserve leaves."""
        data = json.dumps(asdict(manifest)).encode()
        synced = durable or manifest.accepted
        try:
            self._replace(self.manifest_path(manifest.id), data, synced, durable)
        except OSError as exc:
            if first or exc.errno not in _NO_ROOM or not self._give_up_reserve():
                raise
            self._replace(self.manifest_path(manifest.id), data, synced, durable)

    def _replace(self, target: Path, data: bytes, synced: bool, durable: bool) -> None:
        temporary = target.with_suffix(".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                if synced:
                    os.fdatasync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        if durable:
            self._sync_folder()

    def _sync_folder(self) -> None:
        fd = os.open(self.pending, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self, file_id: str) -> None:
        """The manifest becomes a tombstone, then the data goes, then the tombstone."""
        tombstone = self._tombstone(file_id, "gone")
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.manifest_path(file_id), tombstone)
        for path in (self.data_path(file_id), tombstone):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- after a crash ---------------------------------------------------------------------

    def load_all(self) -> list[SpoolFile]:
        """Every pending file a previous mount left (manifest and data both there), oldest
        first. Tombstones are finished (see the module docstring); a data file without a
        manifest is dropped if empty, else handed back, as is one whose manifest cannot be
        read; a manifest without data is dropped (there is nothing to give back)."""
        found: list[SpoolFile] = []
        for temporary in self.pending.glob("*.tmp"):
            temporary.unlink(missing_ok=True)
        self._finish_removals()
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
            spooled = SpoolFile(self, manifest, fd)
            self.used += spooled.charged
            found.append(spooled)
        for data_file in self.pending.glob("*.data"):
            if self.manifest_path(data_file.stem).exists():
                continue
            if data_file.stat().st_size == 0:  # created, its manifest never written
                data_file.unlink(missing_ok=True)
            else:
                self._hand_back_raw(data_file.stem, f"{data_file.stem}.data")
        return sorted(found, key=lambda f: f.manifest.created)

    def _finish_removals(self) -> None:
        for tombstone in self.pending.glob("*.gone"):
            self.data_path(tombstone.stem).unlink(missing_ok=True)
            tombstone.unlink(missing_ok=True)
        for tombstone in self.pending.glob("*.back"):
            source = self.data_path(tombstone.stem)
            if source.exists():
                try:
                    name = str(json.loads(tombstone.read_text())["name"])
                except (OSError, ValueError, KeyError, TypeError):
                    name = source.name
                target = self._unique(name)
                os.replace(source, target)
                log.error("spool: the data of an upload not done is kept in %s", target)
            tombstone.unlink(missing_ok=True)

    def hand_back(self, spooled: SpoolFile, reason: str) -> Path:
        """Move a pending file's data to ``recovered/`` under its own name (made unique), log
        an ERROR line, and forget it."""
        with spooled.lock:
            tombstone = self._tombstone(spooled.id, "back")
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.manifest_path(spooled.id), tombstone)
            target = self._unique(spooled.manifest.name)
            os.replace(self.data_path(spooled.id), target)
            spooled.gone = spooled.handed_back = True
            self.charge(-spooled.charged)
            tombstone.unlink(missing_ok=True)
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


def _allocate(fd: int, size: int) -> None:
    """Make ``size`` bytes of the file take room on the disk (zeros where fallocate is not
    supported)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in _NO_ROOM:
            raise
        os.pwrite(fd, bytes(size), 0)
        os.fsync(fd)


def user_key(user_name: str | None, user_id: object) -> str:
    """Who the account is, for :func:`account_dir`: its user name, else its id (the mount and
    ``putiofs uploads`` must find the same folder)."""
    return user_name or str(user_id)
