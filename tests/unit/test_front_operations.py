"""The FUSE operations class called directly (no kernel), over the in-memory fake backend."""

import errno
import os
import stat
from dataclasses import replace

import pytest

from putiofs.api.backend import Capabilities, Entry
from putiofs.api.errors import InvalidNameError, NameExistsError, NameTooLongError, TransportError
from putiofs.front.account_view import AccountView
from putiofs.front.attributes import Attributes, inode
from putiofs.front.operations import PutioFS
from putiofs.front.options import MountOptions
from tests.support.errnos import errno_of
from tests.support.fake_backend import FakeBackend


@pytest.fixture
def backend():
    b = FakeBackend()
    videos = b.add("0", "Videos")
    b.add(videos.id, "film.mp4", b"F" * 1000)
    b.add("0", "notes.txt", b"hello")
    b.add("0", "AC/DC.txt", b"rock")
    b.add("0", "dup.txt", b"one")
    b.add("0", "dup.txt", b"two!")
    b.add("0", "Empty")
    return b


@pytest.fixture
def ops(backend):
    return PutioFS(AccountView(backend, MountOptions(cache_ttl=30, uid=1234, gid=5678)))


def test_root_and_children_have_sensible_attributes(ops):
    root = ops.getattr("/")
    assert stat.S_ISDIR(root["st_mode"]) and root["st_ino"] == 1
    notes = ops.getattr("/notes.txt")
    assert stat.S_ISREG(notes["st_mode"])
    assert notes["st_size"] == 5 and notes["st_blocks"] == 1
    assert (notes["st_uid"], notes["st_gid"]) == (1234, 5678)
    assert notes["st_blksize"] >= 128 * 1024
    assert notes["st_mtime"] == ops.getattr("/notes.txt")["st_mtime"]


def test_readdir_shows_substituted_and_disambiguated_names(ops, backend):
    listing = ops.readdir("/", None)
    dups = [e for e in backend.items.values() if e.name == "dup.txt"]
    assert set(listing) == {".", "..", "Videos", "notes.txt", "AC\u2215DC.txt", "dup.txt",
                            f"dup [#{max(int(d.id) for d in dups)}].txt", "Empty"}


def test_errnos_for_missing_not_a_dir_and_is_a_dir(ops):
    assert errno_of(ops.getattr, "/nope") == errno.ENOENT
    assert errno_of(ops.getattr, "/notes.txt/x") == errno.ENOTDIR
    assert errno_of(ops.readdir, "/notes.txt", None) == errno.ENOTDIR
    assert errno_of(ops.open, "/Videos", os.O_RDONLY) == errno.EISDIR


def test_writing_file_contents_is_refused_with_erofs(ops):
    assert errno_of(ops.open, "/notes.txt", os.O_WRONLY) == errno.EROFS
    assert errno_of(ops.open, "/notes.txt", os.O_RDWR) == errno.EROFS
    assert errno_of(ops.create, "/new.txt", 0o644) == errno.EROFS
    assert errno_of(ops.truncate, "/notes.txt", 0) == errno.EROFS
    assert errno_of(ops.symlink, "/l", "/notes.txt") == errno.EROFS
    assert errno_of(ops.chmod, "/notes.txt", 0o600) == errno.EROFS


def test_every_change_of_contents_is_refused_where_the_mount_does_not_write(ops, backend):
    backend.add("0", "zero.txt", b"")  # an empty file opens without asking for its bytes
    fh = ops.open("/zero.txt", os.O_RDONLY)
    assert errno_of(ops.write, "/zero.txt", b"x", 0, fh) == errno.EROFS
    assert errno_of(ops.truncate, "/zero.txt", 0, fh) == errno.EROFS
    assert errno_of(ops.mknod, "/new", stat.S_IFREG | 0o644, 0) == errno.EROFS
    assert errno_of(ops.mknod, "/fifo", stat.S_IFIFO | 0o644, 0) == errno.EROFS
    assert errno_of(ops.link, "/l", "/notes.txt") == errno.EROFS
    assert errno_of(ops.chown, "/notes.txt", 0, 0) == errno.EROFS
    assert errno_of(ops.chmod, "/missing", 0o600) == errno.EROFS
    assert errno_of(ops.utimens, "/notes.txt", None) == errno.EROFS
    assert ops.flush("/zero.txt", fh) == 0 and ops.fsync("/zero.txt", 0, fh) == 0
    assert ops.read("/zero.txt", 10, 0, fh) == b""
    assert not ops.direct_io(fh)
    assert ops.release("/zero.txt", fh) == 0


