"""Changing the tree through a real FUSE mount: mkdir, rename/move, unlink, rmdir.

Every rule is checked from both sides: what the mount shows (``os``, ``shutil``, subprocesses)
and what the emulator holds afterwards (its account state, by item id, and its call counts).
Every test runs on both API versions (``[v1]``, ``[v2]``); the call counts use version-free
names (``mkdir`` is v1's ``create_dir``, v2's ``create-folder``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import stat
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest

from putiofs.emulator.http.faults import Fault, Faults, RequestInfo
from putiofs.write.landing import ASIDE_PREFIX
from tests.support.errnos import errno_of
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.versions import api_of, call_name, changes, version_of

pytestmark = requires_fuse


class Tree:
    """A small account, mounted: ids by name, the mountpoint, and server-side helpers."""

    def __init__(self, server, mount) -> None:
        self.server = server
        self.account = server.account
        self.mount = mount
        self.root: Path = mount.path
        self.ids: dict[str, str] = {}

    def snapshot(self, folder_id: str = "0") -> dict[str, tuple]:
        """Every item below ``folder_id`` on the server: id → (name, parent, is_dir, size)."""
        found: dict[str, tuple] = {}
        pending = [folder_id]
        while pending:
            for child in self.account.children(pending.pop()):
                found[str(child["id"])] = (child["name"], str(child["parent_id"]),
                                           child["is_dir"], child["size"])
                if child["is_dir"]:
                    pending.append(str(child["id"]))
        return found

    def names(self, folder_id: str) -> dict[str, str]:
        """put.io name → id of a folder's children (the names must be unique here)."""
        return {c["name"]: str(c["id"]) for c in self.account.children(folder_id)}

    def edits(self) -> dict[str, int]:
        """Tree edits sent since the fixture's reset: ``{"mkdir": 1, "move": 2, ...}``."""
        return changes(self.server)

    @property
    def version(self) -> str:
        return version_of(self.server)


@pytest.fixture
def tree(server_factory, mount_factory) -> Tree:
    r"""/Docs/{a.txt, b.txt}  /Empty/  /Full/{inner.txt, Sub/}  /top.txt, cache TTL 30 s."""
    server = server_factory()
    account = server.account
    ids = {
        "Docs": account.add_folder("0", "Docs"),
        "Empty": account.add_folder("0", "Empty"),
        "Full": account.add_folder("0", "Full"),
    }
    ids["a.txt"] = account.add_file(ids["Docs"], "a.txt", data=b"alpha")
    ids["b.txt"] = account.add_file(ids["Docs"], "b.txt", data=b"bravo, longer")
    ids["inner.txt"] = account.add_file(ids["Full"], "inner.txt", data=b"x")
    ids["Sub"] = account.add_folder(ids["Full"], "Sub")
    ids["top.txt"] = account.add_file("0", "top.txt", data=b"top file")
    result = Tree(server, mount_factory(server, "--cache-ttl", "30"))
    result.ids = ids
    os.listdir(result.root)  # the mount's first listing; later edits meet a warm cache
    server.reset_stats()
    return result


# -- mkdir --------------------------------------------------------------------------------------


def test_mkdir_creates_a_folder_that_is_visible_at_once(tree):
    os.mkdir(tree.root / "Docs" / "New")
    assert "New" in os.listdir(tree.root / "Docs")
    assert stat.S_ISDIR(os.stat(tree.root / "Docs" / "New").st_mode)
    assert os.listdir(tree.root / "Docs" / "New") == []
    new_id = tree.names(tree.ids["Docs"])["New"]
    assert tree.account.item(new_id)["is_dir"]
    assert os.stat(tree.root / "Docs" / "New").st_ino == int(new_id) + 1


@pytest.mark.parametrize("existing", ["a.txt", "Docs"])
def test_mkdir_on_an_existing_name_is_eexist_and_creates_nothing(tree, existing):
    parent = tree.root / ("Docs" if existing == "a.txt" else "")
    before = tree.snapshot()
    assert errno_of(os.mkdir, parent / existing) == errno.EEXIST
    assert tree.snapshot() == before
    assert "mkdir" not in tree.edits()


def test_mkdir_p_makes_the_whole_chain(tree):
    target = tree.root / "Empty" / "a" / "b" / "c"
    assert subprocess.run(["mkdir", "-p", str(target)]).returncode == 0
    assert os.path.isdir(target)
    a_id = tree.names(tree.ids["Empty"])["a"]
    b_id = tree.names(a_id)["b"]
    assert list(tree.names(b_id)) == ["c"]
    assert subprocess.run(["mkdir", "-p", str(target)]).returncode == 0  # exists: still fine
    assert tree.edits() == {"mkdir": 3}


def test_mkdir_inside_a_file_is_enotdir(tree):
    assert errno_of(os.mkdir, tree.root / "top.txt" / "x") == errno.ENOTDIR


