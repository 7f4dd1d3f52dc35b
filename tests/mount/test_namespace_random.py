"""Random mkdir / rename / unlink / rmdir sequences: the mount behaves as a local directory.

One seeded random tree is put both into an empty emulator account and into a local reference
directory. Each random operation runs on both sides; both must fail with the same errno or both
succeed. From time to time and at the end, the two trees (names, types, sizes, sha256 of the
contents read through the mount) and the emulator's own state must match the reference.

``PUTIOFS_SEED=<n>`` replays one seed; ``PUTIOFS_OPS=<n>`` changes the sequence length. Each
seed runs on both API versions (``[v1-<seed>]``, ``[v2-<seed>]``).
"""

from __future__ import annotations

import hashlib
import os
import random
import unicodedata
from pathlib import Path

import pytest

from putiofs.tree.names import clean, to_remote
from tests.support.mounting import requires_fuse

pytestmark = requires_fuse

# Plain names, a name with the '/' substitute, and a decomposed (NFD) one. Not both normal
# forms of one name: the mount finds "café" typed in NFC as the NFD item when there is no exact
# match (as macOS does), which a normalisation-sensitive local directory does not; that alias is
# tested on its own in test_namespace_mount.py.
NAMES = ["a", "b", "c", "d.txt", "e.txt", "f.bin", "g", "h.txt", "AC\u2215DC",
         unicodedata.normalize("NFD", "café")]
DEFAULT_SEEDS = [20240501, 3]
OPERATIONS = int(os.environ.get("PUTIOFS_OPS", "300"))


def seeds() -> list[int]:
    override = os.environ.get("PUTIOFS_SEED")
    return [int(override)] if override else DEFAULT_SEEDS


def build_seed_tree(rng: random.Random, reference: Path, account) -> None:
    """Folders (up to three deep) and small files of random bytes, on both sides: enough files
    that a few hundred operations (none of which can create a file) do not use them all up."""
    pending = [(reference, "0", 0)]
    while pending:
        folder, folder_id, depth = pending.pop()
        for name in rng.sample(NAMES, rng.randint(6 if depth == 0 else 1, 7)):
            if depth < 3 and rng.random() < 0.4:
                (folder / name).mkdir()
                folder_id_below = account.add_folder(folder_id, to_remote(name))
                pending.append((folder / name, folder_id_below, depth + 1))
            else:
                data = rng.randbytes(rng.choice([0, 1, 17, 700, 5000]))
                (folder / name).write_bytes(data)
                account.add_file(folder_id, to_remote(name), data=data)


def snapshot(root: Path) -> dict[str, tuple]:
    """Relative path → ("dir",) or ("file", size, sha256), read through the filesystem."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in dirnames:
            found[str((base / name).relative_to(root))] = ("dir",)
        for name in filenames:
            data = (base / name).read_bytes()
            found[str((base / name).relative_to(root))] = (
                "file", os.stat(base / name).st_size, hashlib.sha256(data).hexdigest())
    return found


def server_snapshot(account) -> dict[str, tuple]:
    """The same view of the emulator's state (no duplicate names arise here)."""
    found: dict[str, tuple] = {}
    pending = [("", "0")]
    while pending:
        prefix, folder_id = pending.pop()
        for child in account.children(folder_id):
            path = f"{prefix}{clean(child['name'])}"
            if child["is_dir"]:
                found[path] = ("dir",)
                pending.append((path + "/", str(child["id"])))
            else:
                data = account.file_bytes(str(child["id"]))
                found[path] = ("file", child["size"], hashlib.sha256(data).hexdigest())
    return found


def existing_paths(reference: Path) -> tuple[list[str], list[str]]:
    """Every folder (with "" for the root) and every file below ``reference``, relative."""
    folders, files = [""], []
    for dirpath, dirnames, filenames in os.walk(reference):
        base = Path(dirpath).relative_to(reference)
        folders.extend(str(base / name) for name in dirnames)
        files.extend(str(base / name) for name in filenames)
    return sorted(folders), sorted(files)