def test_without_a_control_folder_putio_is_an_account_path(ops):
    assert errno_of(ops.getattr, "/.putio") == errno.ENOENT
    assert errno_of(ops.open, "/.putio/transfers", os.O_RDONLY) == errno.ENOENT
    assert ".putio" not in ops.readdir("/", None)


def test_xattrs_carry_the_put_io_id_and_type(ops, backend):
    entry = next(e for e in backend.items.values() if e.name == "notes.txt")
    assert ops.getxattr("/notes.txt", "user.putio.id") == entry.id.encode()
    assert "user.putio.type" in ops.listxattr("/notes.txt")
    assert errno_of(ops.getxattr, "/notes.txt", "user.other") == errno.ENODATA


def test_xattrs_outside_the_user_namespace_are_not_supported(ops):
    """ls -l stops asking a device for ACLs and labels once told they are not supported
    (ENOTSUP); "no such attribute" (ENODATA) would make it ask for every file."""
    for name in ("system.posix_acl_access", "system.posix_acl_default", "security.selinux",
                 "trusted.x"):
        assert errno_of(ops.getxattr, "/notes.txt", name) == errno.ENOTSUP
        assert errno_of(ops.getxattr, "/nope", name) == errno.ENOTSUP
    assert ops.getxattr("/notes.txt", "user.putio.size") == b"5"


def test_statfs_reports_the_quota(ops):
    st = ops.statfs("/")
    assert st["f_blocks"] * st["f_frsize"] == 10 * 2**30
    assert st["f_bavail"] * st["f_frsize"] == 4 * 2**30
    # GIO (GTK file managers) multiplies by f_bsize: the same size, not 256 times it
    assert st["f_blocks"] * st["f_bsize"] == 10 * 2**30
    assert st["f_bfree"] * st["f_bsize"] == 4 * 2**30


def test_mkdir_is_visible_at_once_and_eexist_on_a_taken_name(ops, backend):
    ops.readdir("/", None)
    ops.mkdir("/New", 0o755)
    assert stat.S_ISDIR(ops.getattr("/New")["st_mode"])
    assert errno_of(ops.mkdir, "/New", 0o755) == errno.EEXIST
    assert errno_of(ops.mkdir, "/notes.txt", 0o755) == errno.EEXIST
    assert any(e.name == "New" for e in backend.items.values())


def test_mkdir_with_the_slash_substitute_stores_a_slash(ops, backend):
    ops.mkdir("/a\u2215b", 0o755)
    assert any(e.name == "a/b" and e.is_dir for e in backend.items.values())
    assert "a\u2215b" in ops.readdir("/", None)


def test_where_put_io_refuses_slashes_the_substitute_is_stored_as_typed(backend):
    backend.capabilities = Capabilities(folder_map=False, slash_in_names=False)
    ops = PutioFS(AccountView(backend, MountOptions()))
    ops.mkdir("/a\u2215b", 0o755)
    ops.rename("/notes.txt", "/c\u2215d.txt")
    stored = {e.name for e in backend.items.values()}
    assert {"a\u2215b", "c\u2215d.txt"} <= stored and "a/b" not in stored
    assert {"a\u2215b", "c\u2215d.txt"} <= set(ops.readdir("/", None))
    assert ops.getattr("/c\u2215d.txt")["st_size"] == 5


@pytest.mark.parametrize(("refusal", "code"), [
    (InvalidNameError("EMPTY_NAME"), errno.EINVAL),
    (InvalidNameError("SLASH_IN_NAME"), errno.EINVAL),
    (NameTooLongError("NAME_TOO_LONG"), errno.ENAMETOOLONG),
])
def test_a_name_put_io_refuses_is_einval_or_enametoolong(ops, backend, monkeypatch, refusal,
                                                         code):
    def refuse(*args):
        raise refusal

    monkeypatch.setattr(backend, "make_folder", refuse)
    monkeypatch.setattr(backend, "rename", refuse)
    assert errno_of(ops.mkdir, "/refused", 0o755) == code
    assert errno_of(ops.rename, "/notes.txt", "/refused") == code
    assert "notes.txt" in ops.readdir("/", None)