def test_mkdir_of_names_put_io_refuses(tree):
    assert errno_of(os.mkdir, tree.root / ("x" * 256)) == errno.ENAMETOOLONG
    assert "mkdir" not in tree.edits()
    if tree.version == "v1":  # v1 takes a name of spaces as it is
        os.mkdir(tree.root / "   ")
        assert tree.account.item(tree.names("0")["   "])["is_dir"]
    else:  # v2 refuses it (EMPTY_NAME): EINVAL, nothing created
        before = tree.snapshot()
        assert errno_of(os.mkdir, tree.root / "   ") == errno.EINVAL
        assert tree.snapshot() == before
        assert "   " not in os.listdir(tree.root)


# -- rename and move -----------------------------------------------------------------------------


def test_rename_in_one_folder_keeps_the_item_and_its_bytes(tree):
    os.rename(tree.root / "Docs" / "a.txt", tree.root / "Docs" / "renamed.txt")
    assert sorted(os.listdir(tree.root / "Docs")) == ["b.txt", "renamed.txt"]
    assert not os.path.exists(tree.root / "Docs" / "a.txt")
    assert (tree.root / "Docs" / "renamed.txt").read_bytes() == b"alpha"
    assert tree.account.item(tree.ids["a.txt"])["name"] == "renamed.txt"
    assert tree.edits() == {"rename": 1}


def test_move_to_another_folder_is_one_move_call(tree):
    os.rename(tree.root / "Docs" / "a.txt", tree.root / "Empty" / "a.txt")
    assert os.listdir(tree.root / "Empty") == ["a.txt"]
    assert os.listdir(tree.root / "Docs") == ["b.txt"]
    assert os.stat(tree.root / "Empty" / "a.txt").st_size == 5
    assert (tree.root / "Empty" / "a.txt").read_bytes() == b"alpha"
    item = tree.account.item(tree.ids["a.txt"])
    assert (str(item["parent_id"]), item["name"]) == (tree.ids["Empty"], "a.txt")
    assert tree.edits() == {"move": 1}


def test_move_and_rename_of_a_folder_carries_its_subtree(tree):
    os.rename(tree.root / "Full", tree.root / "Docs" / "Moved")
    assert sorted(os.listdir(tree.root / "Docs" / "Moved")) == ["Sub", "inner.txt"]
    assert (tree.root / "Docs" / "Moved" / "inner.txt").read_bytes() == b"x"
    assert not os.path.exists(tree.root / "Full")
    assert "Full" not in os.listdir(tree.root)
    item = tree.account.item(tree.ids["Full"])
    assert (str(item["parent_id"]), item["name"]) == (tree.ids["Docs"], "Moved")
    assert str(tree.account.item(tree.ids["inner.txt"])["parent_id"]) == tree.ids["Full"]
    # v2 moves and renames in one call (file_id + parent_id + name); v1 needs two
    assert tree.edits() == ({"move": 1, "rename": 1} if tree.version == "v1" else {"move": 1})


def test_rename_file_onto_a_file_replaces_it_and_keeps_the_source_id(tree):
    os.rename(tree.root / "Docs" / "a.txt", tree.root / "Docs" / "b.txt")
    assert os.listdir(tree.root / "Docs") == ["b.txt"]
    assert os.stat(tree.root / "Docs" / "b.txt").st_size == 5
    assert (tree.root / "Docs" / "b.txt").read_bytes() == b"alpha"
    assert tree.account.item(tree.ids["b.txt"]) is None
    assert tree.names(tree.ids["Docs"]) == {"b.txt": tree.ids["a.txt"]}


def test_move_file_onto_a_file_in_another_folder_replaces_it(tree):
    os.rename(tree.root / "top.txt", tree.root / "Docs" / "a.txt")
    assert sorted(os.listdir(tree.root / "Docs")) == ["a.txt", "b.txt"]
    assert "top.txt" not in os.listdir(tree.root)
    assert (tree.root / "Docs" / "a.txt").read_bytes() == b"top file"
    assert tree.account.item(tree.ids["a.txt"]) is None
    assert tree.names(tree.ids["Docs"])["a.txt"] == tree.ids["top.txt"]


def test_rename_folder_onto_an_empty_folder_replaces_it(tree):
    os.rename(tree.root / "Full", tree.root / "Empty")
    assert sorted(os.listdir(tree.root / "Empty")) == ["Sub", "inner.txt"]
    assert "Full" not in os.listdir(tree.root)
    assert tree.account.item(tree.ids["Empty"]) is None
    assert tree.names("0")["Empty"] == tree.ids["Full"]
    assert tree.account.item(tree.ids["inner.txt"]) is not None


def test_rename_folder_onto_a_non_empty_folder_is_enotempty_and_changes_nothing(tree):
    before = tree.snapshot()
    assert errno_of(os.rename, tree.root / "Empty", tree.root / "Full") == errno.ENOTEMPTY
    assert tree.snapshot() == before
    assert tree.edits() == {}
    assert sorted(os.listdir(tree.root / "Full")) == ["Sub", "inner.txt"]


