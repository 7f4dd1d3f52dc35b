"""The test tiers, and the fixtures every tier folder shares.

The tier of a test is the folder it lives in, so that a tier can run alone (``pytest
tests/unit``, or ``pytest -m unit``), and each test gets that tier's marker here:

* ``tests/unit`` (``unit``): no emulator, no kernel mount (an ad-hoc loopback server from
  ``tests.support.serving``, or a stub of ``tests.support.v1_stub`` / ``v2_stub``, is allowed).
* ``tests/emulator`` (``emulator``): talks to a put.io emulator, or tests one of its parts,
  over loopback HTTP; no kernel mount.
* ``tests/mount`` (``fuse``): mounts for real. Skipped, with the reason, where no real mount
  can run here (``tests.support.mounting.fuse_unavailable_reason``: no usable /dev/fuse, a FUSE
  binding that cannot load, no fusermount).

A test marked with another tier than its folder's is a usage error; a test outside the three
folders too. The emulator fixtures fail a unit test, the mount fixtures any test outside
``tests/mount`` (also one that asks for them by name at run time).

Emulators: ``emulator_factory(**options)`` starts any (v1 unless ``api="v2"``); ``emulator``
and ``legacy_emulator`` are the v1 demo in each dialect (for the raw v1 API tests). A test that
means the same on both API versions asks for ``api_version`` (parametrised ``v1``, ``v2``) or for
a fixture built on it: ``server_factory(**options)`` starts an emulator of that version (v2
with :data:`tests.support.versions.V2_TOKEN`), ``demo_emulator`` is its demo library. A test
meant for one version only carries ``tests.support.versions.api_only(version, reason)``: on a
version-parametrised test the other version's run is skipped with that reason; a known defect
of one version is ``tests.support.versions.fails_on(version, reason)`` (a strict xfail).

The plugins loaded here add the fixtures most modules use:

* ``server`` (``tests.support.servers``): the test's emulator, the demo library changed by
  ``@pytest.mark.server(**EmulatorOptions overrides)`` marks, on the test's ``api_version``
  (``on_each_version``) or v1 dialect (``on_each_dialect``) where it runs on each.
* ``mount`` and ``mount_factory`` (``tests.support.mounting``): ``server`` mounted with the
  arguments of ``@pytest.mark.mount_args(...)``; any emulator mounted over the API it speaks.
* ``cli`` (``tests.support.commands_cli``): the ``putiofs`` commands, in-process, against
  ``server``.

Other helpers, each in a module of ``tests/support`` named for what it holds, are imported or
loaded by the modules that need them (``pytest_plugins = ("tests.support.v2_stub",)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from putiofs.emulator import EmulatorOptions, EmulatorServer
from tests.support.versions import API_VERSIONS, V2_TOKEN

pytest_plugins = ["tests.support.servers", "tests.support.mounting", "tests.support.commands_cli"]

TESTS = Path(__file__).resolve().parent

#: The tier of a test is the folder it lives in.
TIERS = {"unit": "unit", "emulator": "emulator", "mount": "fuse"}


def tier_of(item: pytest.Item) -> str:
    """``fuse``, ``emulator`` or ``unit``: the tier of the folder the test lives in
    (``tests/mount``, ``tests/emulator``, ``tests/unit``)."""
    folder = Path(str(item.path)).relative_to(TESTS).parts[0]
    try:
        return TIERS[folder]
    except KeyError:
        raise pytest.UsageError(f"{item.nodeid}: a test belongs in one of the tier folders "
                                f"{', '.join(f'tests/{name}' for name in TIERS)}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "api_only(version, reason): meaningful on that put.io API version only "
        "(tests.support.versions.api_only); the other version's run is skipped with the reason")
    config.addinivalue_line(
        "markers", "fails_on(version, reason): a known defect on that API version "
        "(tests.support.versions.fails_on): that version's run is xfail(strict=True)")


def _mark_by_version(item: pytest.Item) -> None:
    """``api_only``: skip the other version's run; ``fails_on``: that version's run is a
    strict xfail (both with the marker's reason)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "api_version" not in callspec.params:
        return
    version = callspec.params["api_version"]
    only = item.get_closest_marker("api_only")
    if only is not None and only.args[0] != version:
        item.add_marker(pytest.mark.skip(reason=f"{only.args[0]} only: {only.kwargs['reason']}"))
    for failing in item.iter_markers("fails_on"):
        if failing.args[0] == version:
            item.add_marker(pytest.mark.xfail(strict=True, reason=failing.kwargs["reason"]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.support.mounting import (
        fuse_unavailable_reason,  # a plugin: registered, then imported
    )

    no_fuse: str | None | bool = False  # worked out once, and only if a fuse test is collected
    for item in items:
        _mark_by_version(item)
        tier = tier_of(item)
        stray = [other for other in TIERS.values()
                 if other != tier and item.get_closest_marker(other) is not None]
        if stray:
            raise pytest.UsageError(f"{item.nodeid} is marked {stray[0]} but lives in the "
                                    f"{tier} tier's folder: move it to that tier's folder")
        if item.get_closest_marker(tier) is None:
            item.add_marker(tier)
        if tier == "fuse":
            if no_fuse is False:
                no_fuse = fuse_unavailable_reason()
            if no_fuse:
                item.add_marker(pytest.mark.skip(reason=str(no_fuse)))

API_KEY = "demo"
API_SECRET = "demo"


def require_tier(request: pytest.FixtureRequest, *allowed: str) -> None:
    """Fail a test whose tier (its folder's marker) is none of ``allowed``: it asked for a
    fixture that tier must do without."""
    if not any(request.node.get_closest_marker(tier) for tier in allowed):
        folders = " or ".join(f"tests/{folder}" for folder, tier in TIERS.items()
                              if tier in allowed)
        pytest.fail(f"{request.node.nodeid} uses {request.fixturename}, which its tier must do "
                    f"without: move it to {folders}", pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def _cache_home_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Whatever falls back to the default cache folder (a mount's spool: ``putiofs demo``, a
    mount without ``--cache-dir``) writes under this run's temporary folder, in this process
    and those it starts, never in the user's ``~/.cache/putiofs``."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache-home")))
    yield
    patch.undo()


@pytest.fixture
def emulator_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators with ``EmulatorOptions`` overrides; all are stopped at teardown."""
    require_tier(request, "emulator", "fuse")
    started: list[EmulatorServer] = []

    def start(**overrides: Any) -> EmulatorServer:
        options = {"host": "127.0.0.1", "port": 0, "api_key": API_KEY, "api_secret": API_SECRET}
        options.update(overrides)
        server = EmulatorServer(EmulatorOptions(**options)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The v1 demo library, doc dialect (for v1 tests; ``demo_emulator`` runs on both)."""
    return emulator_factory(demo=True, dialect="doc")


@pytest.fixture
def legacy_emulator(emulator_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The v1 demo library, legacy (live server) dialect."""
    return emulator_factory(demo=True, dialect="legacy")


@pytest.fixture(params=API_VERSIONS)
def api_version(request: pytest.FixtureRequest) -> str:
    """The put.io API version under test: every test using it runs on ``v1`` and ``v2``."""
    return request.param


@pytest.fixture
def server_factory(emulator_factory: Callable[..., EmulatorServer],
                   api_version: str) -> Callable[..., EmulatorServer]:
    """Start emulators of the test's API version, with ``EmulatorOptions`` overrides."""

    def start(**overrides: Any) -> EmulatorServer:
        options: dict[str, Any] = {"api": api_version}
        if api_version == "v2":
            options["token"] = V2_TOKEN
        options.update(overrides)
        return emulator_factory(**options)

    return start


@pytest.fixture
def demo_emulator(server_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The demo library on the test's API version (v1: the doc dialect)."""
    return server_factory(demo=True)


def raw_call(
    server: EmulatorServer,
    service: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    via: str = "post",
    api_key: str = API_KEY,
    api_secret: str = API_SECRET,
    session: requests.Session | None = None,
) -> requests.Response:
    """One API call spoken the way the spec shows: ``request`` JSON by POST form or GET query."""
    request = json.dumps({"api_key": api_key, "api_secret": api_secret, "params": params or {}})
    url = f"{server.base_url}/{service}"
    http = session or requests
    if via == "get":
        return http.get(url, params={"method": method, "request": request}, timeout=10)
    return http.post(url, params={"method": method}, data={"request": request}, timeout=10)


@pytest.fixture
def api() -> Callable[..., requests.Response]:
    """:func:`raw_call`: ``api(server, "files", "list", {"parent_id": "0"}, via="get")``."""
    return raw_call
