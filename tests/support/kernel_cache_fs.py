"""A tiny filesystem for the kernel cache test, served on libfuse 3 by putiofs's mount class:
``python -m tests.support.kernel_cache_fs MOUNTPOINT``.

``/a.txt`` and ``/b.txt`` hold text; the kernel trusts their attributes for an hour. Setting
extended attributes on ``/ctl`` drives the test from outside: ``user.change`` = ``NAME=TEXT``
changes a file behind the kernel's back (``NAME=`` with no text removes it),
``user.invalidate`` = ``PATH`` calls :func:`putiofs.mount.kernel_cache.invalidate_path` from another
thread (as the events code would) and keeps its answer in ``user.invalidated``;
``user.keep_invalidating`` = ``PATH`` starts a thread that invalidates it every half
millisecond until the process ends (as events arriving while the mount unmounts would).
"""

from __future__ import annotations

import errno
import stat
import sys
import threading
import time
from typing import Any

from putiofs.mount import kernel_cache
from putiofs.mount.binding import mount_class


class CacheFS:
    use_ns = True

    def __init__(self) -> None:
        self.files = {"a.txt": b"hello", "b.txt": b"bye"}
        self.answer = b""

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        name = path[1:]
        if name == "ctl":
            return {"st_mode": stat.S_IFREG | 0o644, "st_nlink": 1}
        if name not in self.files:
            raise OSError(errno.ENOENT, "")
        return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1,
                "st_size": len(self.files[name])}

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", "ctl", *sorted(self.files)]

    def open(self, path: str, flags: int) -> int:
        return 0

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self.files[path[1:]][offset:offset + size]

    def setxattr(self, path: str, name: str, value: bytes, options: int,
                 position: int = 0) -> int:
        text = value.decode()
        if name == "user.change":
            file, _, content = text.partition("=")
            if content:
                self.files[file] = content.encode()
            else:
                self.files.pop(file, None)
        elif name == "user.invalidate":
            result: list[bool] = []
            worker = threading.Thread(target=lambda: result.append(
                kernel_cache.invalidate_path(text)))
            worker.start()
            worker.join(10)
            self.answer = b"1" if result == [True] else b"0"
        elif name == "user.keep_invalidating":
            threading.Thread(target=_keep_invalidating, args=(text,), daemon=True).start()
        return 0

    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        if name == "user.invalidated":
            return self.answer
        raise OSError(errno.ENODATA, "")


def _keep_invalidating(path: str) -> None:
    while True:   # events arriving fast, not a spin: a call caught between its check and
        kernel_cache.invalidate_path(path)   # libfuse's freeing is the one window left
        time.sleep(0.0005)


def main() -> None:
    mount_class("libfuse3")(CacheFS(), sys.argv[1], raw_fi=False, foreground=True,
                            nothreads=False, attr_timeout=3600, entry_timeout=3600,
                            negative_timeout=3600, fsname="cachetest", max_threads=4,
                            max_idle_threads=4)


if __name__ == "__main__":
    main()
