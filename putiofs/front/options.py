"""What a mount shows and how long it trusts what it saw: the options every FUSE layer reads."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from putiofs.net.bandwidth import Bandwidth

DEFAULT_MTIME = 1262304000  # 2010-01-01T00:00:00Z


@dataclass
class MountOptions:
    """What the mount shows and how long it trusts what it saw."""

    uid: int = -1
    gid: int = -1
    #: ``-o umask=``: the bits taken from every item's mode that chmod did not set (files
    #: start from 0666, folders from 0777, as rclone's ``--umask``); 022 gives 0644 and 0755.
    umask: int = 0o022
    read_only: bool = False
    mtime: float = DEFAULT_MTIME
    cache_ttl: float = 30.0
    stale_ttl: float = 600.0
    read_timeout: float = 30.0
    call_deadline: float = 60.0
    show_control: bool = False
    cache_entries: int | None = None    # the metadata cache's bound in items (None: default)
    read_ahead_folders: bool = True     # list the next folders of a walk ahead (walk_ahead)
    #: Realtime events keep the cache current (set once the listener is attached); the
    #: kernel's timeouts are then short (``putiofs.tree.live_updates.KERNEL_TTL_LIVE``).
    events: bool = False
    # Writing (v2): the account's spool folder (None: the mount does not write contents),
    # its cap in bytes, how long unmount waits for uploads, and the TUS chunk size.
    spool_dir: Path | None = None
    cache_max_size: int = 10 * 1024**3
    upload_wait: float = 300.0
    upload_chunk_size: int = 32 * 1024**2
    #: The persistent read cache: the account's folder of ``--cache-dir`` it lives in (None:
    #: none, as in unit tests) and ``--read-cache-size`` in bytes (None: the default, 0: off).
    read_cache_dir: Path | None = None
    read_cache_size: int | None = None
    #: ``--bwlimit``: the buckets every stream (down) and upload (up) of the mount share.
    bandwidth: Bandwidth = field(default_factory=Bandwidth)
    #: ``--thumbnails``: freedesktop thumbnails of listed videos from put.io's screenshots
    #: (:mod:`putiofs.thumbnails`).
    thumbnails: bool = False
    #: ``--on-change``: the shell command run for changes (None: none), and how long a run
    #: may take before it is killed (``--on-change-timeout``; see putiofs.hooks.runner).
    on_change: str | None = None
    on_change_timeout: float = 60.0
    #: ``--no-subtitles`` clears it: put.io's subtitles of the videos shown as read-only
    #: ``<stem>.<language>.srt`` sidecars (:mod:`putiofs.subtitles`), where the API has them.
    subtitles: bool = True

    def __post_init__(self) -> None:
        if self.uid < 0:
            self.uid = os.getuid()
        if self.gid < 0:
            self.gid = os.getgid()
