"""The ``putiofs`` command: mount, umount, demo, the emulator, and the API subcommands, login /
logout among them (see :mod:`putiofs.commands`).

It parses the arguments and dispatches: a mount is wired by :mod:`putiofs.mount.compose`, which
gets plain values from here (``demo`` first starts the emulator it mounts).

Start-up failures (a :class:`~putiofs.api.errors.UserError`) print one line,
``putiofs: error: ...``, and exit non-zero; no traceback.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from putiofs import __version__
from putiofs.api.errors import UserError
from putiofs.config import API_VERSIONS, Settings, load_config_file, load_settings
from putiofs.front.options import MountOptions
from putiofs.logs import LEVELS, STDERR, setup_logging, stderr_is_journal
from putiofs.mount import compose, fstab
from putiofs.mount.checks import is_stale_mount, unmount_command
from putiofs.mount.settings import (
    MOUNT_OPTIONS,
    FuseSettings,
    mount_options_help,
    parse_o_options,
)
from putiofs.net.bandwidth import Bandwidth, Rates
from putiofs.write.spool import parse_size

#: ``--timeout`` and ``--cache-ttl`` by default: the mount options' own defaults (60 s, 30 s),
#: as every mount option's default is (the help texts say them in words).
DEFAULT_TIMEOUT = MountOptions.call_deadline
DEFAULT_CACHE_TTL = MountOptions.cache_ttl


def _add_mount_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", dest="o_options", action="append", default=[], metavar="OPTS",
                        help="mount options, comma-separated: "
                             f"{', '.join(option.usage for option in MOUNT_OPTIONS)} (see "
                             "below), and any libfuse option; under mount(8) and in fstab "
                             "also every --long-option below as key=value or key "
                             "(config=FILE, cache_dir=DIR, no_events...), and mount(8)'s own "
                             "(noauto, _netdev, nofail, x-systemd.*) are ignored")
    parser.add_argument("--cache-ttl", type=float, default=None, metavar="SECONDS",
                        help="how long folder listings are trusted (default 30; 600 while "
                             "put.io's realtime events are connected)")
    parser.add_argument("--no-events", dest="events", action="store_false",
                        help="do not listen to put.io's realtime events (API v2): changes "
                             "made elsewhere then show after --cache-ttl")
    parser.add_argument("--cache-entries", type=int, default=None, metavar="N",
                        help="how many listed items the cache keeps at most (default 200000)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="the longest any filesystem call may take before it fails with "
                             "EIO (default 60)")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="where written files wait for their upload (v2; default "
                             "$XDG_CACHE_HOME/putiofs or ~/.cache/putiofs)")
    parser.add_argument("--cache-max-size", type=_size, default=MountOptions.cache_max_size,
                        metavar="SIZE",
                        help="the most bytes waiting for upload; a write past it fails with "
                             "ENOSPC (default 10G; K, M, G suffixes)")
    parser.add_argument("--read-cache-size", type=_size, default=None, metavar="SIZE",
                        help="the most bytes of file contents kept in --cache-dir's read "
                             "cache, which a remount finds again (default 10G, or a quarter "
                             "of the disk's free space if less; 0 turns it off)")
    parser.add_argument("--upload-wait", type=float, default=MountOptions.upload_wait,
                        metavar="SECONDS",
                        help="how long unmount waits for pending uploads (default 300; 0: do "
                             "not wait, they stay in the cache for the next mount)")
    parser.add_argument("--upload-chunk-size", type=_size,
                        default=MountOptions.upload_chunk_size, metavar="SIZE",
                        help=argparse.SUPPRESS)
    parser.add_argument("--bwlimit", type=_rates, default=Rates(), metavar="RATE|UP:DOWN",
                        help="limit the bandwidth, as rclone's --bwlimit: 10M for both "
                             "directions, UP:DOWN for each (10M:off), off or 0 for none; "
                             "bytes/s with a binary suffix B, K, M, G (a plain number: KiB/s)")
    parser.add_argument("--thumbnails", action="store_true",
                        help="write put.io's screenshot of each video in a listed folder as "
                             "its freedesktop thumbnail ($XDG_CACHE_HOME/thumbnails), so file "
                             "managers read none of the video (needs putiofs[thumbnails])")
    parser.add_argument("--on-change", metavar="COMMAND",
                        help="run COMMAND with /bin/sh for the changes the mount learns of "
                             "(batched), with $PUTIOFS_EVENT (created, changed, deleted, "
                             "moved), $PUTIOFS_PATH and, for moves, $PUTIOFS_OLD_PATH: e.g. to "
                             "tell Jellyfin or Plex (see docs/home-server.md)")
    parser.add_argument("--on-change-timeout", type=float,
                        default=MountOptions.on_change_timeout, metavar="SECONDS",
                        help="kill an --on-change run that takes longer (default 60)")
    parser.add_argument("--no-subtitles", dest="subtitles", action="store_false",
                        help="show no <video>.<language>.srt sidecars of put.io's subtitles "
                             "beside the videos (shown by default where the API has them)")
    parser.add_argument("--debug", action="store_true",
                        help="log every call (secrets redacted); the same as --log-level debug")
    parser.add_argument("--log-level", choices=LEVELS, default=None,
                        help="the least severe lines logged (default info)")
    parser.add_argument("--log-file", type=Path, metavar="FILE",
                        help="write the log here; - for stderr (default: stderr in the "
                             "foreground or under systemd's journal, else "
                             "~/.cache/putiofs/putiofs.log)")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _EpilogAsWritten(argparse.HelpFormatter):
    """Wraps the description as argparse does, keeps the epilog's lines (a table) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line + "\n" for line in text.splitlines())
        return super()._fill_text(text, width, indent)


