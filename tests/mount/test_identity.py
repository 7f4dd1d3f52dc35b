"""A file keeps its inode number through a real mount while it is written, uploaded and landed:
sqlite, tar --listed-incremental, git's index and rsync -H key on it. sqlite is run on the
mount with each journal mode it has by default or can be asked for."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from putiofs.emulator.http.faults import Fault
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Scripted
from tests.support.servers import from_fixture

#: The kernel keeps attributes this long (the mount's ``--cache-ttl``, see
#: putiofs.mount.settings.kernel_ttl): a stat after it asks the mount again.
KERNEL_TTL = 0.2
pytestmark = [requires_fuse, pytest.mark.server(api="v2", demo=False),
              pytest.mark.mount_args("--cache-ttl", str(KERNEL_TTL))]

ID_XATTR = "user.putio.id"


def fresh_stat(path: Path) -> os.stat_result:
    """What the mount says now, not what the kernel still holds from before."""
    time.sleep(2 * KERNEL_TTL)
    return path.stat()


def landed_id(path: Path) -> str | None:
    """The put.io id of the item at ``path``; None while it is pending (not on put.io yet)."""
    try:
        return os.getxattr(path, ID_XATTR).decode()
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOENT):
            return None
        raise


def wait_landed(path: Path, other_than: str | None = None) -> str:
    """Poll until ``path`` is a put.io item (not ``other_than``); its id."""
    return wait_for(lambda: (found := landed_id(path)) is not None and found != other_than
                    and found, 30, fail=f"{path.name} never landed on put.io")


def test_fstat_shows_the_same_inode_before_and_after_a_write(server, mount):
    item = server.account.add_file("0", "kept.bin", data=b"0123456789")
    path = mount.path / "kept.bin"
    before = path.stat().st_ino
    assert before == int(item) + 1
    with open(path, "r+b") as handle:
        assert os.fstat(handle.fileno()).st_ino == before
        handle.write(b"abc")
        handle.flush()
        assert os.fstat(handle.fileno()).st_ino == before
        assert path.stat().st_ino == before
    assert path.stat().st_ino == before
    new_id = wait_landed(path, other_than=item)
    assert fresh_stat(path).st_ino == before, f"landed as item {new_id}"
    assert path.read_bytes() == b"abc3456789"


def test_a_new_file_keeps_its_inode_when_it_lands_and_when_written_again(server, mount):
    path = mount.path / "new.txt"
    path.write_bytes(b"one\n")
    pending = path.stat().st_ino
    first = wait_landed(path)
    assert fresh_stat(path).st_ino == pending
    with open(path, "ab") as handle:
        handle.write(b"two\n")
        assert os.fstat(handle.fileno()).st_ino == pending
    wait_landed(path, other_than=first)
    assert fresh_stat(path).st_ino == pending
    assert path.read_bytes() == b"one\ntwo\n"


def test_files_written_through_the_mount_never_share_an_inode(server, mount):
    """Each written file keeps its own number (while pending and once landed), and none takes
    the number of an item put.io has."""
    kept = server.account.add_file("0", "kept.bin", data=b"x")
    (mount.path / "edited.bin").write_bytes(b"old")
    first = wait_landed(mount.path / "edited.bin")
    with open(mount.path / "edited.bin", "ab") as handle:
        handle.write(b"new")
    for index in range(5):
        (mount.path / f"f{index}.txt").write_bytes(b"%d" % index)
    names = ["kept.bin", "edited.bin", *(f"f{index}.txt" for index in range(5))]
    pending = {name: (mount.path / name).stat().st_ino for name in names}
    assert len(set(pending.values())) == len(names)
    assert pending["kept.bin"] == int(kept) + 1
    wait_landed(mount.path / "edited.bin", other_than=first)
    wait_for(lambda: all(landed_id(mount.path / name) for name in names), 30,
             fail="not every file landed")
    time.sleep(2 * KERNEL_TTL)
    landed = {name: (mount.path / name).stat().st_ino for name in names}
    assert landed == pending


@pytest.fixture
def slow_deletes() -> Scripted:
    """put.io slow to delete and to set times: a landing takes that long between showing the
    new item and deleting the version it replaced."""
    return Scripted({"files.delete": Fault(delay=0.5), "files.touch": Fault(delay=0.5)})


@pytest.mark.server(faults=from_fixture("slow_deletes"))
@pytest.mark.mount_args("--cache-ttl", str(KERNEL_TTL / 2), "--no-events")
def test_the_number_stays_while_the_upload_lands(server, mount):
    """Looked at all along the landing (the kernel asking the mount every 0.1 s): one number."""
    item = server.account.add_file("0", "db.bin", data=b"0123456789")
    path = mount.path / "db.bin"
    wait_for(path.exists, 10, fail="the item never showed")
    with open(path, "r+b") as handle:
        handle.write(b"x")
    seen, settled, give_up = set(), None, time.monotonic() + 30
    while time.monotonic() < (give_up if settled is None else settled):
        seen.add(path.stat().st_ino)
        if settled is None and landed_id(path) not in (None, item):
            settled = time.monotonic() + 2  # the deletes and the time after it
    assert settled is not None, "the upload never landed"
    assert seen == {int(item) + 1}


def test_an_item_replaced_by_another_client_is_a_new_file(server, mount):
    old = server.account.add_file("0", "doc.txt", data=b"mine")
    path = mount.path / "doc.txt"
    path.write_bytes(b"edited")
    seen = path.stat().st_ino
    landed = wait_landed(path, other_than=old)
    server.account.delete(landed)
    newer = server.account.add_file("0", "doc.txt", data=b"theirs")
    wait_for(lambda: landed_id(path) == newer, 30, fail="the other client's file never showed")
    assert fresh_stat(path).st_ino == int(newer) + 1 != seen


def sqlite_rounds(db: Path, journal_mode: str, rounds: range) -> list[tuple[int, str]]:
    """Per round: open, insert three rows in three transactions, close (what a program keeping
    its data in sqlite does across runs); then open once more and read every row."""
    for round_number in rounds:
        db.exists()  # as a program that looks first would: the kernel then holds its attributes
        connection = sqlite3.connect(db)
        try:
            mode = connection.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0]
            assert mode == journal_mode.lower()
            connection.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER, word TEXT)")
            for i in range(3):  # a transaction each: the second one finds what the first wrote
                with connection:
                    connection.execute("INSERT INTO t VALUES (?, ?)",
                                       (round_number * 10 + i, f"w{i}"))
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            connection.close()
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT n, word FROM t ORDER BY n").fetchall()
    finally:
        connection.close()


def rows(rounds: range) -> list[tuple[int, str]]:
    return [(r * 10 + i, f"w{i}") for r in rounds for i in range(3)]


@pytest.mark.mount_args()  # the kernel keeps attributes as long as it does by default
@pytest.mark.parametrize("journal_mode", ["DELETE", "TRUNCATE", "PERSIST"])
def test_sqlite_writes_to_a_reopened_database(server, mount, journal_mode):
    """The rollback journal (sqlite's default, DELETE, creates and removes ``-journal`` next to
    the database in every transaction): reopened while the database is pending, and once it
    is on put.io (sqlite refused that write with SQLITE_READONLY_DBMOVED when the inode it
    saw at open changed)."""
    db = mount.path / "data.db"
    assert sqlite_rounds(db, journal_mode, range(1)) == rows(range(1))
    first = wait_landed(db)
    assert sqlite_rounds(db, journal_mode, range(1, 2)) == rows(range(2))
    wait_landed(db, other_than=first)
    assert sqlite_rounds(db, journal_mode, range(2, 5)) == rows(range(5))
    assert sqlite_rounds(db, journal_mode, range(0)) == rows(range(5))
    assert sorted(name for name in os.listdir(mount.path) if name.startswith("data.db")) == (
        ["data.db", "data.db-journal"] if journal_mode != "DELETE" else ["data.db"])


@pytest.mark.mount_args()
def test_sqlite_wal(server, mount):
    """WAL mode maps ``-shm`` shared: it works on the mount (the kernel's page cache is shared,
    not bypassed), also with a second process writing while a connection is open."""
    db = mount.path / "wal.db"
    assert sqlite_rounds(db, "WAL", range(1)) == rows(range(1))
    first = wait_landed(db)
    assert sqlite_rounds(db, "WAL", range(1, 3)) == rows(range(3))
    reader = sqlite3.connect(db)
    try:
        assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 9
        subprocess.run([sys.executable, "-c", WRITER, str(db)], check=True, timeout=60)
        assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 10
    finally:
        reader.close()
    wait_landed(db, other_than=first)
    assert sqlite_rounds(db, "WAL", range(0)) == [*rows(range(3)), (99, "other")]
    assert [name for name in os.listdir(mount.path) if name.startswith("wal.db")] == ["wal.db"]


WRITER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
with connection:
    connection.execute("INSERT INTO t VALUES (99, 'other')")
connection.close()
"""
