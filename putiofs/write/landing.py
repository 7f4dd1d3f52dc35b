"""The last step of an upload: the new item takes the file's place, and what it replaced goes.

Called by the uploader (:mod:`putiofs.write.uploader`) in its own threads, once put.io has the
whole new item. Decisions:

* **No gap.** The new item is put where the file is now (it may have been renamed or moved while
  uploading; an item it replaces holding that name is set aside first, as
  :mod:`putiofs.front.tree_edits` does, since v2 refuses a rename onto an existing name), *then*
  the items it replaces are deleted by id: at every instant one complete version is on put.io.
* **The swap is atomic for the mount.** With the overlay's lock held, the pending file leaves the
  overlay and the new item enters the cache, while the replaced items stay hidden until deleted:
  an ``open`` racing the landing finds either the pending file or the new item, never the old.
* **Deletes are kept until done.** The ids to delete are written to ``deletes.json`` in the
  account's spool folder before the first try; a delete that keeps failing is retried with
  backoff (doubling up to 5 min) while the mount runs and by the next mount, and the item stays
  hidden meanwhile. Already gone counts as done.
* **A permanent failure is reported, not retried.** If the new item cannot be put in place (its
  name taken on put.io by an item the mount did not replace, a name put.io refuses, the folder
  gone), the item stays complete on put.io where it was uploaded, the replaced items are left
  alone (shown again), the log has an ERROR line and the uploads listing a ``failed`` record.
* **Times.** If put.io's ``updated_at`` (whole seconds) differs from the file's mtime, it is set;
  a folder whose time was set through the mount gets it again after an upload into it lands
  (put.io bumps a folder's time when its contents change). That memory lasts for the mount.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from putiofs.api.backend import Backend, Entry
from putiofs.api.errors import NameExistsError, NotFoundError, PutioError
from putiofs.net.retry import is_temporary
from putiofs.write.overlay import HIDDEN_PREFIX, Overlay
from putiofs.write.spool import SpoolFile

log = logging.getLogger("putiofs.write")

#: The name a replaced item has on put.io between being set aside (where the API refuses a
#: second item of one name) and being deleted: here and in :mod:`putiofs.front.tree_edits`.
ASIDE_PREFIX = ".putiofs-replaced-"
DELETE_ATTEMPTS = 3
#: The longest wait, in seconds, of a retry in the background: an upload's, or a delete's.
BACKOFF_MAX = 300.0

class LandingFailed(Exception):
    """The new item is on put.io but could not be put in the file's place (permanent)."""