def _rates(text: str) -> Rates:
    try:
        return Rates.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="putiofs", description="Mount a put.io account as a local directory.")
    parser.add_argument("-V", "--version", action="version", version=f"putiofs {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    mount = commands.add_parser("mount", help="mount your put.io account",
                                description="Mount the account you signed in to with "
                                "putiofs login (or given by PUTIO_TOKEN, or by PUTIO_API_KEY / "
                                "PUTIO_API_SECRET for the API v1, or ~/.config/putiofs/config) "
                                "at MOUNTPOINT.", epilog=mount_options_help(),
                                formatter_class=_EpilogAsWritten)
    mount.add_argument("mountpoint", type=Path)
    mount.add_argument("-f", "--foreground", action="store_true",
                       help="stay in the foreground (default: run in the background)")
    mount.add_argument("--insecure", action="store_true",
                       help="allow a plain-http API URL that is not on this machine")
    mount.add_argument("--config", type=Path, metavar="FILE",
                       help="take the account from this config file alone (as putiofs login "
                            "writes it, mode 0600; the PUTIO_* environment is not read)")
    _add_mount_arguments(mount)

    umount = commands.add_parser("umount", help="unmount a putiofs mount")
    umount.add_argument("mountpoint", type=Path)
    umount.add_argument("-z", "--lazy", action="store_true",
                        help="detach now even if files are open (reads in flight end with EIO)")
    umount.add_argument("--upload-wait", type=float, default=None, metavar="SECONDS",
                        help="how long to wait for pending uploads, saying what is left "
                             "(default: as long as the mount waits, its own --upload-wait)")

    demo = commands.add_parser("demo", help="mount the emulator's demo library (no account "
                               "needed) in the foreground")
    demo.add_argument("mountpoint", type=Path, nargs="?", default=Path.home() / "putio")
    demo.add_argument("--api", choices=API_VERSIONS, default="v2",
                      help="the API version the emulator speaks (default v2, what put.io "
                           "gives its users today)")
    _add_mount_arguments(demo)

    from putiofs.emulator import command as emulator_command

    emulator = commands.add_parser("emulator", help="run a put.io API emulator (v1 or v2)")
    emulator_command.add_arguments(emulator)

    from putiofs import commands as api_commands

    api_commands.add_parsers(commands)

    from putiofs.commands.local.manual import SHELLS

    completion = commands.add_parser(
        "completion", help="print a shell completion script",
        description="Print the completion script of SHELL for putiofs, made from its own "
                    "argument parser. bash: putiofs completion bash > "
                    "~/.local/share/bash-completion/completions/putiofs; zsh: save it as "
                    "_putiofs in a folder of $fpath; fish: putiofs completion fish > "
                    "~/.config/fish/completions/putiofs.fish.")
    completion.add_argument("shell", choices=SHELLS)
    commands.add_parser("man", help="print the man page (roff)",
                        description="Print the man page of putiofs, made from its own argument "
                                    "parser: putiofs man | man -l -")
    return parser


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each ``putiofs`` command, by name."""
    return next(action.choices for action in parser._actions
                if isinstance(action, argparse._SubParsersAction))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = subcommand_parsers(parser)
    if fstab.is_helper_form(argv, list(commands)):
        # mount(8) / fstab: putiofs SOURCE MOUNTPOINT -o OPTIONS (putiofs.mount.fstab)
        try:
            argv = fstab.mount_argv(argv, commands["mount"])
        except UserError as exc:
            print(f"putiofs: error: {exc}", file=sys.stderr)
            return 1
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        from putiofs import commands as api_commands

        if api_commands.is_api_command(args):
            return api_commands.run(args)
        if args.command == "emulator":
            from putiofs.emulator import command as emulator_command

            return emulator_command.run(args)
        if args.command in ("completion", "man"):
            from putiofs.commands.local import manual

            print(manual.completion(parser, args.shell) if args.command == "completion"
                  else manual.man_page(parser, __version__), end="")
            return 0
        if args.command == "umount":
            return unmount(args.mountpoint, lazy=args.lazy, upload_wait=args.upload_wait)
        if args.command == "demo":
            return run_demo(args)
        return run_mount(args)
    except UserError as exc:
        print(f"putiofs: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # ``putiofs transfers list | head``: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def unmount(mountpoint: Path, *, lazy: bool = False, upload_wait: float | None = None) -> int:
    """Unmount, then follow the uploads the mount still has to send until they landed or the
    wait ran out, and say what is left (:mod:`putiofs.commands.local.unmounting`)."""
    from putiofs.commands.local import unmounting
    from putiofs.commands.local.mounts import read_mount_status

    if not os.path.ismount(mountpoint) and not is_stale_mount(mountpoint):
        raise UserError(f"{mountpoint} is not mounted")
    read_at = time.time()
    status = read_mount_status(mountpoint.absolute()).status
    result = subprocess.run(unmount_command(mountpoint, lazy=lazy), capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown reason"])[-1]
        if "busy" in reason.lower():
            raise UserError(f"could not unmount {mountpoint}: files are open (close them, or "
                            f"detach now with: putiofs umount --lazy {mountpoint})")
        raise UserError(f"could not unmount {mountpoint}: {reason}")
    if status is not None:
        unmounting.follow(status, mountpoint, read_at=read_at,
                          wait=0.0 if lazy else upload_wait)
    return 0


def _mount_options(args: argparse.Namespace) -> tuple[MountOptions, FuseSettings]:
    # A stream silent for a third of the budget is stalled: reopening it leaves time for two
    # more attempts within --timeout.
    timeout = max(1.0, args.timeout)
    if args.cache_entries is not None and args.cache_entries < 1:
        raise UserError("--cache-entries must be at least 1")
    ttl = DEFAULT_CACHE_TTL if args.cache_ttl is None else args.cache_ttl
    options = MountOptions(cache_ttl=max(0.1, ttl), cache_entries=args.cache_entries,
                           read_timeout=min(15.0, timeout / 3), call_deadline=timeout,
                           cache_max_size=args.cache_max_size,
                           read_cache_size=args.read_cache_size,
                           upload_wait=max(0.0, args.upload_wait),
                           upload_chunk_size=args.upload_chunk_size,
                           bandwidth=Bandwidth.limited(args.bwlimit),
                           thumbnails=args.thumbnails,
                           on_change=args.on_change or None,
                           on_change_timeout=max(1.0, args.on_change_timeout),
                           subtitles=args.subtitles)
    return options, parse_o_options(args.o_options, options)


def _serve(args: argparse.Namespace, settings: Settings, *, foreground: bool,
           announce: str | None = None, keep_stderr: bool = False) -> int:
    """Mount as the arguments say (see :func:`putiofs.mount.compose.serve`); ``--cache-ttl``,
    when given, is also the cache's TTL while realtime events are live."""
    options, fuse_settings = _mount_options(args)
    return compose.serve(settings, args.mountpoint, options, fuse_settings,
                         foreground=foreground, events=args.events,
                         live_ttl=None if args.cache_ttl is None else options.cache_ttl,
                         cache_dir=args.cache_dir, announce=announce,
                         keep_stderr=keep_stderr)