def test_rename_folder_onto_a_folder_filled_behind_our_back_is_enotempty(tree):
    os.listdir(tree.root / "Empty")  # cached as empty
    late = tree.account.add_file(tree.ids["Empty"], "late.txt", data=b"late")
    before = tree.snapshot()
    assert errno_of(os.rename, tree.root / "Full", tree.root / "Empty") == errno.ENOTEMPTY
    assert tree.snapshot() == before
    assert tree.account.item(late) is not None


def test_type_mismatches_and_loops_change_nothing(tree):
    before = tree.snapshot()
    assert errno_of(os.rename, tree.root / "top.txt", tree.root / "Empty") == errno.EISDIR
    assert errno_of(os.rename, tree.root / "Empty", tree.root / "top.txt") == errno.ENOTDIR
    assert errno_of(os.rename, tree.root / "Full", tree.root / "Full" / "Sub" / "X") == errno.EINVAL
    assert errno_of(os.rename, tree.root / "Full", tree.root / "Full" / "Sub") == errno.EINVAL
    assert errno_of(os.rename, tree.root / "nope", tree.root / "x") == errno.ENOENT
    assert errno_of(os.rename, tree.root / "top.txt", tree.root / "nope" / "x") == errno.ENOENT
    assert tree.snapshot() == before
    assert tree.edits() == {}


@pytest.mark.parametrize("name", ["top.txt", "Full", "Docs/a.txt"])
def test_rename_onto_itself_succeeds_without_any_call(tree, name):
    before = tree.snapshot()
    os.rename(tree.root / name, tree.root / name)
    assert tree.snapshot() == before
    assert tree.edits() == {}
    assert os.path.exists(tree.root / name)


def test_the_mount_root_cannot_be_renamed_or_replaced(tree, tmp_path):
    before = tree.snapshot()
    # The kernel answers these itself: a mountpoint is busy, and a rename across
    # filesystems is EXDEV.
    assert errno_of(os.rename, tree.root, tmp_path / "elsewhere") in (errno.EBUSY, errno.EXDEV)
    assert errno_of(os.rename, tree.root / "Empty", tree.root) in (
        errno.EBUSY, errno.EXDEV, errno.EINVAL, errno.ENOTEMPTY)
    assert errno_of(os.rmdir, tree.root) in (errno.EBUSY, errno.EPERM)
    assert tree.snapshot() == before
    assert tree.edits() == {}
    assert os.path.ismount(tree.root)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2(old: Path, new: Path, flags: int) -> int:
    """0, or the errno of glibc's renameat2."""
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.renameat2(_AT_FDCWD, os.fsencode(old), _AT_FDCWD, os.fsencode(new), flags)
    return 0 if result == 0 else ctypes.get_errno()


def test_renameat2_noreplace_loses_nothing(tree):
    """The kernel itself answers EEXIST when the target exists. Onto a free name, libfuse 3
    (the default binding) passes the flag on and putiofs renames; fusepy over libfuse 2 has no
    rename with flags, so there the kernel answers EINVAL (the filesystem never sees the flag)
    and a caller falls back to a plain rename, as ``mv`` does."""
    before = tree.snapshot()
    docs = tree.root / "Docs"
    assert _renameat2(docs / "a.txt", docs / "b.txt", _RENAME_NOREPLACE) == errno.EEXIST
    assert tree.snapshot() == before
    assert tree.edits() == {}
    assert (docs / "b.txt").read_bytes() == b"bravo, longer"
    result = _renameat2(docs / "a.txt", docs / "c.txt", _RENAME_NOREPLACE)
    if "on libfuse3" in tree.mount.log():
        assert result == 0
    else:
        assert result == errno.EINVAL and tree.snapshot() == before
        assert _renameat2(docs / "a.txt", docs / "c.txt", 0) == 0
    assert tree.names(tree.ids["Docs"])["c.txt"] == tree.ids["a.txt"]
    assert (docs / "b.txt").read_bytes() == b"bravo, longer"


# -- unlink and rmdir ----------------------------------------------------------------------------


def test_unlink_deletes_the_file_only(tree):
    os.unlink(tree.root / "Docs" / "a.txt")
    assert os.listdir(tree.root / "Docs") == ["b.txt"]
    assert errno_of(os.stat, tree.root / "Docs" / "a.txt") == errno.ENOENT
    assert tree.account.item(tree.ids["a.txt"]) is None
    assert tree.account.item(tree.ids["b.txt"]) is not None
    assert tree.edits() == {"delete": 1}
    trashed = int(tree.ids["a.txt"]) in tree.account.trash.records
    # v2 puts deleted items in the trash while the account has it on (the default); v1 has none
    assert trashed is (tree.version == "v2")


