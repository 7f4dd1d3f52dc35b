"""The API at hand: a subcommand for every service of the account the mount does not cover,
and ``login`` / ``logout`` (:mod:`putiofs.commands.login`), which run before there is an
account to connect to.

``putiofs.cli`` registers these with :func:`add_parsers` and runs a parsed one with
:func:`run`. Each area is one module (those that start a job put.io runs on the account's
files and follow it are in :mod:`putiofs.commands.jobs`); each prints aligned text or, with
``--json``, the account's objects as JSON. They talk to
:class:`~putiofs.api.services.AccountServices` and (``ls``, ``info``, ``extract``) a
:class:`~putiofs.api.backend.Backend`, both from :func:`putiofs.connect.connect`, so they work
on any API version. Failures print one line, ``putiofs: error: <message>`` (put.io's
own message where it sent one; ``<service> is not available on the put.io API vN`` for a
service that version lacks; the one line of :attr:`Connection.refused` when put.io refuses
the credentials), and exit 1.
"""

from __future__ import annotations

import argparse

from putiofs.api.errors import AuthenticationError, PutioError
from putiofs.commands import (
    account,
    events,
    files,
    login,
    media,
    messages,
    share,
    subscriptions,
    transfers,
    trash,
    uploads,
    urls,
)
from putiofs.commands.base import CALL_TIMEOUT, CommandError, report_error
from putiofs.commands.jobs import extract
from putiofs.commands.local import cache, status
from putiofs.config import load_settings
from putiofs.connect import connect

AREAS = (login, transfers, events, urls, messages, subscriptions, files, trash, account,
         share, media, extract, uploads, status, cache)

__all__ = ["CommandError", "add_parsers", "is_api_command", "run"]


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add every API subcommand to the ``putiofs`` parser's subcommands."""
    for module in AREAS:
        module.add_parsers(commands)


def is_api_command(args: argparse.Namespace) -> bool:
    return getattr(args, "handler", None) is not None


def run(args: argparse.Namespace) -> int:
    """Run a parsed API subcommand with the configured account.

    ConfigError (no credentials, an unknown API version) is left to the caller, which
    reports it like every start-up failure.
    """
    if getattr(args, "without_account", False):
        try:
            return args.handler(args)
        except (PutioError, CommandError) as exc:
            report_error(str(exc))
            return 1
    settings = load_settings()
    with connect(settings, timeout=CALL_TIMEOUT) as connection:
        try:
            return args.handler(connection, args)
        except AuthenticationError:
            report_error(connection.refused)
            return 1
        except (PutioError, CommandError) as exc:
            report_error(str(exc))
            return 1