def test_rmdir_of_a_folder_that_is_non_empty_on_the_server_deletes_nothing(ops, backend):
    empty = next(e for e in backend.items.values() if e.name == "Empty")
    assert ops.readdir("/Empty", None) == [".", ".."]
    backend.add(empty.id, "arrived.txt", b"new")  # another client, cache still says empty
    assert errno_of(ops.rmdir, "/Empty") == errno.ENOTEMPTY
    assert empty.id in backend.items
    assert backend.calls["delete"] == 0


def test_rmdir_and_unlink_errnos(ops, backend):
    assert errno_of(ops.rmdir, "/notes.txt") == errno.ENOTDIR
    assert errno_of(ops.unlink, "/Videos") == errno.EISDIR
    assert errno_of(ops.unlink, "/missing") == errno.ENOENT
    assert errno_of(ops.rmdir, "/") == errno.EBUSY
    ops.rmdir("/Empty")
    assert errno_of(ops.getattr, "/Empty") == errno.ENOENT


def test_rename_rules(ops, backend):
    assert errno_of(ops.rename, "/notes.txt", "/Videos") == errno.EISDIR
    assert errno_of(ops.rename, "/Videos", "/notes.txt") == errno.ENOTDIR
    assert errno_of(ops.rename, "/Videos", "/Videos/inside") == errno.EINVAL
    assert errno_of(ops.rename, "/", "/x") == errno.EBUSY
    ops.rename("/notes.txt", "/notes.txt")
    ops.rename("/notes.txt", "/Videos/moved.txt")
    assert ops.getattr("/Videos/moved.txt")["st_size"] == 5
    assert errno_of(ops.getattr, "/notes.txt") == errno.ENOENT


def test_a_rename_into_another_folder_with_a_new_name_is_one_move_call(ops, backend):
    notes = next(e for e in backend.items.values() if e.name == "notes.txt")
    ops.readdir("/Videos", None)
    backend.calls.clear()
    ops.rename("/notes.txt", "/Videos/moved.txt")
    assert (backend.calls["move"], backend.calls["rename"]) == (1, 0)
    assert (backend.items[notes.id].parent_id, backend.items[notes.id].name) == (
        next(e.id for e in backend.items.values() if e.name == "Videos"), "moved.txt")
    assert ops.getattr("/Videos/moved.txt")["st_size"] == 5
    assert "notes.txt" not in ops.readdir("/", None)


def test_a_failed_move_and_rename_shows_the_server_s_truth_afterwards(ops, backend,
                                                                     monkeypatch):
    """Whatever the failed call left behind, both folders are listed anew."""
    notes = next(e for e in backend.items.values() if e.name == "notes.txt")
    videos = next(e for e in backend.items.values() if e.name == "Videos")
    ops.readdir("/Videos", None)
    moved_only = backend.move

    def moves_then_fails(item_id, parent_id, name=None):
        moved_only(item_id, parent_id)        # half done, as a v1 move whose undo failed
        raise TransportError("connection reset")

    monkeypatch.setattr(backend, "move", moves_then_fails)
    assert errno_of(ops.rename, "/notes.txt", "/Videos/moved.txt") == errno.EIO
    assert backend.items[notes.id].parent_id == videos.id
    assert "notes.txt" in ops.readdir("/Videos", None)
    assert "notes.txt" not in ops.readdir("/", None)


def test_rename_onto_an_existing_file_replaces_it_and_keeps_the_source(ops, backend):
    source = next(e for e in backend.items.values() if e.name == "notes.txt")
    target = next(e for e in backend.items.values() if e.name == "AC/DC.txt")
    ops.rename("/notes.txt", "/AC\u2215DC.txt")
    assert backend.items[source.id].name == "AC/DC.txt"
    assert target.id not in backend.items
    assert ops.getattr("/AC\u2215DC.txt")["st_size"] == 5


