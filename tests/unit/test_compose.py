"""The composition root of a mount (putiofs.mount.compose) without a kernel mount: the order of
its checks, the spool folder, realtime events, what it hands the FUSE loop and tears down after;
and that ``putiofs mount`` hands it the values its arguments say."""

from __future__ import annotations

import logging
import stat
from types import SimpleNamespace

import pytest

from putiofs import cli
from putiofs.api.backend import Capabilities
from putiofs.api.errors import TransportError, UserError
from putiofs.api.services import Account
from putiofs.config import Settings
from putiofs.connect import ConnectError, Connection
from putiofs.front.options import MountOptions
from putiofs.mount import compose
from putiofs.mount.checks import MountError
from putiofs.mount.settings import FuseSettings
from putiofs.tree.live_updates import LIVE_TTL
from putiofs.write.spool import account_dir, user_key
from tests.support.fake_backend import WRITABLE, FakeBackend
from tests.support.imports import import_graph

SETTINGS = Settings(api="v2", api_url="https://api.put.io/v2", token="t0ken",
                    upload_url="https://upload.put.io/files/")


class Services:
    """The account's services as far as a mount's start needs them: who the account is."""

    available: frozenset = frozenset()

    def __init__(self, account: Account | Exception) -> None:
        self._account = account

    def account(self) -> Account:
        if isinstance(self._account, Exception):
            raise self._account
        return self._account


class Listener:
    live = False

    def __init__(self) -> None:
        self.started = self.stopped = 0

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1


class LiveBackend(FakeBackend):
    capabilities = Capabilities(folder_map=True, live_events=True)

    def __init__(self) -> None:
        super().__init__()
        self.listener = Listener()

    def change_listener(self, sink: object) -> Listener:
        return self.listener


def connection_of(backend: FakeBackend, services: object = None) -> Connection:
    closed: list[bool] = []
    connection = Connection(backend=backend,  # type: ignore[arg-type]
                            services=services or Services(Account(user_id=7, user_name="ann")),
                            refused="refused", warm_up=lambda: None,
                            close=lambda: closed.append(True))
    connection.closed = closed  # type: ignore[attr-defined]
    return connection


# -- the spool folder ---------------------------------------------------------------------

def test_the_spool_folder_is_the_accounts_own_and_private(tmp_path):
    folder = compose.spool_dir(connection_of(FakeBackend()), SETTINGS.api_url, tmp_path / "c")
    assert folder == account_dir(tmp_path / "c", SETTINGS.api_url, user_key("ann", 7))
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_an_account_put_io_will_not_name_is_one_line_and_closes_the_connection(tmp_path):
    connection = connection_of(FakeBackend(), Services(TransportError("down")))
    with pytest.raises(MountError) as excinfo:
        compose.spool_dir(connection, SETTINGS.api_url, tmp_path)
    assert str(excinfo.value) == ("cannot ask put.io who the account is (TransportError); "
                                  "written files need it to find their cache folder")
    assert connection.closed == [True]  # type: ignore[attr-defined]


def test_a_cache_folder_that_cannot_be_made_is_one_line_and_closes_the_connection(tmp_path):
    (tmp_path / "file").write_text("")
    connection = connection_of(FakeBackend())
    with pytest.raises(MountError, match=r"^cannot use the cache folder .*: Not a directory$"):
        compose.spool_dir(connection, SETTINGS.api_url, tmp_path / "file")
    assert connection.closed == [True]  # type: ignore[attr-defined]


# -- subtitles ----------------------------------------------------------------------------

class SubtitlesBackend(FakeBackend):
    capabilities = Capabilities(folder_map=True, subtitles=True)


@pytest.mark.parametrize(("backend", "shown"), [(FakeBackend, True), (SubtitlesBackend, False)])
def test_no_sidecars_without_the_apis_subtitles_or_with_no_subtitles(backend, shown):
    """v1 has no subtitles; --no-subtitles (``shown`` False) shows none where it has them."""
    options = MountOptions(subtitles=shown)
    connection = connection_of(backend())
    operations = compose.build_operations(connection.backend, options, connection.services)
    assert compose.show_subtitles(connection, operations, options) is None
    assert operations.sidecars.sidecars is None and operations.when_mounted == []
    assert operations.tree.cache.listing_observers == []


def test_sidecars_learn_from_listings_once_mounted():
    options = MountOptions()
    connection = connection_of(SubtitlesBackend())
    operations = compose.build_operations(connection.backend, options, connection.services)
    sidecars = compose.show_subtitles(connection, operations, options)
    assert sidecars is not None and operations.sidecars.sidecars is sidecars
    assert operations.tree.cache.listing_observers == [sidecars.listed]
    assert operations.when_mounted == [sidecars.start]


# -- realtime events ----------------------------------------------------------------------

def operations_of(connection: Connection, options: MountOptions):
    return compose.build_operations(connection.backend, options, connection.services)


