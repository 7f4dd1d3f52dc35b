"""The composition root of a mount: plain values in (the account's settings, the mountpoint, the
options), a served mount out. ``putiofs mount`` and ``putiofs demo`` both end here.

:func:`serve` checks, connects, then mounts, cheapest failure first: the mountpoint, ``/dev/fuse``
and the FUSE binding, Pillow for ``--thumbnails`` (before anything connects to put.io), the
account (:func:`putiofs.connect.open_for_mount`), the spool folder (when the account takes
written files and the mount is not read-only), the operations
(:func:`putiofs.front.operations.build_operations`, which opens the account's store of modes and
owners there), realtime events, the thumbnails' writer, the subtitles' sidecars, and last
libfuse's loop
until unmounted. Every failure before the loop is a :class:`~putiofs.api.errors.UserError` of
one line.
"""

from __future__ import annotations

import logging
from pathlib import Path

from putiofs.api.errors import PutioError, UserError
from putiofs.config import Settings
from putiofs.connect import Connection, open_for_mount
from putiofs.front.attributes import NS_PER_SECOND
from putiofs.front.operations import PutioFS, build_operations
from putiofs.front.options import MountOptions
from putiofs.hooks.runner import HookRunner
from putiofs.mount import kernel_cache
from putiofs.mount.binding import caller_of, chosen_binding, load_binding
from putiofs.mount.checks import MountError, check_fuse_device, check_mountpoint
from putiofs.mount.run import run_mount
from putiofs.mount.settings import FuseSettings
from putiofs.subtitles.sidecars import Sidecars
from putiofs.thumbnails.image import require_pillow
from putiofs.thumbnails.naming import default_root
from putiofs.thumbnails.writer import Thumbnails, owner_of
from putiofs.tree.live_updates import LIVE_TTL, LiveUpdates, attach
from putiofs.write.spool import account_dir, default_cache_dir, user_key

# The logger the command has always logged "mounting ..." and "unmounted ..." with.
log = logging.getLogger("putiofs")


def serve(settings: Settings, mountpoint: Path, options: MountOptions,
          fuse_settings: FuseSettings, *, foreground: bool, events: bool = True,
          live_ttl: float | None = None, cache_dir: Path | None = None,
          announce: str | None = None, keep_stderr: bool = False) -> int:
    """Check, connect, then mount the account of ``settings`` at ``mountpoint`` and serve it
    until unmounted; 0 then.

    ``events``: listen to realtime events where the API has them (see :func:`listen` for
    ``live_ttl``). ``cache_dir``: where the account's spool folder is made (None: the default
    cache folder). ``announce`` is printed on stderr by a background mount's command once the
    mount is up; its process keeps stderr if ``keep_stderr`` (the log goes there). ``options``
    is completed here (``spool_dir``, ``events``).
    """
    mountpoint = mountpoint.expanduser().absolute()
    check_mountpoint(mountpoint, nonempty=bool(fuse_settings.extra.get("nonempty")))
    check_fuse_device()
    load_binding()
    if options.thumbnails:
        require_pillow()
    caller = caller_of(chosen_binding(fuse_settings))
    connection = open_for_mount(settings, timeout=options.call_deadline)
    if connection.backend.capabilities.write_contents and not options.read_only:
        options.spool_dir = spool_dir(connection, settings.api_url, cache_dir)
    if options.read_cache_size != 0:
        # the read cache lives in the account's folder too, read-only and v1 mounts included
        options.read_cache_dir = options.spool_dir or read_cache_home(
            connection, settings.api_url, cache_dir)
    try:
        operations = build_operations(connection.backend, options, connection.services,
                                      caller=caller, invalidate=kernel_cache.invalidate_path)
    except UserError:  # e.g. the account's store of modes and owners cannot be opened
        connection.close()
        raise
    hooks = change_hooks(connection, operations, options, mountpoint)
    updates = listen(connection, operations, options, live_ttl) if events else None
    thumbnails = write_thumbnails(connection, operations, options, mountpoint)
    sidecars = show_subtitles(connection, operations, options)
    log.info("mounting put.io (%s) at %s", settings.api_url, mountpoint)
    try:
        run_mount(operations, mountpoint, options, fuse_settings, foreground=foreground,
                  announce=announce, keep_stderr=keep_stderr)
    finally:
        if updates is not None:
            updates.stop()
        if thumbnails is not None:
            thumbnails.stop()
        if hooks is not None:
            hooks.stop()
        if sidecars is not None:
            sidecars.stop()
        connection.close()
    log.info("unmounted %s", mountpoint)
    return 0