class Deletions:
    """Replaced items still to delete, kept in ``deletes.json`` until put.io confirms."""

    def __init__(self, backend: Backend, overlay: Overlay, path: Path,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.overlay = overlay
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._todo: dict[str, dict[str, object]] = {}  # id -> folder, path, failures, next
        self._unsaved = False  # the last save failed: tried again at the next retry_due

    def load(self) -> None:
        """What a previous mount left: hidden at once, retried soon."""
        with contextlib.suppress(OSError, ValueError):
            self._todo = {str(k): dict(v) for k, v in json.loads(self.path.read_text()).items()}
        for item_id, record in self._todo.items():
            record["next"] = 0.0
            folder = record.get("folder")
            self.overlay.hide(item_id, folder if isinstance(folder, str) else None)

    def __len__(self) -> int:
        return len(self._todo)

    def add(self, items: list[tuple[str, str | None]], path: str) -> None:
        """(id, folder id) pairs to delete for the file at ``path``; saved before any try."""
        with self._lock:
            for item_id, folder in items:
                self._todo[item_id] = {"folder": folder, "path": path, "failures": 0,
                                       "next": 0.0}
            self._save()

    def run(self, item_ids: list[str], stopping: threading.Event) -> None:
        """Delete these now (a few quick tries each); what fails waits for :meth:`retry_due`."""
        for item_id in item_ids:
            for attempt in range(DELETE_ATTEMPTS):
                if self._delete(item_id) or stopping.wait(0.5 * 2 ** attempt):
                    break

    def retry_due(self) -> None:
        """Try again the deletes whose backoff has passed (the uploader's status thread)."""
        now = self._clock()
        with self._lock:
            if self._unsaved:
                self._save()
            due = [i for i, r in self._todo.items() if float(r["next"]) <= now]  # type: ignore[arg-type]
        for item_id in due:
            self._delete(item_id)

    def _delete(self, item_id: str) -> bool:
        with self._lock:
            record = self._todo.get(item_id)
        if record is None:
            return True
        try:
            self.backend.delete(item_id)
        except NotFoundError:
            pass
        except PutioError as exc:
            with self._lock:
                failures = int(record["failures"]) + 1  # type: ignore[call-overload]
                record["failures"] = failures
                delay = min(BACKOFF_MAX, 2.0 ** failures)
                record["next"] = self._clock() + delay * random.uniform(0.5, 1.0)
            log.error("%s: the version it replaced (item %s) could not be deleted (%s); both "
                      "are on put.io, the delete is retried", record["path"], item_id,
                      type(exc).__name__)
            return False
        with self._lock:
            self._todo.pop(item_id, None)
            self._save()
        self.overlay.gone(item_id)
        return True

    def _save(self) -> None:
        """``deletes.json``, replaced atomically; with ``_lock`` held. A save that fails (a
        full cache disk) keeps the list in memory, still worked on, and is tried again by
        :meth:`retry_due` (one WARNING line until it succeeds)."""
        temporary = self.path.with_suffix(".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, json.dumps(self._todo).encode())
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            if not self._unsaved:
                log.warning("%s not saved (%s): the deletes still to do are kept in memory and "
                            "saved again once possible", self.path.name, exc.strerror)
            self._unsaved = True
            return
        self._unsaved = False


class Landing:
    """Puts landed items in place for one mount (see the module docstring). ``landed(spooled,
    entry)`` is called with the overlay's lock held just before the new item takes the file's
    place, so what the file showed (its mode, owner, times) is the item's from its first
    instant."""

    def __init__(self, backend: Backend, overlay: Overlay, deletions: Deletions,
                 stopping: threading.Event,
                 landed: Callable[[SpoolFile, Entry], None] = lambda spooled, entry: None
                 ) -> None:
        self.backend = backend
        self.landed = landed
        self.overlay = overlay
        self.cache = overlay.cache
        self.deletions = deletions
        self.stopping = stopping

    def target(self, spooled: SpoolFile) -> tuple[str, str] | None:
        """(folder id, put.io name) where the file is now; None if it was dropped."""
        if spooled.manifest.name.startswith(HIDDEN_PREFIX):
            return None
        return self.overlay.place.get(spooled.id)

    def land(self, spooled: SpoolFile, entry: Entry) -> None:
        """``entry`` is the complete new item of ``spooled``: put it in place, delete what it
        replaces, set its time. LandingFailed if it cannot be put in place."""
        while True:
            with self.overlay.lock:
                target = self.target(spooled)
                if target is None or (entry.parent_id, entry.name) == target:
                    shown = entry
                    if target is not None:  # before it is shown: it shows what the file did
                        self.landed(spooled, entry)
                        shown = replace(entry, mtime=float(int(spooled.manifest.mtime)))
                    doomed = self._swap(spooled, shown, target is not None)
                    break
            entry = self._move(spooled, entry, *target)
        path = spooled.manifest.path
        self.deletions.add(doomed, path)
        self.deletions.run([item_id for item_id, _ in doomed], self.stopping)
        if target is not None:
            # Shown with this time since the swap; not shown again here, since the item may
            # have been renamed meanwhile (re-adding this entry would undo that rename).
            wanted = int(spooled.manifest.mtime)
            if entry.mtime is None or int(entry.mtime) != wanted:
                with contextlib.suppress(PutioError):
                    self.backend.set_mtime(entry.id, wanted)
            log.info("uploaded %s (%d bytes)", path, spooled.manifest.size)
            with self.overlay.lock:
                folder_time = self.overlay.folder_times.get(entry.parent_id)
            if folder_time is not None:
                with contextlib.suppress(PutioError):
                    self.backend.set_mtime(entry.parent_id, folder_time)

    def _swap(self, spooled: SpoolFile, entry: Entry,
              in_place: bool) -> list[tuple[str, str | None]]:
        """With the lock held: the pending file leaves the overlay; the (id, folder) pairs of
        the items to delete now."""
        overlay = self.overlay
        successor = overlay.successor.pop(spooled.id, None)
        replaces = [(item_id, overlay.folder_of(item_id)) for item_id in
                    spooled.manifest.replaces]
        if in_place:
            overlay.unshow(spooled)
            self.cache.added(entry)
            return replaces
        overlay.hide(entry.id, entry.parent_id, entry)
        if successor is not None and not successor.gone:
            successor.manifest.replaces.append(entry.id)
            successor.save()
            return replaces
        return [(entry.id, entry.parent_id), *replaces]

    def _move(self, spooled: SpoolFile, entry: Entry, parent_id: str, name: str) -> Entry:
        """Put the new item at (parent_id, name); an item it replaces holding that name is set
        aside first where the API refuses a second item of one name."""
        try:
            try:
                return self._move_once(entry, parent_id, name)
            except NameExistsError:
                hidden = set(spooled.manifest.replaces) | self.overlay.hidden_ids()
                for old in self.backend.list_folder(parent_id):
                    if old.name == name and old.id in hidden and old.id != entry.id:
                        with contextlib.suppress(NotFoundError):
                            self.backend.rename(old.id, f"{ASIDE_PREFIX}{old.id}")
                return self._move_once(entry, parent_id, name)
        except PutioError as exc:
            if is_temporary(exc):
                raise
            self._give_up(spooled, entry, name, exc)
            raise LandingFailed(f"uploaded as {entry.name!r} but it could not be named "
                                f"{name!r} ({type(exc).__name__})") from exc

    def _give_up(self, spooled: SpoolFile, entry: Entry, name: str, exc: PutioError) -> None:
        """The new item stays where it was uploaded; what it was to replace is shown again."""
        with self.overlay.lock:
            self.overlay.unshow(spooled)
            self.overlay.successor.pop(spooled.id, None)
            for item_id in spooled.manifest.replaces:
                self.overlay.unhide(item_id)
            self.cache.added(entry)
        log.error("upload of %s: the new item could not be put in place as %r (%s); it is on "
                  "put.io as %r, and what it was to replace is left alone",
                  spooled.manifest.path, name, type(exc).__name__, entry.name)

    def _move_once(self, entry: Entry, parent_id: str, name: str) -> Entry:
        if entry.parent_id != parent_id:
            return self.backend.move(entry.id, parent_id, None if name == entry.name else name)
        renamed = self.backend.rename(entry.id, name)
        return replace(entry, name=renamed.name)
