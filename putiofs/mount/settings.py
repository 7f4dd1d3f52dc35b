"""The options handed to libfuse: ``-o`` parsed into ours and libfuse's, and the kernel's cache
timeouts.

Kernel cache timeouts are deliberate: entries and attributes are trusted by the kernel for
``min(cache_ttl, 5)`` seconds (never 0, which would send every ``stat`` to Python). Missing
names are not trusted at all (``negative_timeout`` 0, libfuse's default): a lookup of a name
that does not exist is answered from the mount's own cache, without an API call while the
folder's listing is fresh, and the moment the mount learns of a name made elsewhere (a
relisting, a rename that finds its target taken) ``stat`` sees it as well.
Changes made through the mount update the kernel's entries at once; a change made elsewhere
shows after at most ``cache_ttl + min(cache_ttl, 5)`` seconds. With realtime events on
(``options.events``, :mod:`putiofs.tree.live_updates`) the kernel keeps them for
``min(cache_ttl, 1)`` seconds instead: libfuse 2's high-level API cannot drop a path from the
kernel's caches when an event arrives, so a short timeout is what makes the change visible
within about a second (each extra ``stat`` is answered from the cache, without an API call).

``--debug`` turns on our own debug log (redacted), never libfuse's ``-d``, which would print
every request.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from putiofs.front.options import MountOptions
from putiofs.mount.checks import MountError
from putiofs.tree.live_updates import KERNEL_TTL_LIVE

KERNEL_TTL_MAX = 5.0

#: The FUSE bindings putiofs can mount with, and the environment variable that picks one.
BINDINGS = ("libfuse3", "libfuse2")
DEFAULT_BINDING = "libfuse3"
BINDING_ENV = "PUTIOFS_FUSE"


#: What mount(8) and fstab pass along that is not for the filesystem: when the mount happens
#: (``noauto``, ``auto``, ``_netdev``, ``nofail``, ``x-systemd.*`` and any other ``x-``
#: option), who may mount (``user``, ``users``, ``nouser``, ``owner``, ``group``), fstab's
#: ``defaults`` and ``comment=``. Dropped, not handed to libfuse, which refuses them.
#: (``rw``, ``ro``, ``dev``/``nodev``, ``suid``/``nosuid``, ``exec``/``noexec``, ``sync``,
#: ``noatime`` ... are libfuse's own mount flags and reach it.)
MOUNT8_ONLY = frozenset({"noauto", "auto", "_netdev", "nofail", "defaults", "user", "users",
                         "nouser", "owner", "group", "comment"})


def is_mount8_only(key: str) -> bool:
    """An ``-o`` key meant for mount(8) or systemd, not for the filesystem."""
    return key in MOUNT8_ONLY or key.startswith("x-")


#: Options libfuse 3 refuses: it mounts over a non-empty folder anyway, and big writes and
#: atomic O_TRUNC are on by default there.
_LIBFUSE2_ONLY = ("nonempty", "big_writes", "atomic_o_trunc")


@dataclass(frozen=True)
class MountOption:
    """One ``-o`` key the mount documents: ``value`` is its argument's name (None: a flag)."""

    key: str
    value: str | None
    help: str

    @property
    def usage(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


#: The ``-o`` keys ``putiofs mount --help`` lists: the one table, which the help is made from
#: (any other key goes to libfuse as it is).
MOUNT_OPTIONS = (
    MountOption("allow_other", None, "let other users use the mount (as root, or with "
                "user_allow_other in /etc/fuse.conf)"),
    MountOption("uid", "N", "the owner every item shows (default: the mounting user)"),
    MountOption("gid", "N", "the group every item shows (default: the mounting user's)"),
    MountOption("umask", "MASK", "permission bits taken away from the modes items start "
                "from, files 0666 and folders 0777 (octal, default 022; 002 for a group "
                "that writes); chmod still sets any mode"),
    MountOption("ro", None, "read-only: nothing is written to put.io"),
    MountOption("rw", None, "writable where the API can write (the default)"),
    MountOption("show_control", None, "list /.putio in the root (it is reachable by path "
                "anyway)"),
    MountOption("fuse", "|".join(BINDINGS), f"the FUSE library (default ${BINDING_ENV}, else "
                f"{DEFAULT_BINDING})"),
    MountOption("read_ahead_kb", "N", "the kernel's read-ahead for this mount, in KiB "
                "(default: what suits streaming)"),
    MountOption("thumbnails", None, "write put.io's screenshots of listed videos as "
                "freedesktop thumbnails (--thumbnails)"),
    MountOption("no_subtitles", None, "show no .srt sidecars of put.io's subtitles beside "
                "the videos (--no-subtitles)"),
    MountOption("nonempty", None, "mount over a folder that is not empty (libfuse 3 always "
                "does)"),
)


def mount_options_help() -> str:
    """The ``-o`` keys of :data:`MOUNT_OPTIONS`, one per line, for ``putiofs mount --help``."""
    width = max(len(option.usage) for option in MOUNT_OPTIONS) + 4
    lines = [textwrap.fill(option.help, 79, initial_indent=f"  {option.usage}".ljust(width),
                           subsequent_indent=" " * width) for option in MOUNT_OPTIONS]
    return "-o options (comma-separated; any other goes to libfuse as it is):\n" + \
        "\n".join(lines)


@dataclass
class FuseSettings:
    """Options passed to libfuse, parsed from ``-o a,b=c`` minus the ones putiofs consumes."""

    allow_other: bool = False
    binding: str | None = None   # -o fuse=...; None: $PUTIOFS_FUSE, else DEFAULT_BINDING
    read_ahead_kb: int | None = None   # -o read_ahead_kb=...; None: see read_ahead_for
    extra: dict[str, str | bool] = field(default_factory=dict)


def parse_o_options(values: list[str], options: MountOptions) -> FuseSettings:
    """Split ``-o`` strings into our own options (uid, gid, ro, show_control, fuse,
    read_ahead_kb) and libfuse's, dropping what is mount(8)'s (:func:`is_mount8_only`)."""
    settings = FuseSettings()
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            key, sep, arg = item.partition("=")
            if is_mount8_only(key):
                continue
            if key in ("uid", "gid"):
                if not arg.isdigit():
                    raise MountError(f"-o {key}= needs a number, got {arg!r}")
                setattr(options, key, int(arg))
            elif key == "ro":
                options.read_only = True
                settings.extra["ro"] = True
            elif key == "rw":
                options.read_only = False
            elif key == "allow_other":
                settings.allow_other = True
            elif key == "show_control":
                options.show_control = True
            elif key == "thumbnails":
                options.thumbnails = True
            elif key == "no_subtitles":
                options.subtitles = False
            elif key == "fuse":
                settings.binding = check_binding(arg, "-o fuse=")
            elif key == "umask":
                try:
                    options.umask = int(arg, 8) & 0o777
                except ValueError:
                    raise MountError(f"-o umask= needs an octal mask, got {arg!r}") from None
            elif key == "read_ahead_kb":
                if not arg.isdigit():
                    raise MountError(f"-o read_ahead_kb= needs a number of KiB, got {arg!r}")
                settings.read_ahead_kb = int(arg)
            else:
                settings.extra[key] = arg if sep else True
    return settings


def kernel_ttl(cache_ttl: float, *, events: bool = False) -> float:
    return max(0.1, min(cache_ttl, KERNEL_TTL_LIVE if events else KERNEL_TTL_MAX))


def fuse_kwargs(options: MountOptions, settings: FuseSettings, *,
                foreground: bool, binding: str = "libfuse2") -> dict[str, Any]:
    ttl = kernel_ttl(options.cache_ttl, events=options.events)
    kwargs: dict[str, Any] = {
        "foreground": foreground,
        "nothreads": False,
        "fsname": "putio",
        "subtype": "putiofs",
        "use_ino": True,
        "default_permissions": True,
        "auto_cache": True,
        "attr_timeout": ttl,
        "entry_timeout": ttl,
        # Missing names are not cached by the kernel (libfuse's default): the mount may
        # learn of a name another client made at any call (a relisting, a rename that finds
        # its target), and a kernel that still said ENOENT would contradict it.
        "negative_timeout": 0,
        # Writing: open(O_TRUNC) arrives as one open with O_TRUNC (not a truncate before it),
        # and writes come in requests of up to 128 KiB instead of 4 KiB.
        "atomic_o_trunc": True,
        "big_writes": True,
    }
    if settings.allow_other:
        kwargs["allow_other"] = True
    kwargs.update(settings.extra)
    if binding == "libfuse3":
        for key in _LIBFUSE2_ONLY:
            kwargs.pop(key, None)
        # Both set: libfuse 3.14's fuse_main otherwise uses 10 threads, and prints "Ignoring
        # invalid max threads value 4294967295" on stderr for the unset idle-thread limit.
        kwargs.setdefault("max_threads", 16)
        kwargs.setdefault("max_idle_threads", 16)
    return kwargs


def check_binding(name: str, source: str) -> str:
    """``name`` if it is one of :data:`BINDINGS`, else a MountError naming ``source``."""
    if name not in BINDINGS:
        raise MountError(f"{source}{name!r} is not a FUSE binding putiofs knows; use one of "
                         f"{', '.join(BINDINGS)}")
    return name