def test_unlink_of_a_folder_is_refused_by_errno_and_deletes_nothing(tree):
    before = tree.snapshot()
    # Linux's unlink(2) on a directory answers EISDIR (POSIX also allows EPERM); the kernel
    # gives it without asking the filesystem.
    assert errno_of(os.unlink, tree.root / "Full") == errno.EISDIR
    assert errno_of(os.unlink, tree.root / "Empty") == errno.EISDIR
    assert errno_of(os.unlink, tree.root / "Docs" / "gone.txt") == errno.ENOENT
    assert tree.snapshot() == before
    assert tree.edits() == {}


def test_rmdir_deletes_an_empty_folder(tree):
    os.rmdir(tree.root / "Empty")
    assert "Empty" not in os.listdir(tree.root)
    assert tree.account.item(tree.ids["Empty"]) is None
    assert tree.edits() == {"delete": 1}


def test_rmdir_of_a_non_empty_folder_or_a_file_deletes_nothing(tree):
    before = tree.snapshot()
    assert errno_of(os.rmdir, tree.root / "Full") == errno.ENOTEMPTY
    assert errno_of(os.rmdir, tree.root / "top.txt") == errno.ENOTDIR
    assert errno_of(os.rmdir, tree.root / "nope") == errno.ENOENT
    assert tree.snapshot() == before
    assert tree.edits() == {}


def test_rmdir_checks_the_server_when_the_cache_says_empty(tree):
    assert os.listdir(tree.root / "Empty") == []
    late = tree.account.add_file(tree.ids["Empty"], "late.txt", data=b"added elsewhere")
    assert errno_of(os.rmdir, tree.root / "Empty") == errno.ENOTEMPTY
    assert tree.account.item(tree.ids["Empty"]) is not None
    assert tree.account.item(late) is not None
    assert os.listdir(tree.root / "Empty") == ["late.txt"]


def test_rmdir_through_the_api_filled_folder(tree):
    assert os.listdir(tree.root / "Full" / "Sub") == []
    api_of(tree.server).create_folder(tree.ids["Sub"], "child")
    assert errno_of(os.rmdir, tree.root / "Full" / "Sub") == errno.ENOTEMPTY
    assert list(tree.names(tree.ids["Sub"])) == ["child"]


# -- the kernel's caches and open handles --------------------------------------------------------


def test_stat_and_read_see_the_new_tree_immediately(tree):
    docs = tree.root / "Docs"
    assert os.stat(docs / "b.txt").st_size == 13  # the kernel now holds b.txt's attributes
    assert (docs / "b.txt").read_bytes() == b"bravo, longer"
    os.rename(docs / "a.txt", docs / "b.txt")
    assert os.stat(docs / "b.txt").st_size == 5
    assert (docs / "b.txt").read_bytes() == b"alpha"
    assert errno_of(os.stat, docs / "a.txt") == errno.ENOENT
    os.rename(docs / "b.txt", tree.root / "Empty" / "b.txt")
    assert errno_of(os.stat, docs / "b.txt") == errno.ENOENT
    assert os.listdir(docs) == []
    assert (tree.root / "Empty" / "b.txt").read_bytes() == b"alpha"


def test_an_open_file_keeps_reading_after_rename_and_move(tree):
    with open(tree.root / "Docs" / "b.txt", "rb") as handle:
        assert handle.read(5) == b"bravo"
        os.rename(tree.root / "Docs" / "b.txt", tree.root / "Docs" / "c.txt")
        assert handle.read(3) == b", l"
        os.rename(tree.root / "Docs" / "c.txt", tree.root / "Full" / "Sub" / "d.txt")
        assert handle.read() == b"onger"
        handle.seek(0)
        assert handle.read() == b"bravo, longer"
    assert (tree.root / "Full" / "Sub" / "d.txt").read_bytes() == b"bravo, longer"


# -- changes behind the mount's back -------------------------------------------------------------


def test_rm_of_a_file_deleted_elsewhere_is_enoent_and_it_leaves_the_listing(tree):
    assert "a.txt" in os.listdir(tree.root / "Docs")
    tree.account.delete(tree.ids["a.txt"])
    assert errno_of(os.unlink, tree.root / "Docs" / "a.txt") == errno.ENOENT
    assert os.listdir(tree.root / "Docs") == ["b.txt"]


def test_rmdir_of_a_folder_deleted_elsewhere_is_enoent(tree):
    assert "Empty" in os.listdir(tree.root)
    tree.account.delete(tree.ids["Empty"])
    assert errno_of(os.rmdir, tree.root / "Empty") == errno.ENOENT
    assert "Empty" not in os.listdir(tree.root)


