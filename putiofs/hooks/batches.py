"""What the runs of one batch of changes are: repeats dropped, bursts folded into their folder.

Policy (docs/mount.md, "Telling Jellyfin, Plex or Emby about new files"):

- **Repeats.** A change already told within ``DEDUP_WINDOW`` seconds (the same event, path and
  old path: an event and then the relisting or the mount's own report of it) is dropped.
- **Moves.** A ``deleted`` and a ``created`` of the same item in one batch are one ``moved``;
  a ``moved`` whose old path is not known is a ``created``.
- **Bursts.** When more than ``FOLDER_LIMIT`` changes of one batch fall in one folder (500
  files of one torrent), they are one run: ``changed`` on that folder. While a batch still has
  more than ``MAX_RUNS`` runs, the deepest folders holding more than one are folded into their
  own folder in turn, up to the mount's root: a batch never runs the command more than
  ``MAX_RUNS`` times. Each run keeps the list of the changes it stands for (its stdin).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from putiofs.tree.changes import CHANGED, CREATED, DELETED, MOVED, Change

#: Seconds during which the same change is told once.
DEDUP_WINDOW = 30.0
#: More changes than this in one folder within a batch: one run for the folder.
FOLDER_LIMIT = 10
#: The most runs of the command one batch makes.
MAX_RUNS = 20


@dataclass
class Run:
    """One run of the command: ``event`` at ``path`` (a mount path), and the changes it
    stands for (itself alone, or the burst folded into the folder)."""

    event: str
    path: str
    is_dir: bool = False
    old_path: str | None = None
    changes: list[Change] = field(default_factory=list)


def parent_of(path: str) -> str:
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


class Deduplicator:
    """Remembers what was told for ``window`` seconds."""

    def __init__(self, window: float = DEDUP_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._told: dict[tuple[str, str | None, str | None], float] = {}

    def fresh(self, changes: list[Change]) -> list[Change]:
        """The changes not told within the window (and now remembered as told)."""
        now = self._clock()
        self._told = {key: at for key, at in self._told.items() if now - at < self.window}
        kept = []
        for change in changes:
            key = (change.event, change.path, change.old_path)
            if key in self._told:
                continue
            self._told[key] = now
            kept.append(change)
        return kept


def joined_moves(changes: list[Change]) -> list[Change]:
    """A deleted and a created of one item become one moved; a moved without an old path is
    a created."""
    deleted = {c.item_id: c for c in changes if c.event == DELETED and c.item_id}
    created = {c.item_id for c in changes if c.event == CREATED and c.item_id}
    joined = []
    for change in changes:
        if change.event == DELETED and change.item_id in created:
            continue
        if change.event == CREATED and change.item_id in deleted:
            old = deleted[change.item_id]
            change = Change(MOVED, change.path, change.is_dir, change.item_id, old.path)
        elif change.event == MOVED and change.old_path is None:
            change = Change(CREATED, change.path, change.is_dir, change.item_id)
        joined.append(change)
    return joined


def plan(changes: list[Change], *, folder_limit: int = FOLDER_LIMIT,
         max_runs: int = MAX_RUNS) -> list[Run]:
    """The runs for one batch of resolved changes (each with a path), in order."""
    unique = list(dict.fromkeys(joined_moves(changes)))
    runs = [Run(c.event, c.path or "/", c.is_dir, c.old_path, [c]) for c in unique]
    runs = _fold(runs, lambda folder, members: len(members) > folder_limit)
    while len(runs) > max_runs:
        deepest = max((run.path.count("/") for run in runs if run.path != "/"), default=0)
        if deepest == 0:
            break
        folded = _fold(runs, _at_depth(deepest, shared=True))
        if len(folded) == len(runs):  # nothing shares a folder at that depth: go higher
            folded = _fold(runs, _at_depth(deepest, shared=False))
        runs = folded
    return runs


def _at_depth(depth: int, *, shared: bool) -> Callable[[str, list[Run]], bool]:
    """Picks the folders whose runs are ``depth`` deep (and, if ``shared``, more than one)."""
    return lambda folder, members: (members[0].path.count("/") == depth
                                    and (len(members) > 1 or not shared))


def _fold(runs: list[Run], wanted: Callable[[str, list[Run]], bool]) -> list[Run]:
    """Runs whose folder ``wanted`` picks are one ``changed`` run on that folder, placed
    where the first of them was."""
    by_folder: dict[str, list[Run]] = {}
    for run in runs:
        if run.path != "/":
            by_folder.setdefault(parent_of(run.path), []).append(run)
    picked = {folder for folder, members in by_folder.items() if wanted(folder, members)}
    out: list[Run] = []
    placed: dict[str, Run] = {}
    for run in runs:
        folder = parent_of(run.path) if run.path != "/" else None
        if folder not in picked:
            out.append(run)
            continue
        assert folder is not None
        merged = placed.get(folder)
        if merged is None:
            merged = placed[folder] = Run(CHANGED, folder, True)
            out.append(merged)
        merged.changes.extend(run.changes)
    return _merge_same(out)


def _merge_same(runs: list[Run]) -> list[Run]:
    """A folded folder that is also a run of its own (or folded twice) is one run."""
    out: list[Run] = []
    seen: dict[tuple[str, str, str | None], Run] = {}
    for run in runs:
        key = (run.event, run.path, run.old_path)
        if key in seen:
            seen[key].changes.extend(run.changes)
            continue
        seen[key] = run
        out.append(run)
    return out
