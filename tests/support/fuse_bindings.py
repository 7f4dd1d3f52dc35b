"""Stand-ins for the two FUSE bindings (``fuse`` for libfuse 2, ``mfusepy`` for libfuse 3), so a
unit test can say what putiofs does where a binding loads or cannot load, whatever this machine
has installed. Both go through the real ``import``: :func:`unloadable` makes it fail as it does
when libfuse is missing, :func:`loadable_libfuse3` puts a stand-in ``mfusepy`` in its place,
and :func:`loadable_libfuse3_in_children` does that for the ``putiofs`` processes a test starts.
Everything is undone when ``monkeypatch`` is."""

from __future__ import annotations

import importlib.abc
import os
import sys
import types
from pathlib import Path

import pytest

BINDING_MODULES = ("fuse", "mfusepy")


class Unloadable(importlib.abc.MetaPathFinder):
    """``import`` of the named binding modules fails with ``error``, as it does when libfuse is
    missing (fusepy's ``OSError`` "Unable to find libfuse") or the binding is absent
    (``ImportError``)."""

    def __init__(self, error: Exception, names: tuple[str, ...] = BINDING_MODULES) -> None:
        self.error = error
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name in self.names:
            raise self.error
        return None


def unloadable(monkeypatch: pytest.MonkeyPatch, error: Exception,
               names: tuple[str, ...] = BINDING_MODULES) -> None:
    """Make ``import`` of the binding modules ``names`` (default: both) raise ``error``."""
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [Unloadable(error, names), *sys.meta_path])
    _restore_library_name(monkeypatch)


def loadable_libfuse3(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """An ``mfusepy`` that imports and says it runs on libfuse 3 (never mounts anything)."""
    stand_in = types.ModuleType("mfusepy")
    stand_in.fuse_version_major = 3  # type: ignore[attr-defined]
    stand_in.FUSE = type("FUSE", (), {"__module__": "mfusepy"})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mfusepy", stand_in)
    _restore_library_name(monkeypatch)
    return stand_in


#: The stand-in ``mfusepy`` a child process imports: it loads, says libfuse 3, mounts nothing.
_CHILD_MFUSEPY = '''"""A stand-in mfusepy written by the tests: it imports, and mounts nothing."""
fuse_version_major = 3


class FUSE:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("a stand-in FUSE binding (tests.support.fuse_bindings) mounts nothing")
'''


def loadable_libfuse3_in_children(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """The processes this test starts (which inherit the environment) load a stand-in
    ``mfusepy`` from ``directory`` as their default binding: a ``putiofs mount`` there gets past
    loading its binding to what follows (signing in), whatever this machine has installed."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mfusepy.py").write_text(_CHILD_MFUSEPY)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(directory), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("PUTIOFS_FUSE", raising=False)


def _restore_library_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The libfuse 3 loader sets ``FUSE_LIBRARY_NAME`` (if unset): have monkeypatch undo that."""
    monkeypatch.setenv("FUSE_LIBRARY_NAME", os.environ.get("FUSE_LIBRARY_NAME", "fuse3"))
