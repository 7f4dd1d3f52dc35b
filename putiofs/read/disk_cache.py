"""The persistent read cache: the bytes read from put.io, kept on disk across remounts.

Layout, in the account's folder of ``--cache-dir`` (:data:`FOLDER`, beside the write spool)::

    read-cache/lock            flock'd by the mount that uses the cache (one mount at a time)
    read-cache/index.sqlite    one row per chunk: key, index, byte range, CRC-32, last use
    read-cache/data/<h>.<n>    chunk n of the file whose key hashes to h

**Chunks, not sparse files.** A file's bytes are kept in fixed chunks of :data:`CHUNK_SIZE` (1 MiB,
libfuse 3's largest read, so a cached sequential read is one ``preadv`` of one file per
request). A chunk file holds one contiguous run ``[lo, hi)`` of its chunk (the head a scanner
read, the tail block of an index): a run that grows is rewritten whole, once per chunk for a
sequential read since bytes are staged per handle until a chunk is complete. Chunks make each
piece checkable on its own (a CRC-32 per chunk, in the index) and evictable on its own
(``unlink``); a sparse file would need a map of its holes, a checksum per range anyway, and
``fallocate(PUNCH_HOLE)`` to evict, which not every filesystem has.

**Keys.** A chunk belongs to ``item id : size : crc32`` (``updated_at`` where the API gives no
CRC-32, the id and size alone where it gives neither, as v1: there a new upload is a new item).
A file replaced on put.io has another key, so its old bytes are never served; they age out.

**Index.** SQLite in WAL mode (crash-safe, in the standard library): it is read once at open into
memory (a few ms for 10,000 chunks), then written only by the writer thread. A chunk's file is
written to a temporary name, renamed, then its row committed: a crash leaves at worst a file
without a row (deleted at the next open) or a row whose bytes did not reach the disk, which the
check below catches. Last-use times are written in batches.

**Checks.** The first time a chunk is served by this process it is read whole and its CRC-32
compared with the index; a chunk that fails (torn write, flipped byte) or is gone is dropped
and its bytes read again from put.io, never served. Later reads of a checked chunk are one
``os.preadv`` straight into libfuse's reply buffer (from the page cache once hot). libfuse 3's
``read_buf`` with ``FUSE_BUF_IS_FD`` would save that one copy, but mfusepy's ``read_buf`` cannot
be used as it is (its ``fuse_bufvec`` declares ``buf`` as a pointer where libfuse has an inline
array), and a ctypes one of our own would have to keep each chunk's descriptor open until
libfuse has read it after the callback returned (a descriptor closed and reused by an eviction
meanwhile would send another file's bytes), to save a copy that costs less than the FUSE round
trip around it: the bench's cached sequential row is several times the in-memory ceiling.

**Bound and eviction.** The chunks' bytes stay within ``limit`` (``--read-cache-size``,
default :func:`default_size`: 10 GiB, less on a small disk); the least recently used chunk
goes first, but the chunks of a file's first and last :data:`EDGE` bytes (what scanners and
ffprobe read) go only once no other chunk is left. Writing never lets the filesystem's free
space fall below :func:`reserve_for` (5 % of the filesystem, at most 1 GiB), kept for the
write spool, whose ``close()`` must always find room; a write that meets ENOSPC or EDQUOT
anyway drops the write, shrinks the cache to three quarters of its size and lowers its bound
to that for the rest of the mount: the reader never sees an error from the cache.

**Off the reads' path.** Bytes from the network are copied into a per-handle stager (a memcpy)
and handed to one writer thread; when more than :data:`MAX_PENDING` bytes wait, new ones are
dropped rather than slowing the stream.

Thread-safe: one lock over the in-memory index; descriptors are counted while a read uses them.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from putiofs.api.backend import Entry
from putiofs.read.buffer import RangeBody, RangeSource

log = logging.getLogger("putiofs.read")

#: The read cache's folder inside the account's folder of ``--cache-dir``.
FOLDER = "read-cache"
CHUNK_SIZE = 1024 * 1024
#: A file's first and last this many bytes are its edges, evicted last.
EDGE = 1024 * 1024
#: Bytes waiting for the writer beyond which new ones are dropped.
MAX_PENDING = 64 * 1024 * 1024
#: The default bound, where the disk has room for it.
DEFAULT_SIZE = 10 * 1024**3
#: Descriptors of chunk files kept open between reads.
MAX_OPEN = 128
#: Seconds between batched writes of last-use times.
TOUCH_EVERY = 5.0
_FULL = (errno.ENOSPC, errno.EDQUOT)


class CacheInUse(Exception):
    """Another process (a running mount) holds the read cache."""


def reserve_for(folder: Path) -> int:
    """Free bytes the read cache leaves on ``folder``'s filesystem for the write spool."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return 1024**3
    return min(1024**3, st.f_blocks * st.f_frsize // 20)


def default_size(folder: Path) -> int:
    """:data:`DEFAULT_SIZE`, or a quarter of what is free on ``folder``'s filesystem (the cache
    counted as free) if that is less."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return DEFAULT_SIZE
    return min(DEFAULT_SIZE, (st.f_bavail * st.f_frsize + _bytes_in(folder)) // 4)


def _bytes_in(folder: Path) -> int:
    data = folder / FOLDER / "data" if (folder / FOLDER).is_dir() else folder / "data"
    try:
        return sum(e.stat().st_size for e in os.scandir(data) if e.is_file())
    except OSError:
        return 0


@dataclass(eq=False)
class _Chunk:
    key: str
    index: int
    lo: int
    hi: int
    crc: int
    edge: bool
    name: str
    verified: bool = False
    users: int = 0
    fd: int = -1
    dead: bool = False

    @property
    def start(self) -> int:
        return self.index * CHUNK_SIZE + self.lo

    @property
    def end(self) -> int:
        return self.index * CHUNK_SIZE + self.hi


@dataclass
class CacheStats:
    size: int = 0
    limit: int = 0
    chunks: int = 0
    hits: int = 0          # bytes served from the cache
    misses: int = 0        # bytes of cached-capable reads that came from the network
    dropped: int = 0       # chunks that failed their check
    skipped: int = 0       # bytes not written (writer behind, disk full)
    folder: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        total = self.hits + self.misses
        return {"folder": self.folder, "size": self.size, "limit": self.limit,
                "chunks": self.chunks, "hit_bytes": self.hits, "miss_bytes": self.misses,
                "hit_rate": round(self.hits / total, 3) if total else None,
                "dropped_corrupt": self.dropped, "skipped_bytes": self.skipped}


class ReadCache:
    """The read cache in ``folder`` (the ``read-cache`` folder itself), bounded by ``limit``
    bytes. :meth:`open` is how a mount gets one."""

    def __init__(self, folder: Path, limit: int, *, reserve: int | None = None) -> None:
        self.folder = folder
        self._data = folder / "data"
        self._data.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = _take_lock(folder)
        self.limit = limit
        self.reserve = reserve_for(folder) if reserve is None else reserve
        self._lock = threading.Lock()
        self._chunks: dict[tuple[str, int], _Chunk] = {}
        self._keys: dict[str, int] = {}   # key -> chunks held
        self._body: OrderedDict[_Chunk, None] = OrderedDict()
        self._edges: OrderedDict[_Chunk, None] = OrderedDict()
        self._open: OrderedDict[_Chunk, None] = OrderedDict()
        self._size = 0
        self._stats = CacheStats(folder=str(folder))
        self._touched: set[_Chunk] = set()
        self._dropped_rows: list[tuple[str, int, str]] = []
        self._pending = 0
        self._queue: queue.Queue[tuple[str, int, bytes] | None] = queue.Queue()
        self._db = sqlite3.connect(folder / "index.sqlite", check_same_thread=False,
                                   isolation_level=None)
        try:
            self._load()
        except (sqlite3.Error, OSError):
            self._db.close()
            os.close(self._lock_fd)
            raise
        self._writer = threading.Thread(target=self._write_loop, name="putiofs-read-cache",
                                        daemon=True)
        self._writer.start()

    @classmethod
    def open(cls, account_folder: Path, limit: int | None) -> ReadCache | None:
        """The read cache of an account folder, bounded by ``limit`` (None: the default); None
        when ``limit`` is 0 or the cache cannot be used (in use by another mount, unreadable):
        the mount then reads from put.io alone, and says why in its log."""
        if limit == 0:
            return None
        folder = account_folder / FOLDER
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            return cls(folder, default_size(account_folder) if limit is None else limit)
        except CacheInUse:
            log.warning("the read cache in %s is in use by another mount: this mount reads "
                        "from put.io alone", folder)
        except (OSError, sqlite3.Error) as exc:
            log.warning("the read cache in %s cannot be used (%s): reading from put.io alone",
                        folder, exc)
        return None

    # -- loading -------------------------------------------------------------------------

    def _load(self) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS chunks (key TEXT, idx INTEGER, lo INTEGER, "
                   "hi INTEGER, crc INTEGER, edge INTEGER, name TEXT, used REAL, "
                   "PRIMARY KEY (key, idx))")
        rows = db.execute("SELECT key, idx, lo, hi, crc, edge, name FROM chunks "
                          "ORDER BY used").fetchall()
        present = {entry.name for entry in os.scandir(self._data)}
        gone = []
        for key, index, lo, hi, crc, edge, name in rows:
            if name not in present:
                gone.append((key, index))
                continue
            present.discard(name)
            self._add(_Chunk(key, index, lo, hi, crc, bool(edge), name))
        for name in present:  # written, never indexed (a crash between the two), or temporary
            _unlink(self._data / name)
        if gone:
            db.executemany("DELETE FROM chunks WHERE key=? AND idx=?", gone)
        victims = self._victims(0)
        self._forget(victims)

    # -- reading -------------------------------------------------------------------------

    def holds(self, entry: Entry) -> bool:
        """Any byte of ``entry``'s current contents is here."""
        with self._lock:
            return entry.contents_key in self._keys

    def serve(self, key: str, pos: int, dest: memoryview) -> int:
        """Copy the cached bytes of ``key`` from ``pos`` into ``dest``, as many as one chunk
        holds from there; 0 when ``pos`` is not cached (or its chunk failed its check)."""
        with self._lock:
            chunk = self._chunks.get((key, pos // CHUNK_SIZE))
            if chunk is None or not chunk.start <= pos < chunk.end:
                return 0
            count = min(len(dest), chunk.end - pos)
            self._use(chunk)
            chunk.users += 1
            verified = chunk.verified
        try:
            if verified:
                got = self._pread(chunk, dest[:count], pos - chunk.start)
            else:
                got = self._check_and_copy(chunk, dest[:count], pos - chunk.start)
        except OSError:  # gone from under the cache (removed by hand): read from put.io
            got = -1
        finally:
            with self._lock:
                chunk.users -= 1
                if chunk.dead and chunk.users == 0:
                    self._close_fd(chunk)
        if got != count:
            self._drop(chunk, "cannot be read whole")
            return 0
        with self._lock:
            self._stats.hits += count
        return count

    def next_cached(self, key: str, pos: int, end: int) -> int:
        """The first byte in ``(pos, end)`` that :meth:`serve` may have, else ``end``."""
        with self._lock:
            for index in range(pos // CHUNK_SIZE, (end - 1) // CHUNK_SIZE + 1):
                chunk = self._chunks.get((key, index))
                if chunk is not None and chunk.end > pos:
                    return min(end, max(pos + 1, chunk.start))
        return end

    def missed(self, count: int) -> None:
        with self._lock:
            self._stats.misses += count

    def _pread(self, chunk: _Chunk, dest: memoryview, offset: int) -> int:
        with self._lock:
            if chunk.fd < 0:
                chunk.fd = os.open(self._data / chunk.name, os.O_RDONLY | os.O_CLOEXEC)
                self._open[chunk] = None
                self._trim_open()
            else:
                self._open.move_to_end(chunk)
            fd = chunk.fd
        got = 0
        while got < len(dest):
            count = os.preadv(fd, [dest[got:]], offset + got)
            if count <= 0:
                break
            got += count
        return got

    def _check_and_copy(self, chunk: _Chunk, dest: memoryview, offset: int) -> int:
        try:
            data = (self._data / chunk.name).read_bytes()
        except OSError:
            return -1
        if len(data) != chunk.hi - chunk.lo or zlib.crc32(data) != chunk.crc:
            with self._lock:
                self._stats.dropped += 1
            self._drop(chunk, "failed its check")
            return -1
        with self._lock:
            chunk.verified = True
        dest[:] = data[offset:offset + len(dest)]
        return len(dest)

    def _trim_open(self) -> None:
        while len(self._open) > MAX_OPEN:
            for candidate in self._open:
                if candidate.users == 0:
                    self._close_fd(candidate)
                    break
            else:
                return

    def _close_fd(self, chunk: _Chunk) -> None:
        if chunk.fd >= 0:
            os.close(chunk.fd)
            chunk.fd = -1
        self._open.pop(chunk, None)

    # -- keeping -------------------------------------------------------------------------

    def stager_for(self, key: str, size: int) -> Stager:
        return Stager(self, key, size)

    def submit(self, key: str, start: int, data: bytes) -> None:
        """Keep ``data`` (the bytes of ``key`` from ``start``, within one chunk) in the
        background; dropped if the writer is too far behind."""
        with self._lock:
            if self._pending + len(data) > MAX_PENDING or self.limit <= 0:
                self._stats.skipped += len(data)
                return
            self._pending += len(data)
        self._queue.put((key, start, data))

    def _write_loop(self) -> None:
        """The one thread that writes chunk files and the index: the jobs waiting are taken
        together, their rows committed in one transaction (after their files are renamed)."""
        last_touch = time.monotonic()
        stop = False
        while not stop:
            try:
                batch = [self._queue.get(timeout=TOUCH_EVERY)]
            except queue.Empty:
                batch = []
            while batch and batch[-1] is not None and len(batch) < 64:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            try:
                self._db.execute("BEGIN")
                for job in batch:
                    if job is not None:
                        self._job(*job)
                if stop or time.monotonic() - last_touch >= TOUCH_EVERY:
                    last_touch = time.monotonic()
                    self._flush_touches()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:  # never let the writer die
                log.warning("read cache index: %s", exc)
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")

    def _job(self, key: str, start: int, data: bytes) -> None:
        try:
            self._keep(key, start, data)
        except OSError as exc:
            log.warning("read cache: %s", exc)
        except sqlite3.Error:
            raise
        except Exception:
            log.exception("read cache writer")
        finally:
            with self._lock:
                self._pending -= len(data)

    def _keep(self, key: str, start: int, data: bytes) -> None:
        index = start // CHUNK_SIZE
        lo = start - index * CHUNK_SIZE
        hi = lo + len(data)
        with self._lock:
            old = self._chunks.get((key, index))
        if old is not None:
            if old.lo <= lo and hi <= old.hi:
                return
            if lo <= old.hi and old.lo <= hi:  # touching or overlapping: keep the union
                try:
                    held = (self._data / old.name).read_bytes()
                except OSError:
                    held = b""
                if len(held) == old.hi - old.lo and zlib.crc32(held) == old.crc:
                    new_lo, new_hi = min(lo, old.lo), max(hi, old.hi)
                    merged = bytearray(new_hi - new_lo)
                    merged[old.lo - new_lo:old.hi - new_lo] = held
                    merged[lo - new_lo:hi - new_lo] = data
                    data, lo, hi = bytes(merged), new_lo, new_hi
            elif old.hi - old.lo >= hi - lo:
                return
        size = int(key.split(":")[1])
        edge = index * CHUNK_SIZE + lo < EDGE or index * CHUNK_SIZE + hi > size - EDGE
        # a new name per write: a late DELETE of an old row never hits its successor
        name = f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.{index}.{os.urandom(4).hex()}"
        if not self._make_room(len(data) - (0 if old is None else old.hi - old.lo)):
            with self._lock:
                self._stats.skipped += len(data)
            return
        temporary = self._data / f"{name}.tmp"
        try:
            with open(temporary, "wb") as out:
                out.write(data)
            os.replace(temporary, self._data / name)
        except OSError as exc:
            _unlink(temporary)
            if exc.errno not in _FULL:
                raise
            self._disk_full()
            return
        chunk = _Chunk(key, index, lo, hi, zlib.crc32(data), edge, name, verified=True)
        with self._lock:
            previous = self._chunks.get((key, index))
        if previous is not None:
            self._forget([previous])
        with self._lock:
            self._add(chunk)
        self._db.execute("INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                         (key, index, lo, hi, chunk.crc, int(edge), name, time.time()))

    def _make_room(self, extra: int) -> bool:
        """Evict until ``extra`` more bytes fit the bound and the disk's reserve."""
        with self._lock:
            victims = self._victims(extra)
        self._forget(victims)
        try:
            st = os.statvfs(self._data)
        except OSError:
            return True
        free = st.f_bavail * st.f_frsize
        if free - extra >= self.reserve:
            return self._size + extra <= self.limit
        need = extra + self.reserve - free
        with self._lock:
            victims = self._oldest(need)
        self._forget(victims)
        return (sum(chunk.hi - chunk.lo for chunk in victims) >= need
                and self._size + extra <= self.limit)

    def _disk_full(self) -> None:
        with self._lock:
            target = self._size * 3 // 4
            self.limit = min(self.limit, target)
            victims = self._victims(0)
        log.warning("read cache: the disk is full; the cache shrinks to %d bytes for this "
                    "mount", self.limit)
        self._forget(victims)

    def _victims(self, extra: int) -> list[_Chunk]:
        """Under the lock: the chunks to evict for ``extra`` more bytes within the bound."""
        return self._oldest(self._size + extra - self.limit)

    def _oldest(self, need: int) -> list[_Chunk]:
        victims: list[_Chunk] = []
        freed = 0
        for order in (self._body, self._edges):
            for chunk in order:
                if freed >= need:
                    return victims
                victims.append(chunk)
                freed += chunk.hi - chunk.lo
        return victims

    def _forget(self, victims: list[_Chunk]) -> None:
        if not victims:
            return
        with self._lock:
            for chunk in victims:
                self._remove(chunk)
        for chunk in victims:
            _unlink(self._data / chunk.name)
        self._db.executemany("DELETE FROM chunks WHERE key=? AND idx=? AND name=?",
                             [(c.key, c.index, c.name) for c in victims])

    def _drop(self, chunk: _Chunk, why: str) -> None:
        """Forget a chunk a read found wrong; its row goes with the next batch of the writer
        (the one thread that writes the index)."""
        with self._lock:
            if self._chunks.get((chunk.key, chunk.index)) is not chunk:
                return
            self._remove(chunk)
            self._dropped_rows.append((chunk.key, chunk.index, chunk.name))
        log.warning("read cache: chunk %d of item %s %s: dropped, read again from put.io",
                    chunk.index, chunk.key.split(":")[0], why)
        _unlink(self._data / chunk.name)

    # -- the in-memory index (under the lock) --------------------------------------------

    def _add(self, chunk: _Chunk) -> None:
        self._chunks[(chunk.key, chunk.index)] = chunk
        self._keys[chunk.key] = self._keys.get(chunk.key, 0) + 1
        (self._edges if chunk.edge else self._body)[chunk] = None
        self._size += chunk.hi - chunk.lo

    def _remove(self, chunk: _Chunk) -> None:
        if self._chunks.get((chunk.key, chunk.index)) is chunk:
            del self._chunks[(chunk.key, chunk.index)]
            left = self._keys.get(chunk.key, 1) - 1
            if left:
                self._keys[chunk.key] = left
            else:
                self._keys.pop(chunk.key, None)
            self._size -= chunk.hi - chunk.lo
        (self._edges if chunk.edge else self._body).pop(chunk, None)
        self._touched.discard(chunk)
        chunk.dead = True
        if chunk.users == 0:
            self._close_fd(chunk)

    def _use(self, chunk: _Chunk) -> None:
        order = self._edges if chunk.edge else self._body
        if chunk in order:
            order.move_to_end(chunk)
        self._touched.add(chunk)

    def _flush_touches(self) -> None:
        with self._lock:
            touched, self._touched = self._touched, set()
            dropped, self._dropped_rows[:] = list(self._dropped_rows), []
        now = time.time()
        if dropped:
            self._db.executemany("DELETE FROM chunks WHERE key=? AND idx=? AND name=?", dropped)
        if touched:
            self._db.executemany("UPDATE chunks SET used=? WHERE key=? AND idx=? AND name=?",
                                 [(now, c.key, c.index, c.name) for c in touched])

    # -- the rest ------------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        with self._lock:
            self._stats.size, self._stats.limit = self._size, self.limit
            self._stats.chunks = len(self._chunks)
            return self._stats.as_dict()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted write is done (tests, unmount); True if it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._pending == 0 and self._queue.empty():
                    return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """Finish the queued writes (what is queued is kept), write the last-use times, let
        go of the lock. Idempotent."""
        if self._lock_fd < 0:
            return
        self._queue.put(None)
        self._writer.join(timeout=30)
        with self._lock:
            for chunk in list(self._open):
                self._close_fd(chunk)
        self._db.close()
        os.close(self._lock_fd)
        self._lock_fd = -1


class Stager:
    """One handle's bytes from the network, gathered into runs and handed to the cache a chunk
    at a time (a run that ends inside a chunk at :meth:`flush`, when the stream jumps or the
    handle closes). Used under the handle's read lock."""

    def __init__(self, cache: ReadCache, key: str, size: int) -> None:
        self.cache = cache
        self.key = key
        self.size = size
        self._start = 0
        self._buf = bytearray()

    def add(self, pos: int, data: memoryview | bytes) -> None:
        if self._buf and pos != self._start + len(self._buf):
            self.flush()
        if not self._buf:
            self._start = pos
        self._buf += data
        while self._buf:
            boundary = min(self.size, (self._start // CHUNK_SIZE + 1) * CHUNK_SIZE)
            if self._start + len(self._buf) < boundary:
                return
            cut = boundary - self._start
            self.cache.submit(self.key, self._start, bytes(self._buf[:cut]))
            del self._buf[:cut]
            self._start += cut

    def flush(self) -> None:
        if self._buf:
            self.cache.submit(self.key, self._start, bytes(self._buf))
            self._buf = bytearray()


def clear(account_folder: Path) -> int:
    """Empty the read cache of an account folder; the bytes freed. CacheInUse while a mount
    holds it (a mount's in-memory index would then point at files that are gone)."""
    folder = account_folder / FOLDER
    if not folder.is_dir():
        return 0
    lock = _take_lock(folder)
    try:
        freed = _bytes_in(folder)
        shutil.rmtree(folder / "data", ignore_errors=True)
        for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
            _unlink(folder / name)
        return freed
    finally:
        os.close(lock)


def _take_lock(folder: Path) -> int:
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise CacheInUse(str(folder)) from None
        raise
    return fd


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


class _TeeBody:
    """A source's open range whose bytes are also staged for the cache."""

    def __init__(self, body: RangeBody, stager: Stager) -> None:
        self._body = body
        self._stager = stager

    @property
    def pos(self) -> int:
        return self._body.pos

    @property
    def end(self) -> int:
        return self._body.end

    def readinto(self, view: memoryview) -> int:
        start = self._body.pos
        count = self._body.readinto(view)
        if count > 0:
            self._stager.add(start, view[:count])
        return count

    def close(self, *, reuse: bool = True) -> None:
        self._body.close(reuse=reuse)


class TeeSource:
    """A :class:`~putiofs.read.buffer.RangeSource` whose bytes are also kept by the cache."""

    def __init__(self, source: RangeSource, stager: Stager) -> None:
        self._source = source
        self.stager = stager

    def open(self, start: int, end: int) -> RangeBody:
        return _TeeBody(self._source.open(start, end), self.stager)

    def fetch(self, start: int, end: int) -> bytes:
        data = self._source.fetch(start, end)
        self.stager.add(start, data)
        return data

    def forget_target(self) -> None:
        self.stager.flush()
        self._source.forget_target()