def test_rename_of_a_folder_onto_a_non_empty_folder_is_enotempty(ops, backend):
    ops.mkdir("/Full", 0o755)
    full = next(e for e in backend.items.values() if e.name == "Full")
    backend.add(full.id, "x.txt", b"x")
    assert errno_of(ops.rename, "/Empty", "/Full") == errno.ENOTEMPTY
    ops.rename("/Full", "/Empty")
    assert ops.readdir("/Empty", None) == [".", "..", "x.txt"]


def test_an_item_moved_elsewhere_since_the_listing_is_not_deleted(ops, backend):
    ops.readdir("/", None)
    notes = next(e for e in backend.items.values() if e.name == "notes.txt")
    videos = next(e for e in backend.items.values() if e.name == "Videos")
    backend.move(notes.id, videos.id)  # another client, behind the mount's back
    assert errno_of(ops.unlink, "/notes.txt") == errno.ENOENT
    assert notes.id in backend.items
    empty = next(e for e in backend.items.values() if e.name == "Empty")
    backend.rename(empty.id, "Renamed elsewhere")
    assert errno_of(ops.rmdir, "/Empty") == errno.ENOENT
    assert empty.id in backend.items


def test_a_replaced_target_moved_elsewhere_meanwhile_survives(ops, backend):
    ops.readdir("/", None)
    target = next(e for e in backend.items.values() if e.name == "AC/DC.txt")
    videos = next(e for e in backend.items.values() if e.name == "Videos")
    backend.move(target.id, videos.id)  # another client moves the target away
    ops.rename("/notes.txt", "/AC\u2215DC.txt")
    assert target.id in backend.items
    assert backend.items[target.id].parent_id == videos.id


def test_a_replacing_rename_sees_a_target_created_elsewhere_after_the_listing(ops, backend):
    ops.readdir("/", None)
    notes = next(e for e in backend.items.values() if e.name == "notes.txt")
    elsewhere = backend.add("0", "new.txt", b"another client's")  # not in the cached listing
    ops.rename("/notes.txt", "/new.txt")
    assert [e.id for e in backend.items.values() if e.name == "new.txt"] == [notes.id]
    assert elsewhere.id not in backend.items
    assert ops.getattr("/new.txt")["st_size"] == 5


def test_times_are_put_ios_where_the_api_gives_them(backend):
    dated = backend.add("0", "dated.txt", b"x")
    backend.items[dated.id] = replace(dated, mtime=1_700_000_000.5, ctime=1_600_000_000.0,
                                      crc32="0a1b2c3d")
    ops = PutioFS(AccountView(backend, MountOptions()))
    st = ops.getattr("/dated.txt")
    assert st["st_mtime"] == 1_700_000_000_500_000_000
    assert st["st_ctime"] == 1_600_000_000_000_000_000
    assert ops.getxattr("/dated.txt", "user.putio.crc32") == b"0a1b2c3d"
    undated = ops.getattr("/notes.txt")
    assert undated["st_mtime"] // 10**9 == 1262304000  # 2010-01-01 UTC, the id in the ns
    assert undated["st_mtime"] % 10**9 == undated["st_ino"]
    assert "user.putio.crc32" not in ops.listxattr("/notes.txt")
    whole = backend.add("0", "whole.txt", b"x")  # v2's updated_at: whole seconds
    backend.items[whole.id] = replace(whole, mtime=1_700_000_000.0, ctime=1_600_000_000.0)
    st = PutioFS(AccountView(backend, MountOptions())).getattr("/whole.txt")
    assert st["st_mtime"] == 1_700_000_000 * 10**9 + st["st_ino"]  # the id in the ns
    assert st["st_ctime"] == 1_600_000_000 * 10**9


def test_content_writes_say_not_supported_where_the_api_could_write(backend):
    backend.capabilities = Capabilities(folder_map=True, write_contents=True)
    ops = PutioFS(AccountView(backend, MountOptions()))
    assert errno_of(ops.create, "/new.txt", 0o644) == errno.ENOTSUP
    assert errno_of(ops.open, "/notes.txt", os.O_WRONLY) == errno.ENOTSUP
    read_only = PutioFS(AccountView(backend, MountOptions(read_only=True)))
    assert errno_of(read_only.create, "/new.txt", 0o644) == errno.EROFS


def test_an_unknown_handle_is_ebadf_and_releasing_it_is_harmless(ops):
    assert errno_of(ops.read, "/notes.txt", 10, 0, 12345) == errno.EBADF
    assert ops.release("/notes.txt", 12345) == 0


