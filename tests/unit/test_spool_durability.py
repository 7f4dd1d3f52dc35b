"""The spool's promises without a kernel: the order of the syncs that make an accepted version
durable, a change that un-accepts it first, and removals that a kill at any step leaves in a
state the next mount finishes quietly."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import pytest

from putiofs.write.spool import Spool, SpoolFile


class Killed(BaseException):
    """The process died here (no handler of the code under test catches a BaseException)."""


def accepted_file(root: Path, data: bytes = b"accepted bytes") -> tuple[Spool, SpoolFile]:
    spool = Spool(root, 1 << 20)
    spooled = spool.create("0", "f.txt", "/f.txt", 1.0)
    spooled.pwrite(data, 0)
    spooled.accept()
    return spool, spooled


def test_accept_syncs_the_data_then_the_manifest_then_the_folder(tmp_path, monkeypatch):
    spool = Spool(tmp_path / "a", 1 << 20)
    spooled = spool.create("0", "f.txt", "/f.txt", 1.0)
    spooled.pwrite(b"payload", 0)
    steps: list[str] = []
    real = {name: getattr(os, name) for name in ("fsync", "fdatasync", "replace")}

    def named(fd: int) -> str:
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", lambda fd: (steps.append(f"fsync {named(fd)}"),
                                                 real["fsync"](fd))[1])
    monkeypatch.setattr(os, "fdatasync", lambda fd: (steps.append(f"fdatasync {named(fd)}"),
                                                     real["fdatasync"](fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (steps.append(f"replace {Path(b).name}"),
                                                     real["replace"](a, b))[1])
    spooled.accept()
    monkeypatch.undo()
    assert steps == [f"fdatasync {spooled.id}.data", f"fdatasync {spooled.id}.tmp",
                     f"replace {spooled.id}.json", "fsync pending"]


def manifest_at_each_pwrite(spool: Spool, spooled: SpoolFile, key: str,
                            monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """From now on, what the saved manifest says under ``key`` when each data write starts."""
    seen: list[object] = []
    real_pwrite = os.pwrite

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        seen.append(json.loads(spool.manifest_path(spooled.id).read_text())[key])
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return seen


def test_a_change_after_accept_first_saves_that_it_is_no_longer_accepted(tmp_path, monkeypatch):
    spool, spooled = accepted_file(tmp_path / "a")
    seen = manifest_at_each_pwrite(spool, spooled, "accepted", monkeypatch)
    spooled.pwrite(b"more", 14)
    assert seen == [False]


def kill_at(step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the ``step``-th rename or unlink (0 first) kills the process instead."""
    done = [0]

    def counted(real):
        def call(*args, **kwargs):
            if done[0] == step:
                raise Killed
            done[0] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(os, "replace", counted(os.replace))
    monkeypatch.setattr(Path, "unlink", counted(Path.unlink))


@pytest.mark.parametrize("step", range(4))
def test_a_kill_at_any_step_of_a_removal_leaves_nothing_to_hand_back(tmp_path, monkeypatch,
                                                                     caplog, step):
    spool, spooled = accepted_file(tmp_path / "a")
    kill_at(step, monkeypatch)
    with pytest.raises(Killed) if step < 3 else contextlib.nullcontext():
        spooled.discard()
    monkeypatch.undo()
    if spooled.fd >= 0:
        os.close(spooled.fd)
    with caplog.at_level(logging.INFO, logger="putiofs.write"):
        again = Spool(tmp_path / "a", 1 << 20)
        left = again.load_all()
    assert again.recovered_files() == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    # either removed, or still there whole and accepted (the removal never began)
    assert left == [] or [(f.manifest.accepted, f.pread(100, 0)) for f in left] == \
        [(True, b"accepted bytes")]
    assert sorted(p.suffix for p in again.pending.iterdir()) in ([], [".data", ".json"])


@pytest.mark.parametrize("step", range(4))
def test_a_kill_at_any_step_of_a_hand_back_never_loses_the_data(tmp_path, monkeypatch, step):
    spool, spooled = accepted_file(tmp_path / "a")
    kill_at(step, monkeypatch)
    with pytest.raises(Killed) if step < 3 else contextlib.nullcontext():
        spool.hand_back(spooled, "a test")
    monkeypatch.undo()
    again = Spool(tmp_path / "a", 1 << 20)
    left = again.load_all()
    kept = [p.read_bytes() for p in again.recovered_files()] + [f.pread(100, 0) for f in left]
    assert kept == [b"accepted bytes"]


def test_a_data_file_left_by_a_kill_inside_create_is_dropped_quietly(tmp_path, caplog):
    spool = Spool(tmp_path / "a", 1 << 20)
    (spool.pending / "abc.data").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="putiofs.write"):
        assert spool.load_all() == []
    assert spool.recovered_files() == [] and not list(spool.pending.iterdir())
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_an_unchanged_version_is_charged_and_saved_changed_before_its_first_byte(tmp_path,
                                                                                monkeypatch):
    spool = Spool(tmp_path / "a", 100)
    spooled = spool.create("0", "f.txt", "/f.txt", 1.0, base_id="7", base_size=60,
                           changed=False)
    assert spool.used == 0
    seen = manifest_at_each_pwrite(spool, spooled, "changed", monkeypatch)
    spooled.pwrite(b"x", 70)
    assert seen == [True] and spool.used == 71


def test_a_manifest_of_an_older_putiofs_is_changed(tmp_path):
    spool, spooled = accepted_file(tmp_path / "a")
    record = json.loads(spool.manifest_path(spooled.id).read_text())
    del record["changed"]
    spool.manifest_path(spooled.id).write_text(json.dumps(record))
    [loaded] = Spool(tmp_path / "a", 1 << 20).load_all()
    assert loaded.manifest.changed and loaded.spool.used == len(b"accepted bytes")
