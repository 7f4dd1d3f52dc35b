"""This user's putiofs mounts, and what each says of itself in ``/.putio/status.json``
(:mod:`putiofs.front.control.status`).

A putiofs mount is listed in ``/proc/self/mountinfo`` with the type ``fuse.putiofs`` (libfuse's
``subtype``; the source is ``putio``), and its owner as the ``user_id=`` of the super-block
options: "this user's" are those with the caller's uid. The kernel writes space, tab, newline
and backslash in a mount point as octal escapes (``\\040``); they are decoded here.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MOUNTINFO = Path("/proc/self/mountinfo")
FSTYPE = "fuse.putiofs"
STATUS_PATH = (".putio", "status.json")
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class MountStatusReading:
    """A mount point and what its status said: ``status`` (the parsed status.json), or
    ``problem`` (why there is none: not answering, an older putiofs...)."""

    mountpoint: Path
    status: dict[str, Any] | None
    problem: str | None = None


def _unescape(field: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def putiofs_mounts(uid: int | None = None, mountinfo: Path = MOUNTINFO) -> list[Path]:
    """The mount points of putiofs mounts owned by ``uid`` (default: the caller's)."""
    uid = os.getuid() if uid is None else uid
    try:
        lines = mountinfo.read_text(errors="replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        mine, sep, theirs = line.partition(" - ")
        fields, rest = mine.split(), theirs.split()
        if not sep or len(fields) < 5 or len(rest) < 3 or rest[0] != FSTYPE:
            continue
        options = dict(item.partition("=")[::2] for item in rest[2].split(","))
        if options.get("user_id", str(uid)) == str(uid):
            found.append(Path(_unescape(fields[4])))
    return found


def read_mount_status(mountpoint: Path) -> MountStatusReading:
    """What the mount at ``mountpoint`` says of itself; a ``problem`` where it says nothing."""
    target = mountpoint.joinpath(*STATUS_PATH)
    try:
        text = target.read_text()
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:
            problem = "not answering: its process is gone (putiofs umount cleans it up)"
        elif exc.errno == errno.ENOENT:
            problem = "no status here: not a putiofs mount, or an older putiofs"
        else:
            problem = f"its status cannot be read: {exc.strerror}"
        return MountStatusReading(mountpoint, None, problem)
    try:
        status = json.loads(text)
    except ValueError:
        return MountStatusReading(mountpoint, None, "its status is not JSON")
    if not isinstance(status, dict):
        return MountStatusReading(mountpoint, None, "its status is not a JSON object")
    return MountStatusReading(mountpoint, status)


def process_running(pid: int) -> bool:
    """Is ``pid`` a live process (a zombie, ended but not yet reaped, counts as ended)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
