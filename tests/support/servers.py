"""The test's emulator, said with marks: the shared ``server`` fixture (a pytest plugin that
``tests/conftest.py`` loads).

``server`` is a running emulator of the demo library, changed by the ``EmulatorOptions``
overrides of every ``@pytest.mark.server(**overrides)`` on the test, its class and its module
(for an option given by more than one, the closest mark wins)::

    pytestmark = pytest.mark.server(api="v2", token=TOKEN, transfer_seconds=0.3)

Which API it speaks: the mark's ``api`` if it gives one; else the test's ``api_version`` where
the test runs on each version (it asks for ``api_version``, or it or its module carries
:data:`on_each_version`, which makes every test it marks run on each); else v1. A v2
emulator's token is :data:`tests.support.versions.V2_TOKEN` unless a mark gives one.

Which v1 dialect: the marks' ``dialect``; ``dialect=DIALECTS`` (:data:`on_each_dialect`) runs
each test that uses ``server`` or the ``dialect`` fixture once per dialect (``[doc]``,
``[legacy]``), and ``dialect`` says which. An option given as :class:`from_fixture` is that
fixture's value, so the test can hold the same object (a fault policy it scripts, the folder
it serves).

A module whose emulator is something else (started otherwise, or shared by the module) keeps
its own fixture, named for what it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from putiofs.emulator import EmulatorServer
from tests.support.versions import V2_TOKEN

#: The v1 dialects an emulator speaks: the documented one and the live server's.
DIALECTS = ("doc", "legacy")

#: Every test it marks runs on each API version (``[v1]``, ``[v2]``), and its ``server`` with it.
on_each_version = pytest.mark.usefixtures("api_version")

#: Every test it marks that uses ``server`` or ``dialect`` runs in each v1 dialect.
on_each_dialect = pytest.mark.server(dialect=DIALECTS)


@dataclass(frozen=True)
class from_fixture:  # noqa: N801 - reads as a function in a mark: faults=from_fixture("faults")
    """An emulator option whose value is the test's fixture ``name``."""

    name: str


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server(**options): EmulatorOptions overrides for the test's ``server`` "
        "fixture (tests.support.servers); the closest mark wins per option")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``dialect=DIALECTS`` on a test that uses ``dialect`` (``server`` does): once per dialect."""
    if "dialect" not in metafunc.fixturenames:
        return
    if _marked_options(metafunc.definition).get("dialect") == DIALECTS:
        metafunc.parametrize("dialect", DIALECTS, indirect=True)


@pytest.fixture
def dialect(request: pytest.FixtureRequest) -> str | None:
    """The v1 dialect the test runs in where its marks give ``dialect=DIALECTS``; else the
    marks' own ``dialect`` (None: the emulator's default, ``doc``)."""
    if hasattr(request, "param"):
        return request.param
    return _marked_options(request.node).get("dialect")


def _marked_options(node: pytest.Item) -> dict[str, Any]:
    """The ``server`` marks' overrides of ``node``, the closest mark winning per option."""
    options: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers("server"))):
        if mark.args:
            pytest.fail(f"{node.nodeid}: pytest.mark.server takes EmulatorOptions by name only",
                        pytrace=False)
        options.update(mark.kwargs)
    return options


def server_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The demo library with the ``server`` marks' overrides; options given as
    :class:`from_fixture` resolved."""
    options = {"demo": True, **_marked_options(request.node)}
    return {name: request.getfixturevalue(value.name) if isinstance(value, from_fixture)
            else value for name, value in options.items()}


@pytest.fixture
def server(request: pytest.FixtureRequest, emulator_factory: Callable[..., EmulatorServer],
           dialect: str | None) -> EmulatorServer:
    """The test's emulator, as its ``server`` marks, ``api_version`` and ``dialect`` say
    (see the module's docstring)."""
    options = server_options(request)
    options.pop("dialect", None)
    if dialect is not None:
        options["dialect"] = dialect
    if "api_version" in request.fixturenames:
        if "api" in options:
            pytest.fail(f"{request.node.nodeid} runs on each API version, but a server mark "
                        f"fixes api={options['api']!r}", pytrace=False)
        options["api"] = request.getfixturevalue("api_version")
    if options.get("api") == "v2":
        options.setdefault("token", V2_TOKEN)
    return emulator_factory(**options)