@pytest.mark.parametrize("target", ["Docs/moved.txt", "Empty/a.txt"])
def test_rename_of_a_file_deleted_elsewhere_is_enoent(tree, target):
    assert "a.txt" in os.listdir(tree.root / "Docs")
    os.listdir(tree.root / "Empty")
    tree.account.delete(tree.ids["a.txt"])
    assert errno_of(os.rename, tree.root / "Docs" / "a.txt", tree.root / target) == errno.ENOENT
    assert os.listdir(tree.root / "Docs") == ["b.txt"]
    assert os.listdir(tree.root / "Empty") == []


def test_move_into_a_folder_deleted_elsewhere_is_enoent_and_loses_nothing(tree):
    os.listdir(tree.root / "Empty")
    tree.account.delete(tree.ids["Empty"])
    assert errno_of(os.rename, tree.root / "top.txt",
                    tree.root / "Empty" / "top.txt") == errno.ENOENT
    assert tree.account.item(tree.ids["top.txt"])["parent_id"] in (0, "0")
    assert "Empty" not in os.listdir(tree.root)
    assert (tree.root / "top.txt").read_bytes() == b"top file"


def test_mkdir_in_a_folder_deleted_elsewhere_is_enoent(tree):
    os.listdir(tree.root / "Empty")
    tree.account.delete(tree.ids["Empty"])
    assert errno_of(os.mkdir, tree.root / "Empty" / "New") == errno.ENOENT
    assert "Empty" not in os.listdir(tree.root)


def test_replacing_a_file_already_deleted_elsewhere_still_renames(tree):
    os.listdir(tree.root / "Docs")
    tree.account.delete(tree.ids["b.txt"])
    os.rename(tree.root / "Docs" / "a.txt", tree.root / "Docs" / "b.txt")
    assert os.listdir(tree.root / "Docs") == ["b.txt"]
    assert tree.names(tree.ids["Docs"]) == {"b.txt": tree.ids["a.txt"]}


def test_a_replacing_mv_onto_a_name_created_elsewhere_leaves_one_item(tree):
    """POSIX replace across clients: the target exists on put.io, not yet in the mount's cache."""
    assert "c.txt" not in os.listdir(tree.root / "Docs")  # the folder is cached without it
    elsewhere = tree.account.add_file(tree.ids["Docs"], "c.txt", data=b"made elsewhere")
    result = run("mv", str(tree.root / "Docs" / "a.txt"), str(tree.root / "Docs" / "c.txt"))
    assert result.returncode == 0, result.stderr
    named = [c for c in tree.account.children(tree.ids["Docs"]) if c["name"] == "c.txt"]
    assert [str(c["id"]) for c in named] == [tree.ids["a.txt"]]
    assert elsewhere not in tree.snapshot()
    assert (tree.root / "Docs" / "c.txt").read_bytes() == b"alpha"
    assert sorted(os.listdir(tree.root / "Docs")) == ["b.txt", "c.txt"]


def test_a_name_the_mount_said_was_missing_is_found_as_soon_as_the_mount_knows_it(tree):
    """``stat`` said ENOENT, the name was then made elsewhere, and a rename that must not
    replace found it (EEXIST): ``stat`` now shows it too. The kernel keeps no negative entries
    (GNU mv, told EEXIST by renameat2 and then ENOENT by lstat, reported a non-existent
    target as a directory)."""
    target = tree.root / "Docs" / "c.txt"
    assert errno_of(os.stat, target) == errno.ENOENT
    tree.account.add_file(tree.ids["Docs"], "c.txt", data=b"made elsewhere")
    assert _renameat2(tree.root / "Docs" / "a.txt", target, _RENAME_NOREPLACE) == errno.EEXIST
    assert os.stat(target).st_size == len(b"made elsewhere")
    assert target.read_bytes() == b"made elsewhere"


# -- names the mount has to translate ------------------------------------------------------------


@pytest.fixture
def odd(tree) -> dict[str, str]:
    """Items with a '/' in the name, two files of one name, and NFC/NFD twins, in Empty."""
    account, folder = tree.account, tree.ids["Empty"]
    nfc = unicodedata.normalize("NFC", "café.txt")
    nfd = unicodedata.normalize("NFD", "café.txt")
    ids = {
        "slash": account.add_file(folder, "AC/DC.txt", data=b"rock"),
        "dup1": account.add_file(folder, "dup.txt", data=b"first"),
        "dup2": account.add_file(folder, "dup.txt", data=b"second"),
        "nfc": account.add_file(folder, nfc, data=b"composed"),
        "nfd": account.add_file(folder, nfd, data=b"decomposed"),
    }
    ids["nfc_name"], ids["nfd_name"] = nfc, nfd
    return ids


def test_odd_names_are_listed_as_documented(tree, odd):
    shown = set(os.listdir(tree.root / "Empty"))
    assert shown == {"AC\u2215DC.txt", "dup.txt", f"dup [#{odd['dup2']}].txt",
                     odd["nfc_name"], odd["nfd_name"]}


