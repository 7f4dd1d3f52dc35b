"""The ``putiofs`` command: mount, umount, demo, the emulator, login / logout, and the API
subcommands (transfers, events, urls, messages, subscriptions, user, ls, search, info; see
``putiofs.commands``).

Start-up failures (a :class:`~putiofs.api.errors.UserError`) print one line,
``putiofs: error: ...``, and exit non-zero; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from putiofs import __version__
from putiofs.api.errors import PutioError, UserError
from putiofs.config import Settings, load_settings
from putiofs.connect import Connection, open_for_mount
from putiofs.front.operations import PutioFS, build_operations
from putiofs.front.options import MountOptions
from putiofs.logs import setup_logging
from putiofs.mount import kernel_cache
from putiofs.mount.binding import load_binding
from putiofs.mount.checks import (
    check_fuse_device,
    check_mountpoint,
    is_stale_mount,
    unmount_command,
)
from putiofs.mount.run import run_mount as fuse_main
from putiofs.mount.settings import FuseSettings, parse_o_options
from putiofs.tree.live_updates import LIVE_TTL, LiveUpdates, attach
from putiofs.write.spool import account_dir, default_cache_dir, parse_size, user_key

log = logging.getLogger("putiofs")

DEFAULT_TIMEOUT = 60.0
DEFAULT_CACHE_TTL = 30.0


def _add_mount_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", dest="o_options", action="append", default=[], metavar="OPTS",
                        help="mount options, comma-separated: allow_other, uid=N, gid=N, ro, "
                             "show_control (list /.putio in the root), and any libfuse option")
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
    parser.add_argument("--cache-max-size", type=_size, default="10G", metavar="SIZE",
                        help="the most bytes waiting for upload; a write past it fails with "
                             "ENOSPC (default 10G; K, M, G suffixes)")
    parser.add_argument("--upload-wait", type=float, default=300.0, metavar="SECONDS",
                        help="how long unmount waits for pending uploads (default 300; 0: do "
                             "not wait, they stay in the cache for the next mount)")
    parser.add_argument("--upload-chunk-size", type=_size, default="32M", metavar="SIZE",
                        help=argparse.SUPPRESS)
    parser.add_argument("--debug", action="store_true", help="log every call (secrets redacted)")
    parser.add_argument("--log-file", type=Path, metavar="FILE", help="write the log here")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="putiofs", description="Mount a put.io account as a local directory.")
    parser.add_argument("--version", action="version", version=f"putiofs {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    mount = commands.add_parser("mount", help="mount your put.io account",
                                description="Mount the account you signed in to with "
                                "putiofs login (or given by PUTIO_TOKEN, or by PUTIO_API_KEY / "
                                "PUTIO_API_SECRET for the API v1, or ~/.config/putiofs/config) "
                                "at MOUNTPOINT.")
    mount.add_argument("mountpoint", type=Path)
    mount.add_argument("-f", "--foreground", action="store_true",
                       help="stay in the foreground (default: run in the background)")
    mount.add_argument("--insecure", action="store_true",
                       help="allow a plain-http API URL that is not on this machine")
    _add_mount_arguments(mount)

    umount = commands.add_parser("umount", help="unmount a putiofs mount")
    umount.add_argument("mountpoint", type=Path)
    umount.add_argument("-z", "--lazy", action="store_true",
                        help="detach now even if files are open (reads in flight end with EIO)")

    demo = commands.add_parser("demo", help="mount the emulator's demo library (no account "
                               "needed) in the foreground")
    demo.add_argument("mountpoint", type=Path, nargs="?", default=Path.home() / "putio")
    demo.add_argument("--api", choices=("v1", "v2"), default="v2",
                      help="the API version the emulator speaks (default v2, what put.io "
                           "gives its users today)")
    _add_mount_arguments(demo)

    from putiofs.emulator import command as emulator_command

    emulator = commands.add_parser("emulator", help="run a put.io API emulator (v1 or v2)")
    emulator_command.add_arguments(emulator)

    from putiofs import commands as api_commands

    api_commands.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
        if args.command == "umount":
            return unmount(args.mountpoint, lazy=args.lazy)
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


def unmount(mountpoint: Path, *, lazy: bool = False) -> int:
    if not os.path.ismount(mountpoint) and not is_stale_mount(mountpoint):
        raise UserError(f"{mountpoint} is not mounted")
    result = subprocess.run(unmount_command(mountpoint, lazy=lazy), capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown reason"])[-1]
        if "busy" in reason.lower():
            raise UserError(f"could not unmount {mountpoint}: files are open (close them, or "
                           f"detach now with: putiofs umount --lazy {mountpoint})")
        raise UserError(f"could not unmount {mountpoint}: {reason}")
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
                           upload_wait=max(0.0, args.upload_wait),
                           upload_chunk_size=args.upload_chunk_size)
    return options, parse_o_options(args.o_options, options)


def _listen(args: argparse.Namespace, connection: Connection, operations: PutioFS,
            options: MountOptions) -> LiveUpdates | None:
    """Realtime events (API v2, unless ``--no-events``): the cache's TTL is ``--cache-ttl``
    if given, else 600 s while they are live (30 s while not)."""
    if not args.events:
        return None
    control = operations.control
    updates = attach(connection.backend, operations.tree.cache,
                     live_ttl=LIVE_TTL if args.cache_ttl is None else options.cache_ttl,
                     transfers_changed=control.transfers_changed if control else lambda: None,
                     invalidate=kernel_cache.invalidate_path, start=False)
    if updates is not None:
        operations.when_mounted.append(updates.start)
    options.events = updates is not None
    return updates


def _serve(args: argparse.Namespace, settings: Settings, *, foreground: bool,
           announce: str | None = None) -> int:
    """Check, connect, then mount; ``announce`` is printed once everything but the mount
    itself has succeeded."""

    options, fuse_settings = _mount_options(args)
    mountpoint = args.mountpoint.expanduser().absolute()
    check_mountpoint(mountpoint, nonempty=bool(fuse_settings.extra.get("nonempty")))
    check_fuse_device()
    load_binding()
    connection = open_for_mount(settings, timeout=options.call_deadline)
    if connection.backend.capabilities.write_contents and not options.read_only:
        options.spool_dir = _spool_dir(args, settings, connection)
    operations = build_operations(connection.backend, options, connection.services)
    updates = _listen(args, connection, operations, options)
    if announce:
        print(announce, file=sys.stderr, flush=True)
    log.info("mounting put.io (%s) at %s", settings.api_url, mountpoint)
    try:
        fuse_main(operations, mountpoint, options, fuse_settings, foreground=foreground)
    finally:
        if updates is not None:
            updates.stop()
        connection.close()
    log.info("unmounted %s", mountpoint)
    return 0


def _spool_dir(args: argparse.Namespace, settings: Settings, connection: Connection) -> Path:
    """The account's folder in the cache (keyed by API URL and user, never by the token)."""
    try:
        account = connection.services.account()
        user = user_key(account.user_name, account.user_id)
    except PutioError as exc:
        connection.close()
        raise UserError(f"cannot ask put.io who the account is ({type(exc).__name__}); "
                       "written files need it to find their cache folder") from None
    cache_dir = (args.cache_dir or default_cache_dir()).expanduser().absolute()
    folder = account_dir(cache_dir, settings.api_url, user)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        connection.close()
        raise UserError(f"cannot use the cache folder {folder}: {exc.strerror}") from None
    return folder


