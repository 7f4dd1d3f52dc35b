"""The mount helpers of the tests and the benchmark: skip (never fail) where FUSE is unusable,
and unmount with whichever FUSE tool the system has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from putiofs.mount.checks import unmount_command
from tests.support import mounting
from tests.support.fuse_bindings import unloadable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("error", [OSError("Unable to find libfuse"),
                                   ImportError("No module named 'fuse'")])
def test_an_unloadable_binding_is_a_reason_to_skip(monkeypatch, error):
    monkeypatch.setattr(mounting, "fuse_device_unusable_reason", lambda: None)
    monkeypatch.delenv("PUTIOFS_FUSE", raising=False)
    unloadable(monkeypatch, error)
    reason = mounting.fuse_unavailable_reason()
    assert reason is not None and str(error) in reason


def test_mount_tests_skip_with_the_reason_when_libfuse_cannot_load(tmp_path):
    """A whole pytest run where ``import fuse`` and ``import mfusepy`` raise the bindings'
    OSError: the fuse tier skips, saying why, and nothing fails (the mount subprocess would
    fail to load the binding too)."""
    for binding in ("fuse.py", "mfusepy.py"):
        (tmp_path / binding).write_text("raise OSError('Unable to find libfuse')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        str(tmp_path), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         "tests/mount/test_mount.py::test_errnos_a_user_meets", "tests/unit/test_names.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # one skip per API version the mount test runs on
    assert "2 skipped" in result.stdout and "Unable to find libfuse" in result.stdout


def _tools(tmp_path: Path, *names: str) -> str:
    for name in names:
        tool = tmp_path / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return str(tmp_path)


def test_unmount_uses_fusermount3_where_it_is_the_only_tool(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _tools(tmp_path, "fusermount3"))
    assert unmount_command("/mnt/x") == [str(tmp_path / "fusermount3"), "-u", "/mnt/x"]
    assert unmount_command("/mnt/x", lazy=True)[1:] == ["-uz", "/mnt/x"]


def test_unmount_falls_back_to_fusermount_then_umount(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _tools(tmp_path, "fusermount"))
    assert unmount_command("/mnt/x") == [str(tmp_path / "fusermount"), "-u", "/mnt/x"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert unmount_command("/mnt/x", lazy=True) == ["umount", "-l", "/mnt/x"]
