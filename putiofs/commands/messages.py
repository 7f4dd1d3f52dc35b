"""``putiofs messages list | delete``: the dashboard messages (API v1)."""

from __future__ import annotations

import argparse

from putiofs.commands.base import area, for_each_id, item_id, leaf
from putiofs.commands.output import show
from putiofs.connect import Connection
from putiofs.views import render_messages as render


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "messages", "the dashboard messages")
    leaf(actions, "list", run_list, "the dashboard messages")
    delete = leaf(actions, "delete", run_delete, "delete messages by id")
    delete.add_argument("ids", nargs="+", type=item_id, metavar="ID")


def run_list(connection: Connection, args: argparse.Namespace) -> int:
    messages = connection.services.list_messages()
    return show(messages, render, as_json=args.json)


def run_delete(connection: Connection, args: argparse.Namespace) -> int:
    """Delete each id in turn; one failure does not stop the others, but sets exit status 1."""
    return for_each_id(args.ids, connection.services.delete_message, noun="message",
                       done="deleted", as_json=args.json)