def test_slash_names_can_be_renamed_moved_and_created(tree, odd):
    # v1 stores a typed '∕' as put.io's '/'; v2 refuses '/' in names, so it is kept as typed
    slash = "/" if tree.version == "v1" else "\u2215"
    folder = tree.root / "Empty"
    os.rename(folder / "AC\u2215DC.txt", tree.root / "Docs" / "Back\u2215Black.txt")
    assert tree.account.item(odd["slash"])["name"] == f"Back{slash}Black.txt"
    assert (tree.root / "Docs" / "Back\u2215Black.txt").read_bytes() == b"rock"
    os.mkdir(tree.root / "Docs" / "a\u2215b")
    assert tree.account.item(tree.names(tree.ids["Docs"])[f"a{slash}b"])["is_dir"]
    assert "a\u2215b" in os.listdir(tree.root / "Docs")
    os.unlink(tree.root / "Docs" / "Back\u2215Black.txt")
    assert tree.account.item(odd["slash"]) is None


def test_duplicates_affect_exactly_the_item_named(tree, odd):
    folder = tree.root / "Empty"
    os.rename(folder / f"dup [#{odd['dup2']}].txt", folder / "second.txt")
    assert tree.account.item(odd["dup2"])["name"] == "second.txt"
    assert tree.account.item(odd["dup1"])["name"] == "dup.txt"
    assert (folder / "second.txt").read_bytes() == b"second"
    assert (folder / "dup.txt").read_bytes() == b"first"
    assert not os.path.exists(folder / f"dup [#{odd['dup2']}].txt")


def test_deleting_a_suffixed_duplicate_deletes_that_one(tree, odd):
    folder = tree.root / "Empty"
    os.unlink(folder / f"dup [#{odd['dup2']}].txt")
    assert tree.account.item(odd["dup2"]) is None
    assert tree.account.item(odd["dup1"]) is not None
    assert (folder / "dup.txt").read_bytes() == b"first"


def test_moving_a_duplicate_away_keeps_its_twin(tree, odd):
    folder = tree.root / "Empty"
    os.rename(folder / "dup.txt", tree.root / "Docs" / "dup.txt")
    assert str(tree.account.item(odd["dup1"])["parent_id"]) == tree.ids["Docs"]
    assert (tree.root / "Docs" / "dup.txt").read_bytes() == b"first"
    # The twin that is left alone now takes the plain name.
    assert os.listdir(folder).count("dup.txt") == 1
    assert (folder / "dup.txt").read_bytes() == b"second"
    assert tree.account.item(odd["dup2"])["name"] == "dup.txt"


def test_nfc_and_nfd_twins_are_distinct_items(tree, odd):
    folder = tree.root / "Empty"
    assert (folder / odd["nfd_name"]).read_bytes() == b"decomposed"
    os.rename(folder / odd["nfd_name"], tree.root / "Docs" / odd["nfd_name"])
    assert str(tree.account.item(odd["nfd"])["parent_id"]) == tree.ids["Docs"]
    assert str(tree.account.item(odd["nfc"])["parent_id"]) == tree.ids["Empty"]
    os.unlink(folder / odd["nfc_name"])
    assert tree.account.item(odd["nfc"]) is None
    assert tree.account.item(odd["nfd"])["name"] == odd["nfd_name"]
    assert (tree.root / "Docs" / odd["nfd_name"]).read_bytes() == b"decomposed"


# -- the tools people use ------------------------------------------------------------------------


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30)


def test_mv_rm_rmdir_behave_as_on_a_local_disk(tree):
    root = tree.root
    assert run("mv", str(root / "top.txt"), str(root / "Docs")).returncode == 0
    assert (root / "Docs" / "top.txt").read_bytes() == b"top file"
    assert run("mv", str(root / "Docs" / "top.txt"), str(root / "Docs" / "a.txt")).returncode == 0
    assert tree.names(tree.ids["Docs"]) == {"a.txt": tree.ids["top.txt"],
                                            "b.txt": tree.ids["b.txt"]}
    assert run("mv", str(root / "Full"), str(root / "Docs")).returncode == 0
    assert str(tree.account.item(tree.ids["Full"])["parent_id"]) == tree.ids["Docs"]
    assert run("rmdir", str(root / "Docs" / "Full")).returncode != 0
    assert tree.account.item(tree.ids["Full"]) is not None
    assert run("rm", str(root / "Docs" / "Full")).returncode != 0
    assert run("rm", str(root / "Docs" / "b.txt")).returncode == 0
    assert tree.account.item(tree.ids["b.txt"]) is None
    assert run("rm", str(root / "Docs" / "b.txt")).returncode != 0
    assert run("rmdir", str(root / "Empty")).returncode == 0
    assert tree.account.item(tree.ids["Empty"]) is None


