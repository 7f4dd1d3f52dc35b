"""What every API subcommand shares: its parser set-up, how it reports failures, and how long
one of its API calls may take."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from putiofs.api.errors import NotSupportedError, PutioError, UserError
from putiofs.api.services import AccountServices, Service, not_supported
from putiofs.commands.output import emit, emit_json
from putiofs.connect import Connection
from putiofs.views import escape

#: What runs a command: with the account's connection, or (``without_account`` set as a
#: default of its parser) with the arguments alone.
Handler = Callable[[Connection, argparse.Namespace], int] | Callable[[argparse.Namespace], int]

#: Seconds any one API call of a command may take, retries included (sign-in calls too).
CALL_TIMEOUT = 30.0


class CommandError(UserError):
    """A command cannot do what it was asked; reported by :func:`report_error`, exit status 1."""


def report_error(message: str) -> None:
    """``putiofs: error: <message>`` on stderr, control characters escaped (put.io's
    messages can quote names)."""
    print(f"putiofs: error: {escape(message)}", file=sys.stderr)


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
                        help="print JSON (the objects themselves) instead of a table")
    parser.set_defaults(handler=handler)
    return parser


def item_id(text: str) -> str:
    """An id argument: digits only (argparse turns the ValueError into a usage error)."""
    text = text.strip()
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (a number)")
    return text


def stdin_only(option: str, what: str) -> Callable[[str], str]:
    """The type of an option whose secret is read from standard input (``--token -``): it
    takes ``-`` only, and its error never repeats what was given (it may be the secret)."""
    def parse(value: str) -> str:
        if value != "-":
            raise argparse.ArgumentTypeError(
                f"{what} is read from standard input only: use {option} - ({what} on the "
                "command line is visible to every user of this machine)")
        return value
    return parse


def require(services: AccountServices, service: Service) -> None:
    """Fail at once, with the line a missing service gives, when the account's API version
    lacks ``service`` (before any path is resolved or anything is read)."""
    if service not in services.available:
        raise not_supported(service, services.version)


def for_each_id(ids: list[str], action: Callable[[str], object], *, noun: str, done: str,
                as_json: bool) -> int:
    """Apply ``action`` to each id in turn; one failure does not stop the others but makes the
    exit status 1. Prints ``<done> <noun> <id>`` per success, or ``{"<done>": [ids]}``."""
    succeeded: list[str] = []
    failed = 0
    for one in ids:
        try:
            action(one)
        except NotSupportedError:
            raise  # the same for every id: one line, from the caller
        except PutioError as exc:
            failed += 1
            report_error(f"{noun} {one}: {exc}")
            continue
        succeeded.append(one)
        if not as_json:
            emit(f"{done} {noun} {one}\n")
    if as_json:
        emit_json({done: succeeded})
    return 1 if failed else 0
