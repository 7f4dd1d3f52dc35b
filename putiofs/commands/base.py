"""What every API subcommand shares: its parser set-up and the client it runs with."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from putiofs.client import PutioClient

Handler = Callable[[PutioClient, argparse.Namespace], int]


class CommandError(Exception):
    """A failure to report as one line (``putiofs: error: <message>``), exit status 1."""


def area(commands: argparse._SubParsersAction, name: str, help: str,
         description: str | None = None) -> argparse._SubParsersAction:
    """A command with actions of its own (``putiofs transfers list``)."""
    parser = commands.add_parser(name, help=help, description=description or help)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    return actions


def leaf(commands: argparse._SubParsersAction, name: str, handler: Handler, help: str,
         description: str | None = None) -> argparse.ArgumentParser:
    """One runnable (sub)command; every one of them takes ``--json``."""
    parser = commands.add_parser(name, help=help, description=description or help)
    parser.add_argument("--json", action="store_true",
                        help="print JSON (the API's objects) instead of a table")
    parser.set_defaults(handler=handler)
    return parser


def item_id(text: str) -> str:
    """An id argument: digits only (argparse turns the ValueError into a usage error)."""
    text = text.strip()
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (a number)")
    return text
