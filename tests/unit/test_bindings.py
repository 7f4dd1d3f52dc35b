"""Choosing a FUSE binding without mounting: ``-o fuse=`` and ``-o read_ahead_kb=`` are
putiofs's own options, checked; the default binding is libfuse 3 where it loads, libfuse 2
where it cannot (both cases are pinned with stand-in bindings, whatever this machine has);
and invalidating a path is a no-op while no libfuse 3 mount runs in the process."""

from __future__ import annotations

import ctypes

import pytest

from putiofs.front.options import MountOptions
from putiofs.mount import kernel_cache
from putiofs.mount.binding import (
    chosen_binding,
    fill_stat,
    load_binding,
    read_ahead_for,
    workers_stay,
)
from putiofs.mount.checks import MountError
from putiofs.mount.settings import DEFAULT_BINDING, FuseSettings, parse_o_options
from tests.support.fuse_bindings import loadable_libfuse3, unloadable


@pytest.fixture
def libfuse3_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default binding loads here (a stand-in mfusepy on libfuse 3)."""
    loadable_libfuse3(monkeypatch)


@pytest.fixture
def libfuse3_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import mfusepy`` fails as it does where libfuse 3 is missing."""
    unloadable(monkeypatch, OSError("Unable to find libfuse"), names=("mfusepy",))


def test_o_fuse_and_read_ahead_kb_are_ours_and_checked(monkeypatch, libfuse3_loads):
    monkeypatch.delenv("PUTIOFS_FUSE", raising=False)
    settings = parse_o_options(["fuse=libfuse2,read_ahead_kb=2048,allow_other"],
                               MountOptions())
    assert (settings.binding, settings.read_ahead_kb) == ("libfuse2", 2048)
    assert "fuse" not in settings.extra and "read_ahead_kb" not in settings.extra
    assert chosen_binding(settings) == "libfuse2"
    assert chosen_binding(FuseSettings()) == DEFAULT_BINDING
    assert read_ahead_for(settings, "libfuse2") == 2048
    assert read_ahead_for(FuseSettings(), "libfuse3") == 1024
    assert read_ahead_for(FuseSettings(), "libfuse2") == 0
    monkeypatch.setenv("PUTIOFS_FUSE", "libfuse2")
    assert chosen_binding(FuseSettings()) == "libfuse2"
    monkeypatch.setenv("PUTIOFS_FUSE", "fuse4")
    with pytest.raises(MountError, match="PUTIOFS_FUSE='fuse4'"):
        chosen_binding(FuseSettings())
    with pytest.raises(MountError, match="-o fuse="):
        parse_o_options(["fuse=libfuse9"], MountOptions())
    with pytest.raises(MountError, match="read_ahead_kb"):
        parse_o_options(["read_ahead_kb=lots"], MountOptions())


def test_the_default_falls_back_to_libfuse2_where_libfuse3_cannot_load(monkeypatch,
                                                                       libfuse3_cannot_load):
    """Only the default falls back: a binding asked for by name stays the one asked for (its
    mount then fails saying what to install)."""
    monkeypatch.delenv("PUTIOFS_FUSE", raising=False)
    assert DEFAULT_BINDING == "libfuse3"
    assert chosen_binding(FuseSettings()) == "libfuse2"
    assert chosen_binding() == "libfuse2"
    asked = parse_o_options(["fuse=libfuse3"], MountOptions())
    assert chosen_binding(asked) == "libfuse3"
    with pytest.raises(MountError, match="libfuse3 is not usable"):
        load_binding(chosen_binding(asked))
    monkeypatch.setenv("PUTIOFS_FUSE", "libfuse3")
    assert chosen_binding(FuseSettings()) == "libfuse3"


def test_the_default_binding_here_is_libfuse3_wherever_it_loads(monkeypatch):
    """The same choice with this machine's real bindings: libfuse 3 if it loads here, else
    libfuse 2."""
    monkeypatch.delenv("PUTIOFS_FUSE", raising=False)
    try:
        load_binding(DEFAULT_BINDING)
    except MountError:
        expected = "libfuse2"
    else:
        expected = DEFAULT_BINDING
    assert chosen_binding(FuseSettings()) == expected


def test_invalidate_path_is_a_no_op_without_a_libfuse3_mount():
    assert not kernel_cache.attached()
    assert kernel_cache.invalidate_path("/a.txt") is False


def test_a_stat_dict_fills_the_struct_as_the_kernel_reads_it():
    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

    class Stat(ctypes.Structure):
        _fields_ = [("st_mode", ctypes.c_uint), ("st_ino", ctypes.c_ulong),
                    ("st_size", ctypes.c_long), ("st_mtimespec", Timespec),
                    ("st_ctimespec", Timespec)]

    st = Stat()
    fill_stat(st, {"st_mode": 0o100644, "st_ino": 7, "st_size": 5,
                   "st_mtime": 1_262_304_000_123_456_789, "st_ctime": 3 * 10**9,
                   "st_atime": 10**9, "st_birthtime": 10**9, "st_nlink": 1})
    assert (st.st_mode, st.st_ino, st.st_size) == (0o100644, 7, 5)
    assert (st.st_mtimespec.tv_sec, st.st_mtimespec.tv_nsec) == (1_262_304_000, 123_456_789)
    assert (st.st_ctimespec.tv_sec, st.st_ctimespec.tv_nsec) == (3, 0)


def test_worker_thread_states_are_kept_only_where_libfuse_keeps_its_threads():
    assert workers_stay("libfuse3", {"max_threads": 16, "max_idle_threads": 16})
    assert not workers_stay("libfuse3", {"max_threads": 16, "max_idle_threads": 2})
    assert not workers_stay("libfuse2", {"max_threads": 16, "max_idle_threads": 16})