class UniqueNames(FakeBackend):
    """A backend whose rename refuses a name a sibling has (put.io v2's NAME_ALREADY_EXIST);
    ``refuse_next`` more renames of the source fail (a failure while it is put in place)."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse_source: str | None = None

    def rename(self, item_id: str, name: str) -> Entry:
        entry = self.lookup(item_id)
        if any(e.name == name and e.parent_id == entry.parent_id and e.id != item_id
               for e in self.items.values()):
            self.calls["rename"] += 1
            raise NameExistsError("Name already exist")
        if item_id == self.refuse_source:
            self.calls["rename"] += 1
            raise TransportError("dropped")
        return super().rename(item_id, name)


def names_in(backend: FakeBackend, folder_id: str) -> dict[str, bytes]:
    return {e.name: backend.data.get(e.id, b"") for e in backend.items.values()
            if e.parent_id == folder_id}


def test_a_replacing_rename_sets_the_old_item_aside_where_names_must_be_unique():
    backend = UniqueNames()
    new = backend.add("0", "draft.txt", b"new text")
    old = backend.add("0", "report.txt", b"old text")
    ops = PutioFS(AccountView(backend, MountOptions()))
    assert ops.rename("/draft.txt", "/report.txt") == 0
    assert names_in(backend, "0") == {"report.txt": b"new text"}
    assert old.id not in backend.items and new.id in backend.items
    assert sorted(ops.readdir("/", None)) == [".", "..", "report.txt"]


def test_a_replacing_rename_that_cannot_place_the_source_puts_the_old_item_back():
    backend = UniqueNames()
    new = backend.add("0", "draft.txt", b"new text")
    backend.add("0", "report.txt", b"old text")
    backend.refuse_source = new.id
    ops = PutioFS(AccountView(backend, MountOptions()))
    assert errno_of(ops.rename, "/draft.txt", "/report.txt") == errno.EIO
    assert names_in(backend, "0") == {"draft.txt": b"new text", "report.txt": b"old text"}
    assert sorted(ops.readdir("/", None)) == [".", "..", "draft.txt", "report.txt"]


class Clock:
    """A settable nanosecond clock for the attributes' records."""

    def __init__(self) -> None:
        self.now = 1_800_000_000 * 10**9

    def __call__(self) -> int:
        return self.now


def timed_ops(backend: FakeBackend, clock: Clock) -> PutioFS:
    view = AccountView(backend, MountOptions(cache_ttl=30))
    view.attributes = Attributes(view.options, clock=clock)
    return PutioFS(view)


def test_a_new_version_shows_the_files_number_and_its_landing_too():
    attributes = Attributes(MountOptions())
    attributes.new_version("41", "pending-a")  # item 41 opened for writing
    assert attributes.inode("pending-a") == 42
    attributes.landed("pending-a", "77")
    assert attributes.inode("77") == 42
    attributes.new_version("77", "pending-b")  # opened again, after the landing
    attributes.new_version("pending-b", "pending-c")  # and again while that one uploads
    attributes.landed("pending-c", "90")  # (pending-b landed as 80, hidden: never told)
    assert attributes.inode("90") == 42
    attributes.landed("pending-new", "95")  # a new file keeps the number it had while pending
    assert attributes.inode("95") == inode("pending-new") != inode("95")
    # the versions replaced show numbers of their own: none is the file's, none repeats
    shown = [attributes.inode(i) for i in ("90", "95", "41", "77", "pending-b", "80", "60")]
    assert len(set(shown)) == len(shown)


def test_the_landed_times_nanoseconds_come_with_the_number():
    attributes = Attributes(MountOptions())
    pending = Entry(id="pending-a", name="f", is_dir=False, size=1, parent_id="0",
                    mtime=1_700_000_000.0, ctime=1_700_000_000.0)
    before = attributes.stat(pending)
    attributes.landed("pending-a", "77")
    after = attributes.stat(replace(pending, id="77"))
    assert (after["st_mtime"], after["st_ino"]) == (before["st_mtime"], before["st_ino"])


