"""The modes and owners the mount keeps for put.io items, which put.io does not store.

One row per item (or pending file, by its pending id) whose mode, owner or group differ from
what the mount shows by default: its permission bits (setuid, setgid and sticky included), uid,
gid, and the time of its last chmod/chown through the mount (its ctime). Items without a row show
the defaults. The POSIX rules (defaults, creators, the setgid folder) are
:mod:`putiofs.front.permissions`; this module only keeps the rows, and keeps them bounded.

Decisions (see docs/mount.md):

* **sqlite3** (the stdlib's) in the account's spool folder (``modes.sqlite3``, 0600, next to
  ``deletes.json``): a chmod updates one row, not a file of 200,000; a kill at any moment
  leaves the last committed state (write-ahead log). ``synchronous=NORMAL``: a committed change
  survives a kill of the mount, and a power cut leaves the database consistent, losing at most
  the last changes, as a chmod on a local disk not followed by fsync may.
* **Bounded.** A row goes when its item is deleted through the mount; one deleted elsewhere is
  found by :class:`Pruner`, which looks again at the rows not checked for a day, a batch every
  ten minutes, and drops those whose item is gone. put.io never reuses an id, so a stale row is
  never shown on another item meanwhile.
* A store that cannot be opened stops the mount (:class:`ModeStoreError`): starting with the
  defaults would quietly show a file kept 0600 as 0644 to every user of the machine.
* **Read from memory.** Every ``stat`` of an item asks for its row, and a query of sqlite cost
  about 5 µs (and two ``fcntl`` locks), as much as the rest of a ``getattr``: the rows are also
  held in a dict (up to :data:`MEMORY_ROWS`; a bigger table is queried as before), loaded when
  the store opens, changed with each write of this mount, and loaded again when another
  process (a second mount of the same account) committed a change, which the store looks for
  (sqlite's ``data_version``) at most every :data:`RECHECK` seconds: such a change shows here
  within a second, before the kernel's attribute cache lets it show anyway.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from putiofs.api.errors import NoSpaceError, UserError

log = logging.getLogger("putiofs.write")

FILE_NAME = "modes.sqlite3"
SCHEMA_VERSION = 1
#: How long (s) a FUSE call waits for another process holding the database (a second mount).
BUSY_TIMEOUT = 2.0
#: The pruner's pace: a batch of rows every PRUNE_EVERY s, each row at most once per PRUNE_AGE s.
PRUNE_EVERY = 600.0
PRUNE_BATCH = 100
PRUNE_AGE = 86400.0
#: The most rows held in memory too (about 200 bytes each); a bigger table is read from sqlite.
MEMORY_ROWS = 100_000
#: How often (s), at most, a read looks whether another process changed the database.
RECHECK = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kept (
    id TEXT PRIMARY KEY,
    mode INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    ctime REAL,
    checked REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kept_checked ON kept (checked);
"""


class Kept(NamedTuple):
    """What is kept for one item: permission bits (``0o7777``), owner, group, and the time of its
    last chmod/chown through the mount (None: put.io's ctime stands)."""

    mode: int
    uid: int
    gid: int
    ctime: float | None = None


class ModeStoreError(UserError):
    """The store cannot be opened: one line for the user."""