def test_rm_r_deletes_a_whole_tree_and_nothing_else(tree):
    assert run("mkdir", "-p", str(tree.root / "Full" / "Sub" / "deep" / "er")).returncode == 0
    result = run("rm", "-r", str(tree.root / "Full"))
    assert result.returncode == 0, result.stderr
    assert not os.path.exists(tree.root / "Full")
    assert tree.account.item(tree.ids["Full"]) is None
    assert set(tree.names("0")) == {"Docs", "Empty", "top.txt"}
    assert set(tree.names(tree.ids["Docs"])) == {"a.txt", "b.txt"}


def test_drag_and_drop_move_is_one_rename(tree):
    """A file manager moves within one filesystem with rename(2) (shutil.move does likewise)."""
    shutil.move(tree.root / "Docs" / "b.txt", tree.root / "Full" / "Sub")
    shutil.move(tree.root / "Empty", tree.root / "Full" / "Sub")
    assert sorted(os.listdir(tree.root / "Full" / "Sub")) == ["Empty", "b.txt"]
    assert tree.edits() == {"move": 2}
    sub = tree.ids["Sub"]
    assert tree.names(sub) == {"b.txt": tree.ids["b.txt"], "Empty": tree.ids["Empty"]}


# -- put.io failing half-way ---------------------------------------------------------------------


class FailCalls(Faults):
    """Answer HTTP 500 to every call of the named API methods while switched on."""

    def __init__(self) -> None:
        self.failing: set[str] = set()

    def choose(self, request: RequestInfo) -> Fault | None:
        return Fault(status=500) if request.name in self.failing else None


@pytest.fixture
def faulty(server_factory, mount_factory) -> tuple[Tree, FailCalls]:
    faults = FailCalls()
    server = server_factory(faults=faults)
    account = server.account
    ids = {"Docs": account.add_folder("0", "Docs"), "Empty": account.add_folder("0", "Empty")}
    ids["a.txt"] = account.add_file(ids["Docs"], "a.txt", data=b"alpha")
    ids["b.txt"] = account.add_file(ids["Docs"], "b.txt", data=b"bravo, longer")
    result = Tree(server, mount_factory(server, "--cache-ttl", "30", "--timeout", "3"))
    result.ids = ids
    os.listdir(result.root / "Docs")
    os.listdir(result.root / "Empty")
    return result, faults


def test_a_failed_move_is_eio_and_the_file_stays_where_it_was(faulty):
    tree, faults = faulty
    faults.failing = {call_name(tree.version, "move")}
    before = tree.snapshot()
    assert errno_of(os.rename, tree.root / "Docs" / "a.txt",
                    tree.root / "Empty" / "a.txt") == errno.EIO
    assert tree.snapshot() == before
    assert sorted(os.listdir(tree.root / "Docs")) == ["a.txt", "b.txt"]
    assert os.listdir(tree.root / "Empty") == []
    log = tree.mount.log()
    assert "files.move" in log or "POST /files/move" in log  # v1 names the method, v2 the path


def test_a_move_whose_rename_fails_is_moved_back(faulty):
    tree, faults = faulty
    # v1 moves, then renames (the failing rename must move it back); v2 does both in one move
    faults.failing = {call_name(tree.version, "rename" if tree.version == "v1" else "move")}
    before = tree.snapshot()
    assert errno_of(os.rename, tree.root / "Docs" / "a.txt",
                    tree.root / "Empty" / "new.txt") == errno.EIO
    assert tree.snapshot() == before
    assert sorted(os.listdir(tree.root / "Docs")) == ["a.txt", "b.txt"]
    assert os.listdir(tree.root / "Empty") == []
    assert (tree.root / "Docs" / "a.txt").read_bytes() == b"alpha"


def test_a_replace_whose_delete_fails_leaves_a_duplicate_never_a_loss(faulty):
    tree, faults = faulty
    faults.failing = {call_name(tree.version, "delete")}
    if tree.version == "v1":
        # A mount that does not write deletes the old target at once: both stay, sharing
        # put.io's name "b.txt", and the mount shows both.
        assert errno_of(os.rename, tree.root / "Docs" / "a.txt",
                        tree.root / "Docs" / "b.txt") == errno.EIO
        children = tree.account.children(tree.ids["Docs"])
        assert sorted((str(c["id"]), c["name"]) for c in children) == sorted(
            [(tree.ids["a.txt"], "b.txt"), (tree.ids["b.txt"], "b.txt")])
        shown = sorted(os.listdir(tree.root / "Docs"))
        assert len(shown) == 2 and "b.txt" in shown and "a.txt" not in shown
        contents = {(tree.root / "Docs" / name).read_bytes() for name in shown}
        assert contents == {b"alpha", b"bravo, longer"}
        return
    # v2 (which refuses a second "b.txt") sets the old one aside first, recorded: the rename is
    # done, the old one is hidden and its delete retried until put.io takes it.
    os.rename(tree.root / "Docs" / "a.txt", tree.root / "Docs" / "b.txt")
    assert sorted(os.listdir(tree.root / "Docs")) == ["b.txt"]
    assert (tree.root / "Docs" / "b.txt").read_bytes() == b"alpha"
    aside = f"{ASIDE_PREFIX}{tree.ids['b.txt']}"
    names = sorted(c["name"] for c in tree.account.children(tree.ids["Docs"]))
    assert names == [aside, "b.txt"]  # never a loss while put.io refuses the delete
    faults.failing = set()
    wait_for(lambda: [c["name"] for c in tree.account.children(tree.ids["Docs"])]
             == ["b.txt"], 20, fail="the old version set aside was not deleted")


