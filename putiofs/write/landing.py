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
* **Nothing set aside stays aside.** An item renamed to ``.putiofs-replaced-<id>`` (here, or by
  a replacing rename in :mod:`putiofs.front.tree_edits`) is written to ``deletes.json`` with its
  name and the id of the item taking its place (its *heir*) *before* the rename. Once the heir
  is in place the record becomes a plain delete; if it cannot be (an API error, a refusal), the
  item is renamed back at once. Whatever is left (that put-back failed, the mount died half-way)
  is settled by the same retries, this mount's or the next one's: the item is looked up, and if
  it still has its aside name it is deleted when its heir holds its name (the replace was done)
  and it is a file or an empty folder, else renamed back to its name, or, if that name is
  taken, to the name the mount shows a duplicate under (``name [#id].ext``). It stays hidden
  until then. (An aside item a mount without its spool folder left is shown as it is.)
* **A path keeps meaning the same file.** A new version that replaced a file with same-named
  siblings takes its place among them (:class:`putiofs.tree.names.Seniority`); those places are
  kept in ``places.json`` for the next mount (:class:`Places`).
* **A permanent failure is reported, not retried.** If the new item cannot be put in place (its
  name taken on put.io by an item the mount did not replace, a name put.io refuses, the folder
  gone), the item stays complete on put.io where it was uploaded, the replaced items are left
  alone (shown again), the log has an ERROR line and the uploads listing a ``failed`` record.
* **Times.** If put.io's ``updated_at`` (whole seconds) differs from the file's mtime, it is set
  before the swap (see :meth:`Landing.land`);
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
from putiofs.api.errors import BusyError, NameExistsError, NotFoundError, PutioError
from putiofs.net.retry import is_temporary
from putiofs.tree import names
from putiofs.tree.cache import MetadataCache
from putiofs.write.overlay import HIDDEN_PREFIX, Overlay
from putiofs.write.spool import SpoolFile

log = logging.getLogger("putiofs.write")

#: The name a replaced item has on put.io between being set aside (where the API refuses a
#: second item of one name) and being deleted: here and in :mod:`putiofs.front.tree_edits`.
ASIDE_PREFIX = ".putiofs-replaced-"
DELETE_ATTEMPTS = 3
#: The longest wait, in seconds, of a retry in the background: an upload's, or a delete's.
BACKOFF_MAX = 300.0
#: The most places kept in ``places.json`` (the oldest go first; each is a few bytes).
PLACES_MAX = 10_000


def aside_name(item_id: str) -> str:
    """The name an item has on put.io while set aside."""
    return f"{ASIDE_PREFIX}{item_id}"


class LandingFailed(Exception):
    """The new item is on put.io but could not be put in the file's place (permanent)."""


class UploadAgain(BusyError):
    """The new item cannot be renamed to the file's name, which same-named files the user saw
    beside it hold (put.io's rename refuses a name in use, its uploads do not): it is deleted,
    and the file is uploaded again under its name (the uploader's retry)."""


class Deletions:
    """Replaced items still to delete, kept in ``deletes.json`` until put.io confirms; and items
    set aside for a replace, until they are deleted or put back (see the module docstring).

    A record: ``folder``, ``path`` (for the log), ``failures``, ``next`` (when to try again);
    a set-aside one also ``aside`` (its name before) and ``heir``, and ``held`` while the
    replace that set it aside is still under way (not tried in the background meanwhile)."""

    def __init__(self, backend: Backend, overlay: Overlay, path: Path,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.overlay = overlay
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._todo: dict[str, dict[str, object]] = {}  # id -> folder, path, failures, next
        self._unsaved = False  # the last save failed: tried again at the next retry_due
        self._later: list[tuple[float, Callable[[], None]]] = []

    def load(self) -> None:
        """What a previous mount left: hidden at once, retried soon."""
        with contextlib.suppress(OSError, ValueError):
            self._todo = {str(k): dict(v) for k, v in json.loads(self.path.read_text()).items()}
        for item_id, record in self._todo.items():
            record["next"] = 0.0
            record.pop("held", None)  # that replace died with the previous mount
            folder = record.get("folder")
            self.overlay.hide(item_id, folder if isinstance(folder, str) else None)

    def __len__(self) -> int:
        return len(self._todo) + len(self._later)

    def add(self, items: list[tuple[str, str | None]], path: str, *,
            delay: float = 0.0) -> None:
        """(id, folder id) pairs to delete for the file at ``path``; saved before any try.
        ``delay``: not before that many seconds (:meth:`retry_due` does it)."""
        with self._lock:
            for item_id, folder in items:
                self._todo[item_id] = {"folder": folder, "path": path, "failures": 0,
                                       "next": self._clock() + delay if delay else 0.0}
            self._save()

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Call ``action`` in :meth:`retry_due` once ``delay`` seconds have passed (for this
        mount only)."""
        with self._lock:
            self._later.append((self._clock() + delay, action))

    def set_aside(self, entry: Entry, heir_id: str, path: str) -> None:
        """Rename ``entry`` to its aside name, recorded first (unless it is already to be
        deleted); the record is held until :meth:`confirm` or :meth:`put_back` for its heir.
        A failed rename raises; the record then settles as nothing set aside."""
        with self._lock:
            if entry.id not in self._todo:
                self._todo[entry.id] = {"folder": entry.parent_id, "path": path,
                                        "failures": 0, "next": 0.0, "aside": entry.name,
                                        "heir": heir_id, "held": True}
                self._save()
        self.backend.rename(entry.id, aside_name(entry.id))

    def confirm(self, heir_id: str) -> list[str]:
        """The heir is in place: what was set aside for it is to be deleted; those ids. One
        still open under a ``.fuse_hidden`` name stays held: its last close deletes it (or,
        should the mount die first, the next mount's settling)."""
        with self._lock:
            done = [i for i, r in self._todo.items()
                    if r.get("heir") == heir_id and not self.overlay.is_open_aside(i)]
            for item_id in done:
                for key in ("aside", "heir", "held"):
                    self._todo[item_id].pop(key, None)
            if done:
                self._save()
        return done

    def put_back(self, heir_id: str, stopping: threading.Event) -> None:
        """The heir did not get in place: what was set aside for it is renamed back now (a
        few quick tries, then :meth:`retry_due`)."""
        with self._lock:
            ids = [i for i, r in self._todo.items() if r.get("heir") == heir_id]
            for item_id in ids:
                self._todo[item_id].pop("held", None)
        self.run(ids, stopping)

    def run(self, item_ids: list[str], stopping: threading.Event) -> None:
        """Delete these now (a few quick tries each); what fails waits for :meth:`retry_due`."""
        for item_id in item_ids:
            for attempt in range(DELETE_ATTEMPTS):
                if self._delete(item_id) or stopping.wait(0.5 * 2 ** attempt):
                    break

    def retry_due(self) -> None:
        """Try again the deletes whose backoff has passed, and run the actions that are due
        (the uploader's status thread)."""
        now = self._clock()
        with self._lock:
            if self._unsaved:
                self._save()
            due = [i for i, r in self._todo.items()
                   if not r.get("held") and float(r["next"]) <= now]  # type: ignore[arg-type]
            actions = [action for when, action in self._later if when <= now]
            self._later = [(when, action) for when, action in self._later if when > now]
        for item_id in due:
            self._delete(item_id)
        for action in actions:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - the status thread must carry on
                log.error("a delayed removal failed: %s", type(exc).__name__)

    def _delete(self, item_id: str) -> bool:
        with self._lock:
            record = self._todo.get(item_id)
        if record is None:
            return True
        if record.get("held"):
            return False
        restored: Entry | None = None
        try:
            if "aside" in record:
                restored = self._settle(item_id, record)
            else:
                with contextlib.suppress(NotFoundError):
                    self.backend.delete(item_id)
        except PutioError as exc:
            with self._lock:
                failures = int(record["failures"]) + 1  # type: ignore[call-overload]
                record["failures"] = failures
                delay = min(BACKOFF_MAX, 2.0 ** failures)
                record["next"] = self._clock() + delay * random.uniform(0.5, 1.0)
            if "aside" in record:
                log.error("%s: the version set aside for a replace (item %s) could not be "
                          "deleted or put back (%s); it is retried", record["path"], item_id,
                          type(exc).__name__)
            else:
                log.error("%s: the version it replaced (item %s) could not be deleted (%s); "
                          "both are on put.io, the delete is retried", record["path"], item_id,
                          type(exc).__name__)
            return False
        with self._lock:
            self._todo.pop(item_id, None)
            self._save()
        if restored is None:
            self.overlay.gone(item_id)
        else:
            with self.overlay.lock:
                if not self.overlay.is_replaced(item_id):
                    self.overlay.unhide(item_id)
                self.overlay.cache.added(restored)
        return True

    def _settle(self, item_id: str, record: dict[str, object]) -> Entry | None:
        """A set-aside item: deleted (None) if its heir holds its name, else put back (the
        entry as it is then). Never deletes a folder that is not empty."""
        try:
            current = self.backend.lookup(item_id)
        except NotFoundError:
            return None
        name, folder = str(record["aside"]), str(record["folder"])
        if current.name != aside_name(item_id):
            return current  # never set aside, or put back already
        try:
            heir = self.backend.lookup(str(record["heir"]))
        except NotFoundError:
            heir = None
        done = heir is not None and heir.parent_id == folder and heir.name == name
        if done and not (current.is_dir and list(self.backend.list_folder(item_id))):
            with contextlib.suppress(NotFoundError):
                self.backend.delete(item_id)
            return None
        try:
            back = self.backend.rename(item_id, name)
        except NameExistsError:
            back = self.backend.rename(item_id, names.suffixed(name, item_id))
        log.warning("%s: item %s is back as %r after a replace that did not finish",
                    record["path"], item_id, back.name)
        return replace(current, name=back.name)

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


class Places:
    """The places new versions hold among same-named items (the cache's
    :class:`putiofs.tree.names.Seniority`), kept in ``places.json`` next to ``deletes.json`` so
    that the next mount shows the same file under the same path. Only files that replaced one
    with same-named siblings are there; a place that cannot be saved is kept for this mount
    (a WARNING line)."""

    def __init__(self, cache: MetadataCache, path: Path | None = None) -> None:
        self.cache = cache
        self.path = path  # None: kept for this mount only
        self._lock = threading.Lock()

    def load(self) -> None:
        if self.path is None:
            return
        with contextlib.suppress(OSError, ValueError, AttributeError):
            ranks = json.loads(self.path.read_text())
            self.cache.seniority.restore({str(k): str(v) for k, v in ranks.items()})

    def inherit(self, heir: Entry, predecessor: Entry) -> None:
        """``heir`` replaced ``predecessor`` in its folder: it takes its place (where that
        matters, see :meth:`putiofs.tree.names.Seniority.inherit`). Call before ``heir``
        enters the cache's listings."""
        listing = self.cache.held_listing(heir.parent_id)
        siblings = listing.group(names.group_key(heir)) if listing is not None else []
        if self.cache.seniority.inherit(heir, predecessor, siblings):
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        ranks = list(self.cache.seniority.ranks().items())[-PLACES_MAX:]
        with self._lock:
            temporary = self.path.with_suffix(".tmp")
            try:
                temporary.write_text(json.dumps(dict(ranks)))
                os.replace(temporary, self.path)
            except OSError as exc:
                log.warning("the places of new versions among same-named files could not be "
                            "saved (%s): the next mount may show them under other names",
                            exc.strerror)


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
        # The account's spool folder, where deletes.json is.
        self.places = Places(self.cache, deletions.path.with_name("places.json"))

    def target(self, spooled: SpoolFile) -> tuple[str, str] | None:
        """(folder id, put.io name) where the file is now; None if it was dropped."""
        if spooled.manifest.name.startswith(HIDDEN_PREFIX):
            return None
        return self.overlay.place.get(spooled.id)

    def land(self, spooled: SpoolFile, entry: Entry) -> None:
        """``entry`` is the complete new item of ``spooled``: put it in place with its time,
        delete what it replaces. LandingFailed if it cannot be put in place.

        The time is set before the swap, and the swap checks, with the lock held, that the
        file's time is still the one set (a ``touch`` of the pending file meanwhile sets it
        again): a time given to the pending file is never lost, and one given after the swap
        (to the new item) is never overwritten by the landing."""
        tried: int | None = None
        while True:
            with self.overlay.lock:
                target = self.target(spooled)
                wanted = int(spooled.manifest.mtime)
                placed = target is None or (entry.parent_id, entry.name) == target
                timed = (target is None or wanted == tried
                         or (entry.mtime is not None and int(entry.mtime) == wanted))
                if placed and timed:
                    shown = entry
                    if target is not None:  # before it is shown: it shows what the file did
                        self.landed(spooled, entry)
                        shown = replace(entry, mtime=float(wanted))
                    doomed = self._swap(spooled, shown, target is not None)
                    break
            if not placed:
                entry = self._move(spooled, entry, *target)  # type: ignore[misc]
                continue
            tried = wanted
            with contextlib.suppress(PutioError):
                self.backend.set_mtime(entry.id, wanted)
                entry = replace(entry, mtime=float(wanted))
        path = spooled.manifest.path
        confirmed = self.deletions.confirm(entry.id)
        self.deletions.add(doomed, path)
        self.deletions.run([*confirmed, *(item_id for item_id, _ in doomed)], self.stopping)
        if target is not None:
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
            self._take_place(spooled, entry)
            overlay.landed(spooled, entry)
            self.cache.added(entry)
            return replaces
        overlay.hide(entry.id, entry.parent_id, entry)
        if successor is not None and not successor.gone:
            successor.manifest.replaces.append(entry.id)
            successor.save()
            return replaces
        return [(entry.id, entry.parent_id), *replaces]

    def _take_place(self, spooled: SpoolFile, entry: Entry) -> None:
        """With the lock held: the new item takes the place of the item it replaces among
        same-named ones (see :class:`Places`)."""
        listing = self.cache.held_listing(entry.parent_id)
        for item_id in spooled.manifest.replaces:
            old = self.overlay.replaced_entries.get(item_id) or (
                listing.get(item_id) if listing is not None else None)
            if old is not None and old.parent_id == entry.parent_id:
                self.places.inherit(entry, old)
                return

    def _move(self, spooled: SpoolFile, entry: Entry, parent_id: str, name: str) -> Entry:
        """Put the new item at (parent_id, name); an item it replaces holding that name is set
        aside first where the API refuses a second item of one name (recorded, see
        :class:`Deletions`)."""
        try:
            try:
                return self._move_once(entry, parent_id, name)
            except NameExistsError:
                blockers = [old for old in self.backend.list_folder(parent_id)
                            if old.name == name and old.id != entry.id]
                if not self.overlay.replaceable(parent_id, name, blockers):
                    if self.overlay.known_there(spooled, blockers):
                        self._upload_again(spooled, entry)
                    raise
                for old in blockers:
                    with contextlib.suppress(NotFoundError):
                        self.deletions.set_aside(old, entry.id, spooled.manifest.path)
                return self._move_once(entry, parent_id, name)
        except PutioError as exc:
            if is_temporary(exc):
                raise
            with self.overlay.lock:
                if self.target(spooled) != (parent_id, name):
                    return entry  # renamed or dropped meanwhile: the landing looks again
            self._give_up(spooled, entry, name, exc)
            raise LandingFailed(f"uploaded as {entry.name!r} but it could not be named "
                                f"{name!r} ({type(exc).__name__})") from exc

    def _upload_again(self, spooled: SpoolFile, entry: Entry) -> None:
        """Raise UploadAgain, the misnamed new item hidden and deleted first."""
        with self.overlay.lock:
            self.overlay.hide(entry.id, entry.parent_id, entry)
        self.deletions.add([(entry.id, entry.parent_id)], spooled.manifest.path)
        self.deletions.run([entry.id], self.stopping)
        spooled.manifest.ticket = spooled.manifest.landed_id = None
        spooled.save()
        raise UploadAgain(f"{spooled.manifest.name!r} is shared by other files: put.io's "
                          "rename refuses it, so the file is uploaded again under that name")

    def _give_up(self, spooled: SpoolFile, entry: Entry, name: str, exc: PutioError) -> None:
        """The new item stays where it was uploaded; what it was to replace is shown again
        (put back first, if it was set aside)."""
        self.deletions.put_back(entry.id, self.stopping)
        with self.overlay.lock:
            self.overlay.unshow(spooled)
            self.overlay.successor.pop(spooled.id, None)
            for item_id in spooled.manifest.replaces:
                self.overlay.unhide(item_id)
            self.overlay.placed(entry)
            self.cache.added(entry)
        log.error("upload of %s: the new item could not be put in place as %r (%s); it is on "
                  "put.io as %r, and what it was to replace is left alone",
                  spooled.manifest.path, name, type(exc).__name__, entry.name)

    def _move_once(self, entry: Entry, parent_id: str, name: str) -> Entry:
        if entry.parent_id != parent_id:
            return self.backend.move(entry.id, parent_id, None if name == entry.name else name)
        renamed = self.backend.rename(entry.id, name)
        return replace(entry, name=renamed.name)
