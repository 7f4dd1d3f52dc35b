"""The seam between the core and an API version: AccountServices, the factory, and that the
control folder, the views and the commands never reach past them."""

from __future__ import annotations

import errno
import os

import pytest

from putiofs.api.errors import NotSupportedError
from putiofs.api.services import Service, not_supported
from putiofs.config import Settings
from putiofs.connect import ConnectError, open_for_mount
from putiofs.emulator import EmulatorServer
from putiofs.front.operations import MountOptions, build_operations
from putiofs.v1.account import V1Services
from putiofs.v1.backend import V1Backend
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.conftest import API_KEY, API_SECRET
from tests.support.commands_cli import Cli


def test_the_factory_opens_v2_with_the_v2_services(emulator_factory) -> None:
    server = emulator_factory(api="v2", demo=True, token="TOKEN123")
    settings = Settings(server.base_url, api="v2", token="TOKEN123")
    with open_for_mount(settings, timeout=5) as connection:
        assert "Movies" in {e.name for e in connection.backend.list_folder("0")}
        assert connection.backend.capabilities.folder_map is False
        assert connection.services.account().user_name
        assert Service.MESSAGES not in connection.services.available
        with pytest.raises(NotSupportedError, match="not available on the put.io API v2"):
            connection.services.list_subscriptions()


def test_a_refused_v2_token_is_one_line_naming_putiofs_login(emulator_factory, monkeypatch,
                                                              capsys) -> None:
    server = emulator_factory(api="v2", demo=True, token="TOKEN123")
    with pytest.raises(ConnectError) as excinfo:
        open_for_mount(Settings(server.base_url, api="v2", token="WRONG"), timeout=5)
    assert str(excinfo.value) == ("put.io refused the token (run putiofs login, or check "
                                  "PUTIO_TOKEN)")
    cli = Cli(server, monkeypatch, capsys)
    monkeypatch.setenv("PUTIO_TOKEN", "WRONG")
    result = cli("transfers", "list")
    assert result.code == 1 and result.out == ""
    assert result.err == ("putiofs: error: put.io refused the token (run putiofs login, or "
                          "check PUTIO_TOKEN)\n")
    assert "WRONG" not in result.err


def test_open_for_mount_says_what_is_wrong(emulator: EmulatorServer) -> None:
    with open_for_mount(Settings(emulator.base_url, API_KEY, API_SECRET), timeout=5) as ok:
        assert [e.name for e in ok.backend.list_folder("0")]
        assert ok.services.account().user_name
    with pytest.raises(ConnectError, match="refused the credentials .*PUTIO_API_KEY"):
        open_for_mount(Settings(emulator.base_url, API_KEY, "wrong"), timeout=5)


class WithoutMessagesAndSubscriptions:
    """v1's services as a version that lacks messages and subscriptions offers them."""

    def __init__(self, inner: V1Services) -> None:
        self.inner = inner
        self.available = inner.available - {Service.MESSAGES, Service.SUBSCRIPTIONS}

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def list_messages(self):
        raise not_supported(Service.MESSAGES, "v2")

    def list_subscriptions(self):
        raise not_supported(Service.SUBSCRIPTIONS, "v2")


def test_control_files_of_a_missing_service_are_not_there(emulator: EmulatorServer) -> None:
    with V1Wire(Settings(emulator.base_url, API_KEY, API_SECRET)) as wire:
        client = V1Client(wire)
        services = WithoutMessagesAndSubscriptions(V1Services(client))
        fs = build_operations(V1Backend(client), MountOptions(), services)
        assert fs.readdir("/.putio") == [".", "..", "add", "refresh", "search", "status.json",
                                         "transfers", "user"]
        for name in ("messages", "subscriptions"):
            for call, args in ((fs.getattr, ()), (fs.open, (os.O_RDONLY,)),
                               (fs.listxattr, ())):
                with pytest.raises(OSError) as exc:
                    call(f"/.putio/{name}", *args)
                assert exc.value.errno == errno.ENOENT
        fh = fs.open("/.putio/user", os.O_RDONLY)
        assert b"friends:" in fs.read("/.putio/user", 1 << 16, 0, fh)
        fs.release("/.putio/user", fh)


def test_v1_lacks_events_retry_and_clean(emulator: EmulatorServer) -> None:
    with V1Wire(Settings(emulator.base_url, API_KEY, API_SECRET)) as wire:
        client = V1Client(wire)
        services = V1Services(client)
        for call, args, label in ((services.list_events, (), "events"),
                                  (services.retry_transfer, ("1",), "transfers retry"),
                                  (services.clean_transfers, (), "transfers clean")):
            with pytest.raises(NotSupportedError) as exc:
                call(*args)
            assert str(exc.value) == f"{label} is not available on the put.io API v1"
        assert Service.EVENTS not in services.available
        assert {Service.MESSAGES, Service.SUBSCRIPTIONS, Service.SEARCH} <= services.available


def test_v1_add_reports_only_the_new_failures(emulator: EmulatorServer) -> None:
    with V1Wire(Settings(emulator.base_url, API_KEY, API_SECRET)) as wire:
        client = V1Client(wire)
        services = V1Services(client)
        first = services.add_transfers(["http://host.invalid/x", "http://example.com/ok.iso"])
        assert [t.name for t in first.failed] == ["x"]
        second = services.add_transfers(["http://host.invalid/x"])
        assert [t.name for t in second.failed] == ["x"]  # a new failure of the same name
        assert [t.name for t in second.transfers if t.is_error] == ["x", "x"]
        third = services.add_transfers(["http://example.com/fine.iso"])
        assert third.failed == []
