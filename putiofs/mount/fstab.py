"""mount(8)'s calling form: ``putiofs SOURCE MOUNTPOINT -o OPTIONS``, as ``putiofs mount``.

``mount -t fuse.putiofs putio /mnt/putio -o config=...`` (or the same fstab line) runs the
``mount.fuse3`` helper, which runs ``putiofs putio /mnt/putio -o rw,config=...,dev,suid``
through ``/bin/sh`` (with no ``PATH`` of its own: the shell's default finds
``/usr/local/bin/putiofs``); a ``/sbin/mount.fuse.putiofs`` link to putiofs is run by mount(8)
itself, with ``-t fuse.putiofs`` (and maybe ``-n``, ``-s``, ``-v``) after the options, which
are dropped. :func:`mount_argv` turns that into the ``putiofs mount`` argv.

One table, no second parser: every long option of ``putiofs mount`` is also an ``-o`` key,
its name with ``_`` for ``-`` (:func:`option_keys`, read off the parser itself): ``config=FILE``
is ``--config FILE``, ``cache_dir=DIR`` ``--cache-dir DIR``, ``no_events`` ``--no-events``,
``foreground`` ``--foreground``... A key that names a flag without a value takes none. What
no option names stays an ``-o`` option (``allow_other``, ``uid=``, ``umask=``..., and what
mount(8) passes along, which :func:`putiofs.mount.settings.parse_o_options` drops). argparse
then checks every value as it checks the flags.

SOURCE (fstab's first field) is a label: putiofs takes the account from ``config=``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from putiofs.mount.checks import MountError

#: What mount(8) adds when it runs a helper named ``mount.fuse.putiofs`` itself (``-t TYPE``,
#: ``-N NAMESPACE``, ``-n`` no mtab, ``-s`` sloppy, ``-v`` verbose): dropped.
_HELPER_VALUED = ("-t", "-N")
_HELPER_FLAGS = ("-n", "-s", "-v")


def option_keys(mount_parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """``-o`` key -> the ``putiofs mount`` option it stands for: each long option shown in
    the help (not ``--help``, not ``-o`` itself)."""
    keys: dict[str, argparse.Action] = {}
    for action in mount_parser._actions:
        if action.help == argparse.SUPPRESS or action.dest in ("help", "o_options"):
            continue
        for flag in action.option_strings:
            if flag.startswith("--"):
                keys[flag[2:].replace("-", "_")] = action
    return keys


def is_helper_form(argv: Sequence[str], commands: Sequence[str]) -> bool:
    """``SOURCE MOUNTPOINT ... -o OPTIONS``: neither of the first two an option or a command,
    and an ``-o`` after them (mount.fuse3 always passes one: ``rw`` at least)."""
    return (len(argv) >= 3 and not argv[0].startswith("-") and argv[0] not in commands
            and not argv[1].startswith("-")
            and any(arg == "-o" or arg.startswith("-o") for arg in argv[2:]))


def mount_argv(argv: Sequence[str], mount_parser: argparse.ArgumentParser) -> list[str]:
    """The ``putiofs mount`` argv of ``SOURCE MOUNTPOINT [-o OPTS | -oOPTS | other]...``."""
    keys = option_keys(mount_parser)
    result = ["mount", argv[1]]
    passed: list[str] = []
    rest = list(argv[2:])
    while rest:
        arg = rest.pop(0)
        if arg == "-o":
            if not rest:
                raise MountError("-o needs a list of options")
            options = rest.pop(0)
        elif arg.startswith("-o"):
            options = arg[2:]
        elif arg in _HELPER_VALUED:
            rest = rest[1:]   # -t fuse.putiofs, -N NAMESPACE: mount(8)'s, not ours
            continue
        elif arg in _HELPER_FLAGS:
            continue
        else:
            result.append(arg)
            continue
        for item in filter(None, (part.strip() for part in options.split(","))):
            key, sep, value = item.partition("=")
            action = keys.get(key)
            if action is None:
                passed.append(item)
            elif action.nargs == 0:
                if sep:
                    raise MountError(f"-o {key} takes no value (got {item!r})")
                result.append(action.option_strings[-1])
            elif not value:
                raise MountError(f"-o {key}= needs a value")
            else:
                result.append(f"{action.option_strings[-1]}={value}")
    if passed:
        result += ["-o", ",".join(passed)]
    return result
