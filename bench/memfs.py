"""The ceiling: a trivial in-memory filesystem on the same binding and FUSE class as putiofs
(``$PUTIOFS_FUSE``, else the default), with putiofs's options and readahead.

One read-only file of ``--size`` bytes of zeros; ``read`` returns a slice of a preallocated
buffer, so what it measures is the cost of Python FUSE itself on this machine.
``python -m bench.memfs MOUNTPOINT --size BYTES`` serves in the foreground until unmounted.
"""

from __future__ import annotations

import argparse
import errno
import stat
from typing import Any

from putiofs.front.operations import MountOptions
from putiofs.mount.binding import chosen_binding, mount_class, read_ahead_for
from putiofs.mount.settings import FuseSettings, fuse_kwargs

NAME = "zeros.bin"
_BUFFER = bytes(4 * 1024 * 1024)


class MemFS:
    """fusepy operations for one file of zeros."""

    use_ns = True

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, op: str, *args: Any) -> Any:
        method = getattr(self, op, None)
        if method is None:
            raise OSError(errno.ENOSYS, "")
        return method(*args)

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_ino": 1}
        if path == "/" + NAME:
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": self.size,
                    "st_ino": 2, "st_blksize": 1024 * 1024}
        raise OSError(errno.ENOENT, "")

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", NAME]

    def open(self, path: str, flags: int) -> int:
        return 0

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        size = max(0, min(size, self.size - offset))
        if size <= len(_BUFFER):
            return _BUFFER[:size]
        return bytes(size)

    def release(self, path: str, fh: int) -> int:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mountpoint")
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args()
    settings, binding = FuseSettings(), chosen_binding()
    kwargs = fuse_kwargs(MountOptions(read_only=True), settings, foreground=True,
                         binding=binding)
    kwargs.update(fsname="benchmem", subtype="benchmem")
    mount_class(binding, read_ahead_for(settings, binding))(MemFS(args.size), args.mountpoint,
                                                            raw_fi=False, **kwargs)


if __name__ == "__main__":
    main()