def change_hooks(connection: Connection, operations: PutioFS, options: MountOptions,
                 mountpoint: Path) -> HookRunner | None:
    """``--on-change``: a runner fed by the tree's change feed, started once mounted; None
    without the option."""
    if not options.on_change:
        return None
    feed = operations.tree.changes
    runner = HookRunner(options.on_change, mountpoint,
                        lambda changes: feed.resolve(changes, connection.backend.lookup),
                        timeout=options.on_change_timeout)
    feed.attach(runner.submit)
    operations.when_mounted.append(runner.start)
    return runner


def listen(connection: Connection, operations: PutioFS, options: MountOptions,
           live_ttl: float | None = None) -> LiveUpdates | None:
    """Realtime events (API v2), started once mounted; None where the API has none. While they
    are live the cache trusts a listing for ``live_ttl`` seconds (None: ``LIVE_TTL``, 600 s),
    else for ``options.cache_ttl``. Sets ``options.events``."""
    updates = attach(connection.backend, operations.tree.cache,
                     live_ttl=LIVE_TTL if live_ttl is None else live_ttl,
                     transfers_changed=operations.control.transfers_changed,
                     invalidate=kernel_cache.invalidate_path,
                     changes=operations.tree.changes, start=False)
    if updates is not None:
        operations.when_mounted.append(updates.start)
        if operations.status is not None:
            operations.status.events = updates
    options.events = updates is not None
    return updates


def read_cache_home(connection: Connection, api_url: str,
                    cache_dir: Path | None = None) -> Path | None:
    """The account's folder for a mount that writes no files (read-only, v1): as
    :func:`spool_dir`, but a failure is not fatal (the mount then reads from put.io alone)."""
    try:
        return _account_folder(connection, api_url, cache_dir)
    except PutioError as exc:
        log.warning("no read cache: cannot ask put.io who the account is (%s)",
                    type(exc).__name__)
    except OSError as exc:
        log.warning("no read cache: cannot use the cache folder: %s", exc.strerror)
    return None


def spool_dir(connection: Connection, api_url: str, cache_dir: Path | None = None) -> Path:
    """The account's folder in ``cache_dir`` (None: the default cache folder), made if need be
    (mode 0700): keyed by API URL and user, never by the token. A MountError, with the
    connection closed, if the account or the folder cannot be had."""
    try:
        return _account_folder(connection, api_url, cache_dir)
    except PutioError as exc:
        connection.close()
        raise MountError(f"cannot ask put.io who the account is ({type(exc).__name__}); "
                         "written files need it to find their cache folder") from None
    except OSError as exc:
        connection.close()
        raise MountError(f"cannot use the cache folder {exc.filename}: {exc.strerror}") \
            from None


def _account_folder(connection: Connection, api_url: str, cache_dir: Path | None) -> Path:
    account = connection.services.account()
    user = user_key(account.user_name, account.user_id)
    cache_dir = (cache_dir or default_cache_dir()).expanduser().absolute()
    folder = account_dir(cache_dir, api_url, user)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def write_thumbnails(connection: Connection, operations: PutioFS, options: MountOptions,
                     mountpoint: Path) -> Thumbnails | None:
    """``--thumbnails``: listed videos' screenshots written as freedesktop thumbnails of their
    mount paths (under ``$XDG_CACHE_HOME/thumbnails``, see :mod:`putiofs.thumbnails`), with
    the mtime ``stat`` shows; started once mounted. None without the option."""
    if not options.thumbnails:
        return None
    attributes = operations.tree.attributes
    root = default_root()
    thumbnails = Thumbnails(
        operations.tree.cache, connection.backend.http_session, mountpoint,
        lambda entry: attributes.stat(entry)["st_mtime"] // NS_PER_SECOND, root=root,
        owner=owner_of(root), timeout=min(20.0, options.call_deadline))
    operations.tree.cache.listing_observers.append(thumbnails.listed)
    operations.when_mounted.append(thumbnails.start)
    return thumbnails


def show_subtitles(connection: Connection, operations: PutioFS,
                   options: MountOptions) -> Sidecars | None:
    """put.io's subtitles of listed videos as ``.srt`` sidecars (see :mod:`putiofs.subtitles`),
    learnt in the background once mounted; the kernel is told when a folder's are known. None
    with ``--no-subtitles`` or where the API has no subtitles (v1)."""
    if not options.subtitles or not connection.backend.capabilities.subtitles:
        return None
    sidecars = Sidecars(operations.tree.cache, connection.backend,
                        invalidate=kernel_cache.invalidate_path,
                        timeout=min(20.0, options.call_deadline))
    operations.tree.cache.listing_observers.append(sidecars.listed)
    operations.sidecars.attach(sidecars)
    operations.when_mounted.append(sidecars.start)
    return sidecars
