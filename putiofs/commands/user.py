"""``putiofs user info | friends``."""

from __future__ import annotations

import argparse

from putiofs.client import PutioClient
from putiofs.commands.base import area, leaf
from putiofs.commands.output import emit, emit_json, fields, human_size, table
from putiofs.models import Friend, User


def render(user: User, friends: list[Friend] | None = None) -> str:
    """The account (never its key, secret or token), then its friends (``/.putio/user``)."""

    def size(value: int | None) -> str | None:
        return None if value is None else f"{human_size(value)} ({value} bytes)"

    text = fields([
        ("user", user.user_name), ("id", user.user_id), ("name", user.name),
        ("disk quota", size(user.disk_quota)),
        ("disk available", size(user.disk_quota_available)),
        ("bandwidth quota", size(user.bw_quota)),
        ("bandwidth available", size(user.bw_quota_available)),
        ("shared items", user.shared_items), ("shared space", size(user.shared_space)),
        ("friends", user.friends_count if friends is None else len(friends)),
    ])
    if friends:
        text += "\n" + render_friends(friends)
    return text


def render_friends(friends: list[Friend]) -> str:
    if not friends:
        return "no friends\n"
    return table(("ID", "NAME", "SHARED FOLDER"), [(f.id, f.name, f.dir_id) for f in friends])


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "user", "your account and your friends")
    leaf(actions, "info", run_info, "the account: name, id, quotas")
    leaf(actions, "friends", run_friends, "your friends and the folders they share with you")


def run_info(client: PutioClient, args: argparse.Namespace) -> int:
    user = client.user_info()
    if args.json:
        emit_json(user)
    else:
        emit(render(user))
    return 0


def run_friends(client: PutioClient, args: argparse.Namespace) -> int:
    friends = client.friends()
    if args.json:
        emit_json(friends)
    else:
        emit(render_friends(friends))
    return 0