class ModeStore:
    """The rows, in one sqlite database, and in memory as well (see the module docstring);
    thread-safe (one connection, one lock; readers of the memory take no lock: a dict's
    ``get`` is atomic, and the dict is changed in place or replaced whole)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time, *,
                 memory_rows: int = MEMORY_ROWS, recheck: float = RECHECK) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._memory_rows = memory_rows
        self._recheck = recheck
        #: id -> row, the whole table (None: too big, read from sqlite)
        self._rows: dict[str, Kept] | None = None
        self._version = -1   # sqlite's data_version when the rows were loaded
        self._recheck_at = 0.0
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ModeStoreError(f"{path} was written by a newer putiofs (schema "
                                     f"{version}); upgrade putiofs to mount this account")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            with self._lock:
                self._load()
        except (OSError, sqlite3.Error) as exc:
            raise ModeStoreError(f"cannot open the store of modes and owners {path} ({exc}); "
                                 "move it away to mount with the default modes") from None

    def get(self, item_id: str) -> Kept | None:
        if time.monotonic() >= self._recheck_at:
            with self._lock:
                self._sync()
        rows = self._rows
        if rows is not None:
            return rows.get(item_id)
        with self._lock:
            return self._select(item_id)

    def _select(self, item_id: str) -> Kept | None:
        row = self._db.execute("SELECT mode, uid, gid, ctime FROM kept WHERE id = ?",
                               (item_id,)).fetchone()
        return None if row is None else Kept(*row)

    def _sync(self) -> None:
        """(Under the lock.) Load the rows again if another connection committed a change
        since they were loaded."""
        self._recheck_at = time.monotonic() + self._recheck
        if self._db.execute("PRAGMA data_version").fetchone()[0] != self._version:
            self._load()

    def _load(self) -> None:
        """(Under the lock.) The whole table into memory, unless it is too big."""
        self._version = self._db.execute("PRAGMA data_version").fetchone()[0]
        self._recheck_at = time.monotonic() + self._recheck
        rows = self._db.execute("SELECT id, mode, uid, gid, ctime FROM kept LIMIT ?",
                                (self._memory_rows + 1,)).fetchall()
        self._rows = ({row[0]: Kept(*row[1:]) for row in rows}
                      if len(rows) <= self._memory_rows else None)

    def put(self, item_id: str, kept: Kept) -> None:
        self._write([("INSERT OR REPLACE INTO kept VALUES (?, ?, ?, ?, ?, ?)",
                      (item_id, *kept, self._clock()))], [item_id])

    def drop(self, item_ids: Iterable[str]) -> None:
        item_ids = list(item_ids)
        self._write([("DELETE FROM kept WHERE id = ?", (item_id,)) for item_id in item_ids],
                    item_ids)

    def copy(self, source: str, target: str) -> None:
        """``target`` gets ``source``'s row, or none if ``source`` has none."""
        self._write(self._copying(source, target), [target])

    def move(self, source: str, target: str, *, dropping: Iterable[str] = ()) -> None:
        """``source``'s row becomes ``target``'s (none if it had none), and the rows of
        ``dropping`` go, in one transaction."""
        gone = [item_id for item_id in (source, *dropping) if item_id != target]
        self._write([*self._copying(source, target),
                     *[("DELETE FROM kept WHERE id = ?", (item_id,)) for item_id in gone]],
                    [target, *gone])

    def _copying(self, source: str, target: str) -> list[tuple[str, tuple[object, ...]]]:
        if source == target:
            return []
        return [("DELETE FROM kept WHERE id = ?", (target,)),
                ("INSERT INTO kept SELECT ?, mode, uid, gid, ctime, ? FROM kept WHERE id = ?",
                 (target, self._clock(), source))]

    def due(self, limit: int, age: float) -> list[str]:
        """Up to ``limit`` ids not checked for ``age`` seconds, the longest unchecked first."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM kept WHERE checked < ? ORDER BY checked "
                                    "LIMIT ?", (self._clock() - age, limit)).fetchall()
        return [row[0] for row in rows]

    def checked(self, item_ids: Iterable[str]) -> None:
        """These items were found to exist now."""
        now = self._clock()
        self._write([("UPDATE kept SET checked = ? WHERE id = ?", (now, item_id))
                     for item_id in item_ids])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM kept").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: list[tuple[str, tuple[object, ...]]],
               changed: Iterable[str] = ()) -> None:
        """One transaction, then the rows of ``changed`` in memory as it left them; a full disk
        is :class:`NoSpaceError` (nothing changed)."""
        if not statements:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, parameters in statements:
                        self._db.execute(sql, parameters)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if "full" in str(exc):
                    raise NoSpaceError(f"no room to keep modes and owners in {self.path}") \
                        from None
                raise
            rows = self._rows
            if rows is None:
                return
            for item_id in changed:
                kept = self._select(item_id)
                if kept is None:
                    rows.pop(item_id, None)
                else:
                    rows[item_id] = kept
            if len(rows) > self._memory_rows:
                self._rows = None


class Pruner:
    """Drops the rows of items that are gone, a batch at a time, in a thread of its own.

    ``exists(id)`` says whether the item (or pending file) is still there: True, False, or
    None when that cannot be known now (put.io unreachable: the pass ends, the row waits).
    """

    def __init__(self, store: ModeStore, exists: Callable[[str], bool | None], *,
                 every: float = PRUNE_EVERY, batch: int = PRUNE_BATCH,
                 age: float = PRUNE_AGE) -> None:
        self.store = store
        self.exists = exists
        self.every = every
        self.batch = batch
        self.age = age
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="putiofs-modes-pruner",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the thread carries on
                log.warning("pruning the kept modes failed: %s: %s", type(exc).__name__, exc)

    def run_once(self) -> int:
        """One batch; how many rows were dropped."""
        alive: list[str] = []
        gone: list[str] = []
        for item_id in self.store.due(self.batch, self.age):
            if self._stop.is_set():
                break
            found = self.exists(item_id)
            if found is None:
                break
            (alive if found else gone).append(item_id)
        if self._stop.is_set():  # unmounting: the store is about to close
            return 0
        self.store.checked(alive)
        self.store.drop(gone)
        if gone:
            log.debug("kept modes: dropped %d row(s) of items gone", len(gone))
        return len(gone)