def test_a_failed_mkdir_and_delete_change_nothing_that_is_shown(faulty):
    tree, faults = faulty
    faults.failing = {call_name(tree.version, "mkdir"), call_name(tree.version, "delete")}
    assert errno_of(os.mkdir, tree.root / "Docs" / "New") == errno.EIO
    assert errno_of(os.unlink, tree.root / "Docs" / "a.txt") == errno.EIO
    assert errno_of(os.rmdir, tree.root / "Empty") == errno.EIO
    faults.failing = set()
    assert sorted(os.listdir(tree.root / "Docs")) == ["a.txt", "b.txt"]
    assert "Empty" in os.listdir(tree.root)
    assert tree.account.item(tree.ids["a.txt"]) is not None


# -- what libfuse does on its own ----------------------------------------------------------------


def test_unlink_of_an_open_file_hides_it_until_closed(tree):
    """libfuse2's high-level API (without ``hard_remove``) does not unlink a file that is open:
    it renames it to ``.fuse_hidden…`` and unlinks that at the last close. The mount does that
    rename only locally: put.io keeps the item's own name (the one its trash then shows), and
    the open handle keeps reading, as on a local disk."""
    path = tree.root / "Docs" / "b.txt"
    with open(path, "rb") as handle:
        assert handle.read(5) == b"bravo"
        os.unlink(path)
        assert "b.txt" not in os.listdir(tree.root / "Docs")
        assert handle.read() == b", longer"
        hidden = tree.account.item(tree.ids["b.txt"])
        assert hidden is not None and hidden["name"] == "b.txt"
    # close(2) does not wait for the release, so libfuse's unlink of the hidden name may
    # still be running (the mount never lists the hidden name): wait (briefly) for put.io.
    deadline = time.monotonic() + 5
    while tree.account.item(tree.ids["b.txt"]) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tree.account.item(tree.ids["b.txt"]) is None
    assert os.listdir(tree.root / "Docs") == ["a.txt"]


def test_rename_onto_a_duplicate_name_deletes_only_the_target(tree, odd):
    """``mv x dup.txt`` where put.io holds two items named dup.txt: the one shown as dup.txt
    is replaced, its twin is left alone. The twin and the moved item now share put.io's name,
    so by the naming rule (lower id keeps the plain name) the moved item may be listed as
    ``dup [#id].txt``: nothing is lost, but the name shown is not the one asked for."""
    folder = tree.root / "Empty"
    os.rename(tree.root / "top.txt", folder / "dup.txt")
    assert tree.account.item(odd["dup1"]) is None
    assert tree.account.item(odd["dup2"])["name"] == "dup.txt"
    moved = tree.account.item(tree.ids["top.txt"])
    assert (str(moved["parent_id"]), moved["name"]) == (tree.ids["Empty"], "dup.txt")
    shown = {name: (folder / name).read_bytes() for name in os.listdir(folder)
             if name.startswith("dup")}
    assert sorted(shown.values()) == [b"second", b"top file"]


def test_a_name_in_the_other_normal_form_is_an_alias_when_unambiguous(tree):
    """With only the NFD "café.txt" present, "café.txt" typed in NFC finds it (as on macOS):
    mkdir of that name is EEXIST, a rename onto it replaces that item, and renaming the item
    to its NFC form changes put.io's name and nothing else."""
    nfc = unicodedata.normalize("NFC", "café.txt")
    nfd = unicodedata.normalize("NFD", "café.txt")
    folder = tree.root / "Docs"
    old = tree.account.add_file(tree.ids["Docs"], nfd, data=b"decomposed")
    assert errno_of(os.mkdir, folder / nfc) == errno.EEXIST
    assert tree.account.item(old) is not None
    os.rename(folder / "a.txt", folder / nfc)
    assert tree.account.item(old) is None
    assert tree.names(tree.ids["Docs"]) == {nfc: tree.ids["a.txt"], "b.txt": tree.ids["b.txt"]}
    assert (folder / nfc).read_bytes() == b"alpha"
    os.rename(folder / nfc, folder / nfd)
    assert tree.names(tree.ids["Docs"]) == {nfd: tree.ids["a.txt"], "b.txt": tree.ids["b.txt"]}
    assert sorted(os.listdir(folder)) == sorted([nfd, "b.txt"])