def test_changes_through_the_mount_move_the_folders_times(backend):
    clock = Clock()
    ops = timed_ops(backend, clock)
    assert ops.getattr("/")["st_mtime"] == clock.now  # the root: the mount's start
    before = ops.getattr("/Videos")
    clock.now += 5 * 10**9
    ops.mkdir("/Videos/new", 0o755)
    videos = ops.getattr("/Videos")
    assert videos["st_mtime"] == videos["st_ctime"] == clock.now > before["st_mtime"]
    assert ops.getattr("/")["st_mtime"] < clock.now  # only the folder changed
    film = ops.getattr("/Videos/film.mp4")
    clock.now += 10**9
    ops.rename("/Videos/film.mp4", "/film.mp4")
    moved = ops.getattr("/film.mp4")
    assert ops.getattr("/")["st_mtime"] == ops.getattr("/Videos")["st_ctime"] == clock.now
    assert moved["st_ctime"] == clock.now and moved["st_mtime"] == film["st_mtime"]
    clock.now += 10**9
    ops.tree.cache.expire_all()  # put.io is asked again: no time goes back
    assert ops.getattr("/")["st_mtime"] == clock.now - 10**9
    assert errno_of(ops.unlink, "/nope") == errno.ENOENT
    assert ops.getattr("/")["st_ctime"] == clock.now - 10**9  # a failed change: none


# -- refresh (putiofs refresh, SIGHUP) ---------------------------------------------------------

@pytest.fixture
def long_ttl(backend):
    """A mount that trusts its listings for an hour, telling a fake kernel what to drop."""
    told: list[str] = []
    fs = PutioFS(AccountView(backend, MountOptions(cache_ttl=3600)), invalidate=told.append)
    return fs, told


def test_a_refresh_shows_changes_made_elsewhere_at_the_next_look(long_ttl, backend):
    fs, told = long_ttl
    fs.readdir("/", None)
    fs.readdir("/Videos", None)
    assert fs.getattr("/Videos/film.mp4")["st_size"] == 1000
    film = next(e for e in backend.items.values() if e.name == "film.mp4")
    backend.items[film.id] = replace(film, size=2000)   # changed on put.io's website
    backend.add("0", "made elsewhere.txt", b"new")
    assert "made elsewhere.txt" not in fs.readdir("/", None)   # an hour's trust
    fs.refresh("/")
    assert "made elsewhere.txt" in fs.readdir("/", None)
    assert fs.getattr("/Videos/film.mp4")["st_size"] == 2000
    # the kernel is told of every name it may hold below the refreshed folder
    assert {"/", "/Videos", "/Videos/film.mp4", "/notes.txt"} <= set(told)


def test_a_refresh_below_a_folder_leaves_the_rest_trusted(long_ttl, backend):
    fs, told = long_ttl
    fs.readdir("/", None)
    fs.readdir("/Videos", None)
    videos = next(e for e in backend.items.values() if e.name == "Videos")
    backend.add(videos.id, "second.mp4", b"S")
    backend.add("0", "elsewhere.txt", b"x")
    listed = backend.calls["list_folder"]
    fs.refresh("/Videos")
    assert "second.mp4" in fs.readdir("/Videos", None)
    assert "elsewhere.txt" not in fs.readdir("/", None)
    assert backend.calls["list_folder"] == listed + 1   # only /Videos was listed again
    assert set(told) == {"/Videos", "/Videos/film.mp4"}


def test_a_refresh_of_a_path_not_cached_refreshes_its_nearest_folder(long_ttl, backend):
    fs, told = long_ttl
    fs.readdir("/", None)
    listed = backend.calls["list_folder"]
    fs.refresh("/New/deep/folder")   # made elsewhere: not in the cached root
    assert backend.calls["list_folder"] == listed   # no API call to refresh
    assert told[0] == "/"
    new = backend.add("0", "New")
    backend.add(backend.add(new.id, "deep").id, "folder")
    assert stat.S_ISDIR(fs.getattr("/New/deep/folder")["st_mode"])


def test_a_refresh_keeps_a_stale_listing_for_an_outage(long_ttl, backend, monkeypatch):
    fs, _ = long_ttl
    fs.readdir("/", None)
    fs.refresh("/")

    def down(folder_id):
        raise TransportError("put.io is away")

    monkeypatch.setattr(backend, "list_folder", down)
    assert "notes.txt" in fs.readdir("/", None)   # stale-if-error still has it