def run_mount(args: argparse.Namespace) -> int:
    log_file = args.log_file
    if log_file is None and not args.foreground and not stderr_is_journal():
        log_file = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
            "putiofs" / "putiofs.log"
    if args.config is not None:
        settings = load_config_file(args.config, insecure=args.insecure)
    else:
        settings = load_settings(insecure=args.insecure)
    setup_logging(debug=args.debug, log_file=log_file, level=args.log_level)
    announce = None
    to_stderr = log_file in (None, STDERR)
    if not args.foreground:
        where = "stderr" if to_stderr else log_file
        announce = f"putiofs: mounted at {args.mountpoint} (in the background); log: {where}"
    return _serve(args, settings, foreground=args.foreground, announce=announce,
                  keep_stderr=to_stderr)


def demo_commands(settings: Settings, mountpoint: Path) -> str:
    """How to run the other commands against the demo account: the exact environment lines.
    Its token (or key and secret) is this run's local emulator's, not a secret of put.io's."""
    # The running command's own path: scripts/demo's venv is on no other shell's PATH.
    prog = (str(Path(sys.argv[0]).absolute()) if Path(sys.argv[0]).name == "putiofs"
            else f"{sys.executable} -m putiofs")
    names = {"api": "PUTIO_API", "api_url": "PUTIO_API_URL"}
    names.update({"token": "PUTIO_TOKEN", "upload_url": "PUTIO_UPLOAD_URL",
                  "socket_url": "PUTIO_SOCKET_URL"} if settings.api == "v2" else
                 {"api_key": "PUTIO_API_KEY", "api_secret": "PUTIO_API_SECRET"})
    values = {name: getattr(settings, key) for key, name in names.items()
              if getattr(settings, key, None)}
    exports = " ".join(f"{name}={shlex.quote(str(value))}" for name, value in values.items())
    return ("To run the other commands against the demo account, paste this in that shell "
            "(the credentials are this run's local emulator's, not a put.io secret):\n"
            f"  export {exports}\n"
            f"  {prog} transfers list\n"
            f"  {prog} status {shlex.quote(str(mountpoint))}")


