"""``putiofs account`` and ``putiofs friends``, and their older names ``putiofs user info |
friends``: the account at a glance.

``account`` shows what matters to a mount: disk total, used (the trash included, as put.io
counts it) and available, the trash's size and whether deletes go to it, and the plan's state.
A figure the API version does not report is left out of the table (``null`` in ``--json``):
v1 has no trash and no account status, v2 no bandwidth quota. ``user info`` and ``user friends``
are kept for scripts; they run the same commands.
"""

from __future__ import annotations

import argparse

from putiofs.commands.base import area, leaf
from putiofs.commands.output import show
from putiofs.connect import Connection
from putiofs.views import render_friends, render_user

FRIENDS_HELP = "your friends and the folders they share with you"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    leaf(commands, "account", run_account,
         "disk total/used/available, trash, plan status",
         "The account: disk quota, used and available, trash size and whether deletes go to "
         "the trash, the account's status; what the API version does not report is left out.")
    leaf(commands, "friends", run_friends, FRIENDS_HELP)
    actions = area(commands, "user", "your account and your friends")
    leaf(actions, "info", run_account, "the account: name, id, quotas")
    leaf(actions, "friends", run_friends, FRIENDS_HELP)


def run_account(connection: Connection, args: argparse.Namespace) -> int:
    return show(connection.services.account(), render_user, as_json=args.json)


def run_friends(connection: Connection, args: argparse.Namespace) -> int:
    return show(connection.services.friends(), render_friends, as_json=args.json)