def test_no_realtime_events_where_the_api_has_none():
    options = MountOptions()
    connection = connection_of(FakeBackend())
    operations = operations_of(connection, options)
    assert compose.listen(connection, operations, options) is None
    assert options.events is False and operations.when_mounted == []


@pytest.mark.parametrize(("live_ttl", "trusted"), [(None, LIVE_TTL), (45.0, 45.0)])
def test_realtime_events_start_once_mounted_and_set_the_live_ttl(live_ttl, trusted):
    options = MountOptions()
    backend = LiveBackend()
    connection = connection_of(backend)
    operations = operations_of(connection, options)
    updates = compose.listen(connection, operations, options, live_ttl)
    assert updates is not None and updates.live_ttl == trusted
    assert options.events is True
    assert backend.listener.started == 0
    assert operations.when_mounted == [updates.start]


def test_realtime_events_on_a_mount_without_a_control_folder_change_no_transfers_file():
    """Operations built without the account's services have no /.putio; a transfer event
    then has no text to make anew, and says so without failing."""
    options = MountOptions()
    backend = LiveBackend()
    connection = connection_of(backend)
    operations = compose.build_operations(backend, options)
    updates = compose.listen(connection, operations, options)
    assert updates is not None and options.events is True
    updates.transfers_changed()


# -- serve: the order of the checks, and what it tears down -------------------------------

@pytest.fixture
def mountable(tmp_path, monkeypatch):
    """An empty mountpoint; /dev/fuse and the binding taken as present; the FUSE loop and the
    connection recorded instead of run."""
    calls: list[str] = []
    monkeypatch.setattr(compose, "check_fuse_device", lambda: calls.append("fuse device"))
    monkeypatch.setattr(compose, "load_binding", lambda: calls.append("binding"))
    state = SimpleNamespace(calls=calls, backend=FakeBackend(), mountpoint=tmp_path / "mnt",
                            served=None)
    state.mountpoint.mkdir()

    def open_for_mount(settings: Settings, *, timeout: float) -> Connection:
        calls.append(f"connect {settings.api_url} within {timeout:g}")
        state.connection = connection_of(state.backend)
        return state.connection

    def run_mount(operations, mountpoint, options, fuse_settings, *, foreground,
                  announce=None, keep_stderr=False):
        calls.append("serve")
        state.served = SimpleNamespace(operations=operations, mountpoint=mountpoint,
                                       options=options, fuse_settings=fuse_settings,
                                       foreground=foreground, announce=announce,
                                       keep_stderr=keep_stderr)

    monkeypatch.setattr(compose, "open_for_mount", open_for_mount)
    monkeypatch.setattr(compose, "run_mount", run_mount)
    return state


def test_serve_checks_the_mountpoint_before_it_connects(mountable, tmp_path):
    with pytest.raises(MountError, match="does not exist"):
        compose.serve(SETTINGS, tmp_path / "missing", MountOptions(), FuseSettings(),
                      foreground=True)
    assert mountable.calls == []


def test_serve_announces_nothing_when_the_account_cannot_be_used(mountable, monkeypatch,
                                                                  capsys):
    def refused(settings: Settings, *, timeout: float) -> Connection:
        raise ConnectError("refused")

    monkeypatch.setattr(compose, "open_for_mount", refused)
    with pytest.raises(ConnectError):
        compose.serve(SETTINGS, mountable.mountpoint, MountOptions(), FuseSettings(),
                      foreground=True, announce="ready")
    assert mountable.calls == ["fuse device", "binding"]
    assert capsys.readouterr().err == ""


def test_serve_wires_the_mount_then_closes_the_connection(mountable, tmp_path, capsys, caplog):
    mountable.backend = LiveBackend()
    options = MountOptions(call_deadline=42.0)
    fuse_settings = FuseSettings()
    with caplog.at_level(logging.INFO, logger="putiofs"):
        assert compose.serve(SETTINGS, mountable.mountpoint, options, fuse_settings,
                             foreground=False, cache_dir=tmp_path / "cache",
                             announce="ready") == 0
    assert mountable.calls == ["fuse device", "binding",
                               "connect https://api.put.io/v2 within 42", "serve"]
    served = mountable.served
    assert served.mountpoint == mountable.mountpoint and served.foreground is False
    assert served.options is options and served.fuse_settings is fuse_settings
    assert options.events is True and options.spool_dir is None   # FakeBackend takes no writes
    assert mountable.backend.listener.stopped == 1
    assert mountable.connection.closed == [True]
    # the announce is the loop's to print, once the mount is up (putiofs.mount.startup)
    assert served.announce == "ready" and capsys.readouterr().err == ""
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("putiofs", f"mounting put.io (https://api.put.io/v2) at {mountable.mountpoint}"),
        ("putiofs", f"unmounted {mountable.mountpoint}")]