def run_demo(args: argparse.Namespace) -> int:
    from putiofs.emulator import EmulatorOptions, EmulatorServer

    mountpoint = args.mountpoint.expanduser()
    if not is_stale_mount(mountpoint) and not os.path.ismount(mountpoint):
        try:
            mountpoint.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create mountpoint {mountpoint}: {exc.strerror}") from None
    setup_logging(debug=args.debug, log_file=args.log_file, level=args.log_level)
    # Credentials of this one run, random: a word like "demo" registered as a secret would be
    # masked out of every log line that mentions the demo. The banner prints them (the logs
    # never do): they open only this run's emulator on 127.0.0.1, nothing of put.io's.
    if args.api == "v2":
        options = EmulatorOptions(host="127.0.0.1", port=0, demo=True, api="v2",
                                  token=secrets.token_urlsafe(24))
    else:
        options = EmulatorOptions(host="127.0.0.1", port=0, demo=True,
                                  api_key=secrets.token_hex(12),
                                  api_secret=secrets.token_hex(16))
    server = EmulatorServer(options)
    server.start()
    # The demo account lives as long as this run: so does what it wrote, unless --cache-dir
    # says where to keep it (nothing is left behind in ~/.cache/putiofs).
    scratch = None
    if args.cache_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="putiofs-demo-")
        args.cache_dir = Path(scratch.name)
    try:
        if args.api == "v2":
            settings = Settings(api="v2", api_url=server.base_url, token=options.token,
                                upload_url=server.root_url, socket_url=server.socket_url)
        else:
            settings = Settings(api_url=server.base_url, api_key=options.api_key,
                                api_secret=options.api_secret)
        print(f"putiofs demo: put.io {args.api} emulator at {server.base_url}; mounting the "
              f"demo library at {mountpoint.absolute()}\n"
              f"Browse it from another shell (ls -lR {mountpoint}). "
              "Press Ctrl-C here to unmount and stop.\n"
              f"{demo_commands(settings, mountpoint.absolute())}", file=sys.stderr, flush=True)
        return _serve(args, settings, foreground=True)
    finally:
        server.stop()
        if scratch is not None:
            scratch.cleanup()
