"""rclone mount as putiofs's peer: the TLS front, rclone's private setup, its mounts.

Both clients mount the same emulator in the same run. rclone runs with its default mount
options (``--vfs-cache-mode writes --vfs-write-back 0s`` for the write section, so an upload
starts when the file is closed) plus the quiet, loopback-only flags of
:mod:`putiofs.testing.rclone_client`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import procs
from putiofs.emulator.tls.front import TlsFront
from putiofs.testing.rclone_client import Rclone, rclone_env, rclone_mount


@dataclass(frozen=True)
class Side:
    """One mounted client as the sections see it."""

    name: str   # "putiofs" or "rclone"
    path: Path  # the mountpoint (the account's root)
    pid: int    # the process serving it (CPU and RSS are read from /proc)


class NamespaceFront(TlsFront):
    """The front on the host's loopback forwarding to the emulator in the bench's network
    namespace (:mod:`bench.netlink`): the one non-loopback upstream the bench allows, an address
    of a veth pair it made on this machine. (:class:`TlsFront` itself refuses anything but
    loopback, and stays so.)"""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"http://127.0.0.1:{port}")
        self.upstream = (host, port)


@contextlib.contextmanager
def rclone_setup(server: procs.Emulator) -> Iterator[Rclone]:
    """rclone's config, cache and the TLS front for ``server``; removed on the way out."""
    port = int(server.root_url.rsplit(":", 1)[1])
    local = server.host in ("127.0.0.1", "localhost")
    front = TlsFront(server.root_url) if local else NamespaceFront(server.host, port)
    workdir = Path(tempfile.mkdtemp(prefix="putiofs-bench-rclone-"))
    try:
        with front:
            yield rclone_env(front, procs.TOKEN, workdir,
                             direct_hosts=() if local else (server.host,))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def rclone(setup: Rclone, *extra: str) -> Iterator[Side]:
    """A fresh ``rclone mount putio:`` with ``extra`` flags; unmounted on the way out."""
    mountpoint = Path(tempfile.mkdtemp(prefix="putiofs-bench-rclone-mnt-"))
    try:
        with rclone_mount(setup, mountpoint, *extra, timeout=30.0) as mount:
            yield Side("rclone", mount.path, mount.process.pid)
    finally:
        with contextlib.suppress(OSError):
            mountpoint.rmdir()


@contextlib.contextmanager
def putiofs(server: procs.Emulator, *extra: str) -> Iterator[Side]:
    with procs.putiofs_mount(server, *extra) as mount:
        yield Side("putiofs", mount.path, mount.pid)


@contextlib.contextmanager
def both(server: procs.Emulator, setup: Rclone | None, *rclone_extra: str,
         putiofs_extra: tuple[str, ...] = ()) -> Iterator[list[Side]]:
    """Fresh putiofs and (where rclone runs) rclone mounts of ``server``, each with its extra
    options; putiofs without its read cache unless ``putiofs_extra`` gives it one, as rclone
    runs without a VFS cache unless told (like for like: the network path)."""
    with contextlib.ExitStack() as stack:
        sides = [stack.enter_context(putiofs(server, "--read-cache-size", "0",
                                             *putiofs_extra))]
        if setup is not None:
            sides.append(stack.enter_context(rclone(setup, *rclone_extra)))
        yield sides