def random_operation(rng: random.Random, reference: Path) -> tuple[str, tuple[str, ...]]:
    """An operation and relative paths: often valid, sometimes on purpose not."""
    folders, files = existing_paths(reference)
    items = folders[1:] + files

    def join(parent: str, name: str) -> str:
        return f"{parent}/{name}" if parent else name

    def fresh() -> str:
        # A name in a random folder, now and then below a file (ENOTDIR) or a missing folder.
        roll = rng.random()
        parent = rng.choice(files) if files and roll < 0.05 else (
            join(rng.choice(folders), "missing") if roll < 0.1 else rng.choice(folders))
        return join(parent, rng.choice(NAMES))

    def existing() -> str:
        return rng.choice(items) if items and rng.random() < 0.9 else fresh()

    kind = rng.choices(["mkdir", "rename", "unlink", "rmdir"], weights=[2, 10, 1, 2])[0]
    if kind == "mkdir":
        return kind, (fresh(),)
    if kind == "rename":
        source = existing()
        roll = rng.random()
        if roll < 0.35 and items:
            # onto an existing file or folder (of the same kind more often), or itself
            same_kind = files if source in files else folders[1:]
            target = rng.choice(same_kind if same_kind and rng.random() < 0.6 else items)
        elif roll < 0.5 and folders[1:]:
            target = join(rng.choice(folders[1:]), source.rsplit("/", 1)[-1])  # a plain move
        else:
            target = fresh()
        return kind, (source, target)
    if kind == "unlink":
        return kind, (rng.choice(files) if files and rng.random() < 0.7 else existing(),)
    return kind, (rng.choice(folders[1:]) if folders[1:] and rng.random() < 0.7 else existing(),)


def apply(kind: str, root: Path, paths: tuple[str, ...]) -> int:
    """Run one operation below ``root``; 0 or the errno it failed with."""
    full = [root / path for path in paths]
    try:
        if kind == "mkdir":
            os.mkdir(full[0])
        elif kind == "rename":
            os.rename(full[0], full[1])
        elif kind == "unlink":
            os.unlink(full[0])
        else:
            os.rmdir(full[0])
    except OSError as exc:
        return exc.errno or -1
    return 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", seeds())
def test_random_changes_match_a_local_directory(seed, tmp_path, server_factory,
                                                 mount_factory):
    rng = random.Random(seed)
    reference = tmp_path / "reference"
    reference.mkdir()
    server = server_factory()
    build_seed_tree(rng, reference, server.account)
    mount = mount_factory(server, "--cache-ttl", "30")
    replay = f"replay with PUTIOFS_SEED={seed}"
    assert snapshot(mount.path) == snapshot(reference), f"seed trees differ; {replay}"

    history: list[str] = []
    for step in range(OPERATIONS):
        kind, paths = random_operation(rng, reference)
        expected = apply(kind, reference, paths)
        got = apply(kind, mount.path, paths)
        history.append(f"{step}: {kind} {' -> '.join(paths)} = {os.strerror(expected)}")
        assert got == expected, (
            f"step {step}: {kind} {paths}: local {os.strerror(expected)}, mount "
            f"{os.strerror(got)}; {replay}\n" + "\n".join(history[-15:]))
        for path in paths:
            parent = Path(path).parent
            if expected == 0 and (reference / parent).is_dir():
                assert sorted(os.listdir(mount.path / parent)) == sorted(
                    os.listdir(reference / parent)), (
                    f"step {step}: {kind} {paths}: {parent} lists differently; {replay}")
        if step % 50 == 49:
            assert snapshot(mount.path) == snapshot(reference), (
                f"trees differ after step {step}; {replay}\n" + "\n".join(history[-15:]))

    expected_tree = snapshot(reference)
    assert snapshot(mount.path) == expected_tree, f"trees differ at the end; {replay}"
    assert server_snapshot(server.account) == expected_tree, (
        f"the emulator's state differs from the reference at the end; {replay}")
    failures = sum(1 for line in history if not line.endswith(os.strerror(0)))
    assert 0 < failures < len(history), "the sequence should mix successes and errors"