def run_mount(args: argparse.Namespace) -> int:
    log_file = args.log_file
    if log_file is None and not args.foreground:
        log_file = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
            "putiofs" / "putiofs.log"
    settings = load_settings(insecure=args.insecure)
    setup_logging(debug=args.debug, log_file=log_file)
    announce = None
    if not args.foreground:
        announce = f"putiofs: mounting at {args.mountpoint} in the background; log: {log_file}"
    return _serve(args, settings, foreground=args.foreground, announce=announce)


def run_demo(args: argparse.Namespace) -> int:
    from putiofs.emulator import EmulatorOptions, EmulatorServer

    mountpoint = args.mountpoint.expanduser()
    if not is_stale_mount(mountpoint) and not os.path.ismount(mountpoint):
        try:
            mountpoint.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create mountpoint {mountpoint}: {exc.strerror}") from None
    setup_logging(debug=args.debug, log_file=args.log_file)
    # Credentials of this one run, never printed: nobody types them, and a word like "demo"
    # registered as a secret would be masked out of every log line that mentions the demo.
    if args.api == "v2":
        options = EmulatorOptions(host="127.0.0.1", port=0, demo=True, api="v2",
                                  token=secrets.token_urlsafe(24))
    else:
        options = EmulatorOptions(host="127.0.0.1", port=0, demo=True,
                                  api_key=secrets.token_hex(12),
                                  api_secret=secrets.token_hex(16))
    server = EmulatorServer(options)
    server.start()
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
              "Press Ctrl-C here to unmount and stop.", file=sys.stderr, flush=True)
        return _serve(args, settings, foreground=True)
    finally:
        server.stop()
