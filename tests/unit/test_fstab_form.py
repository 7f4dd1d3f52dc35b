"""mount(8)'s calling form (``putiofs SOURCE MOUNTPOINT -o OPTIONS``) read as ``putiofs
mount``: each long option is an ``-o`` key, mount(8)'s own options are dropped."""

from __future__ import annotations

import pytest

from putiofs.cli import build_parser, main, subcommand_parsers
from putiofs.front.options import MountOptions
from putiofs.mount import fstab
from putiofs.mount.settings import parse_o_options

COMMANDS = ["mount", "umount", "demo", "ls"]


def mount_parser():
    return subcommand_parsers(build_parser())["mount"]


def test_the_form_is_two_words_then_an_o():
    assert fstab.is_helper_form(["putio", "/mnt/putio", "-o", "rw"], COMMANDS)
    assert fstab.is_helper_form(["putio", "/mnt/putio", "-orw"], COMMANDS)
    assert not fstab.is_helper_form(["mount", "/mnt/putio", "-o", "rw"], COMMANDS)
    assert not fstab.is_helper_form(["putio", "/mnt/putio"], COMMANDS)
    assert not fstab.is_helper_form(["--version"], COMMANDS)
    assert not fstab.is_helper_form(["putio", "-f", "-o", "rw"], COMMANDS)


def test_every_long_mount_option_is_a_key_and_the_rest_stays_an_o_option():
    keys = fstab.option_keys(mount_parser())
    assert {"config", "cache_dir", "log_file", "cache_ttl", "no_events", "upload_wait",
            "foreground", "debug", "timeout"} <= set(keys)
    assert "help" not in keys and "o" not in keys and "upload_chunk_size" not in keys
    argv = fstab.mount_argv(
        ["putio", "/mnt/putio", "-o", "rw,config=/etc/putiofs/putio.conf,cache_dir=/var/c,"
         "allow_other,uid=1000,no_events,umask=002,cache_ttl=60,dev,suid"], mount_parser())
    assert argv == ["mount", "/mnt/putio", "--config=/etc/putiofs/putio.conf",
                    "--cache-dir=/var/c", "--no-events", "--cache-ttl=60",
                    "-o", "rw,allow_other,uid=1000,umask=002,dev,suid"]
    # as mount(8) runs /sbin/mount.fuse.putiofs, a link to putiofs
    assert fstab.mount_argv(["putio", "/mnt/putio", "-o", "rw,no_events", "-n", "-t",
                             "fuse.putiofs"], mount_parser()) == [
        "mount", "/mnt/putio", "--no-events", "-o", "rw"]
    args = build_parser().parse_args(argv)
    assert (str(args.config), str(args.cache_dir), args.events, args.cache_ttl) == (
        "/etc/putiofs/putio.conf", "/var/c", False, 60.0)


@pytest.mark.parametrize("options, said", [("foreground=yes", "-o foreground takes no value"),
                                           ("cache_dir=", "-o cache_dir= needs a value")])
def test_a_key_used_wrongly_is_one_error_line(capsys, options, said):
    assert main(["putio", "/mnt/putio", "-o", options]) == 1
    assert capsys.readouterr().err == f"putiofs: error: {said}" + (
        f" (got {options!r})\n" if "takes no" in said else "\n")


def test_mount8_s_own_options_never_reach_libfuse():
    options = MountOptions()
    settings = parse_o_options(["rw,noauto,auto,_netdev,nofail,defaults,user,users,"
                                "x-systemd.automount,x-systemd.idle-timeout=60,"
                                "comment=x-gvfs-show,nodev,nosuid,noexec,umask=002"], options)
    assert settings.extra == {"nodev": True, "nosuid": True, "noexec": True}
    assert options.read_only is False
    assert options.umask == 0o002   # the mount's own: libfuse's would make every file 0775
