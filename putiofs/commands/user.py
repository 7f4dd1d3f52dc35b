"""``putiofs user info | friends``."""

from __future__ import annotations

import argparse

from putiofs.commands.base import area, leaf
from putiofs.commands.output import show
from putiofs.connect import Connection
from putiofs.views import render_friends
from putiofs.views import render_user as render


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "user", "your account and your friends")
    leaf(actions, "info", run_info, "the account: name, id, quotas")
    leaf(actions, "friends", run_friends, "your friends and the folders they share with you")


def run_info(connection: Connection, args: argparse.Namespace) -> int:
    account = connection.services.account()
    return show(account, render, as_json=args.json)


def run_friends(connection: Connection, args: argparse.Namespace) -> int:
    friends = connection.services.friends()
    return show(friends, render_friends, as_json=args.json)
