"""The API at hand: a subcommand for every put.io v1 endpoint the mount does not cover.

``putiofs.cli`` registers these with :func:`add_parsers` and runs a parsed one with
:func:`run`. Each area is one module; each prints aligned text or, with ``--json``, the API's
objects as JSON. Failures print one line, ``putiofs: error: <message>`` (put.io's own message
where it sent one), and exit 1.
"""

from __future__ import annotations

import argparse
import sys

from putiofs.client import PutioClient
from putiofs.commands import files, messages, subscriptions, transfers, urls, user
from putiofs.commands.base import CommandError
from putiofs.config import load_settings
from putiofs.errors import PutioError

AREAS = (transfers, urls, messages, subscriptions, user, files)

__all__ = ["CommandError", "add_parsers", "is_api_command", "run"]


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add every API subcommand to the ``putiofs`` parser's subcommands."""
    for module in AREAS:
        module.add_parsers(commands)


def is_api_command(args: argparse.Namespace) -> bool:
    return getattr(args, "handler", None) is not None


def run(args: argparse.Namespace) -> int:
    """Run a parsed API subcommand with the configured account.

    ConfigError (no credentials) is left to the caller, which reports it like every start-up
    failure.
    """
    settings = load_settings()
    with PutioClient(settings, max_retry_time=30.0) as client:
        try:
            return args.handler(client, args)
        except (PutioError, CommandError) as exc:
            print(f"putiofs: error: {exc}", file=sys.stderr)
            return 1
