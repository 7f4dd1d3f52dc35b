"""``putiofs events list``: the account's history (API v2): uploads, finished and failed
transfers, ..., newest first."""

from __future__ import annotations

import argparse

from putiofs.commands.base import area, leaf
from putiofs.commands.output import show
from putiofs.connect import Connection
from putiofs.views import render_events as render


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "events", "the account's history (API v2)")
    leaf(actions, "list", run_list, "the newest events of the account's history")


def run_list(connection: Connection, args: argparse.Namespace) -> int:
    events = connection.services.list_events()
    return show(events, render, as_json=args.json)
