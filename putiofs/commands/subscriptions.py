"""``putiofs subscriptions list | info | create | edit | pause | delete``: RSS feeds (API v1)."""

from __future__ import annotations

import argparse

from putiofs.api.services import Subscription, SubscriptionFields
from putiofs.commands.base import area, item_id, leaf
from putiofs.commands.output import answer, show
from putiofs.connect import Connection
from putiofs.views import render_subscription as render_one
from putiofs.views import render_subscriptions as render


def _add_fields(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--title", required=required, help="the subscription's name")
    parser.add_argument("--url", required=required, help="the RSS feed's URL")
    parser.add_argument("--do", dest="do_filters", metavar="FILTERS",
                        help="fetch only items matching these comma-separated words")
    parser.add_argument("--dont", dest="dont_filters", metavar="FILTERS",
                        help="skip items matching these comma-separated words")
    parser.add_argument("--folder", type=item_id, metavar="ID",
                        help="the folder (id) downloads go to")
    parser.add_argument("--paused", action=argparse.BooleanOptionalAction, default=None,
                        help="paused (--paused) or active (--no-paused)")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "subscriptions", "RSS subscriptions")
    leaf(actions, "list", run_list, "every subscription")
    info = leaf(actions, "info", run_info, "one subscription in detail")
    info.add_argument("id", type=item_id)
    create = leaf(actions, "create", run_create, "subscribe to an RSS feed")
    _add_fields(create, required=True)
    edit = leaf(actions, "edit", run_edit, "change a subscription (only the options given)")
    edit.add_argument("id", type=item_id)
    _add_fields(edit, required=False)
    pause = leaf(actions, "pause", run_pause, "pause an active subscription or resume a paused "
                 "one (put.io's pause toggles)")
    pause.add_argument("id", type=item_id)
    delete = leaf(actions, "delete", run_delete, "delete a subscription")
    delete.add_argument("id", type=item_id)


def _show(sub: Subscription, args: argparse.Namespace) -> int:
    return show(sub, render_one, as_json=args.json)


def _fields(args: argparse.Namespace) -> SubscriptionFields:
    return SubscriptionFields(title=args.title, url=args.url, do_filters=args.do_filters,
                              dont_filters=args.dont_filters, parent_folder_id=args.folder,
                              paused=args.paused)


def run_list(connection: Connection, args: argparse.Namespace) -> int:
    subscriptions = connection.services.list_subscriptions()
    return show(subscriptions, render, as_json=args.json)


def run_info(connection: Connection, args: argparse.Namespace) -> int:
    return _show(connection.services.subscription(args.id), args)


def run_create(connection: Connection, args: argparse.Namespace) -> int:
    return _show(connection.services.create_subscription(_fields(args)), args)


def run_edit(connection: Connection, args: argparse.Namespace) -> int:
    return _show(connection.services.edit_subscription(args.id, _fields(args)), args)


def run_pause(connection: Connection, args: argparse.Namespace) -> int:
    sub = connection.services.toggle_subscription(args.id)
    state = "paused" if sub.paused else "active"
    return answer(sub, f"subscription {args.id} is now {state}\n", as_json=args.json)


def run_delete(connection: Connection, args: argparse.Namespace) -> int:
    connection.services.delete_subscription(args.id)
    return answer({"deleted": args.id}, f"deleted subscription {args.id}\n", as_json=args.json)