def test_serve_gives_a_writable_account_its_spool_folder_unless_read_only(mountable, tmp_path):
    mountable.backend = FakeBackend()
    mountable.backend.capabilities = WRITABLE
    options = MountOptions()
    compose.serve(SETTINGS, mountable.mountpoint, options, FuseSettings(), foreground=True,
                  events=False, cache_dir=tmp_path / "cache")
    assert options.spool_dir == account_dir(tmp_path / "cache", SETTINGS.api_url,
                                            user_key("ann", 7))
    assert mountable.served.operations.writes is not None
    read_only = MountOptions(read_only=True)
    compose.serve(SETTINGS, mountable.mountpoint, read_only, FuseSettings(), foreground=True,
                  events=False, cache_dir=tmp_path / "cache")
    assert read_only.spool_dir is None


def test_serve_stops_events_and_closes_the_connection_when_the_loop_fails(mountable,
                                                                          monkeypatch):
    mountable.backend = LiveBackend()

    def failing(*args: object, **kwargs: object) -> None:
        raise MountError("libfuse could not mount")

    monkeypatch.setattr(compose, "run_mount", failing)
    with pytest.raises(MountError):
        compose.serve(SETTINGS, mountable.mountpoint, MountOptions(), FuseSettings(),
                      foreground=True)
    assert mountable.backend.listener.stopped == 1
    assert mountable.connection.closed == [True]


# -- putiofs mount: from the arguments to the composition root ----------------------------

@pytest.fixture
def mount_command(monkeypatch, tmp_path):
    """``putiofs mount`` with a v2 account in the environment; what it hands serve()."""
    for name, value in (("PUTIO_API", "v2"), ("PUTIO_API_URL", SETTINGS.api_url),
                        ("PUTIO_TOKEN", "t0ken"), ("PUTIO_UPLOAD_URL", SETTINGS.upload_url)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(cli, "setup_logging", lambda **kwargs: None)
    handed: list[SimpleNamespace] = []

    def serve(settings, mountpoint, options, fuse_settings, **choices):
        handed.append(SimpleNamespace(settings=settings, mountpoint=mountpoint,
                                      options=options, fuse_settings=fuse_settings, **choices))
        return 0

    monkeypatch.setattr(compose, "serve", serve)
    return handed


def test_mount_hands_the_composition_root_plain_values(mount_command, tmp_path):
    assert cli.main(["mount", str(tmp_path / "m"), "-f", "--timeout", "30", "-o", "ro,uid=5",
                     "--cache-dir", str(tmp_path / "c")]) == 0
    [got] = mount_command
    assert got.settings.token == "t0ken" and got.mountpoint == tmp_path / "m"
    assert (got.options.call_deadline, got.options.read_timeout) == (30.0, 10.0)
    assert got.options.read_only is True and got.options.uid == 5
    assert got.fuse_settings.extra == {"ro": True}
    assert (got.foreground, got.events, got.live_ttl, got.cache_dir, got.announce) == \
        (True, True, None, tmp_path / "c", None)


def test_a_given_cache_ttl_is_also_the_live_ttl_and_no_events_is_passed_on(mount_command,
                                                                          tmp_path):
    cli.main(["mount", str(tmp_path / "m"), "-f", "--cache-ttl", "0.01", "--no-events"])
    [got] = mount_command
    assert got.options.cache_ttl == 0.1 and got.live_ttl == 0.1
    assert got.events is False


def test_options_are_checked_before_the_mount(mount_command, tmp_path, capsys):
    assert cli.main(["mount", str(tmp_path / "missing"), "-f", "-o", "uid=x"]) == 1
    assert capsys.readouterr().err == "putiofs: error: -o uid= needs a number, got 'x'\n"
    assert mount_command == []


def test_every_user_error_is_one_line(monkeypatch, capsys):
    def failing(*args: object, **kwargs: object) -> int:
        raise UserError("what to do about it")

    monkeypatch.setattr(cli, "unmount", failing)
    assert cli.main(["umount", "/nowhere"]) == 1
    assert capsys.readouterr().err == "putiofs: error: what to do about it\n"


def test_the_command_line_wires_no_mount_itself():
    """cli parses and dispatches; the connection, the operations and the FUSE loop are wired
    by mount.compose alone."""
    graph = import_graph()
    wiring = {"putiofs.connect", "putiofs.front.operations", "putiofs.mount.run",
              "putiofs.mount.binding", "putiofs.tree.live_updates"}
    assert graph["putiofs.cli"].isdisjoint(wiring)
    assert wiring <= graph["putiofs.mount.compose"]


def test_libfuses_words_become_one_line_with_the_fix_where_it_is_known():
    from putiofs.mount.startup import reason_of

    said = ("fusermount3: option allow_other only allowed if 'user_allow_other' is set in "
            "/etc/fuse.conf\n")
    assert reason_of(said, 1) == ("option allow_other only allowed if 'user_allow_other' is set "
                                  "in /etc/fuse.conf (add the line user_allow_other to "
                                  "/etc/fuse.conf, or mount as root)")
    assert reason_of("fuse: unknown option(s): `-o x'\n\n", 3) == "unknown option(s): `-o x'"
    assert reason_of("", 3) == "libfuse returned 3"
