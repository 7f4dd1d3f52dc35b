"""The v2 emulator's routing table: every endpoint module records its rules above its
endpoints (``putiofs.emulator.v2.request.Routes``), so the order the API tries them in follows
where the endpoints are defined. These tests hold the table to what makes that order harmless:
no path below ``/v2/`` is matched by two patterns."""

from __future__ import annotations

import pytest

from putiofs.emulator import EmulatorOptions, EmulatorServer
from putiofs.emulator.v2.request import Rule

#: A path each rule serves, and paths that look like another rule's (a query, a code or a
#: file name that is another route's word).
PATHS = (
    "files/list", "files/list/continue", "files/search", "files/search/continue",
    "files/search/cats/page/2", "files/search/list/page/-1", "files/search/7/page/1",
    "files/create-folder", "files/rename", "files/move", "files/delete", "files/touch",
    "files/copy", "files/7", "files/7/child", "files/7/url", "files/7/download",
    "files/7/download/", "files/7/download/a.mkv", "files/7/download/subtitles",
    "files/7/stream", "files/7/stream.mp3", "files/7/mp4/download", "files/7/mp4/download/a.mp4",
    "files/7/mp4/stream", "files/7/mp4", "files/7/subtitles", "files/7/subtitles/eng",
    "files/7/subtitles/download", "account/info", "account/settings", "oauth2/oob/code",
    "oauth2/oob/code/ABC123", "oauth2/oob/code/validate", "oauth2/validate",
    "oauth2/access_token", "oauth/grants/logout", "friends/list", "events/list", "events/delete",
    "events/delete/9", "transfers/list", "transfers/list/continue", "transfers/count",
    "transfers/add", "transfers/cancel", "transfers/clean", "transfers/retry",
    "transfers/remove", "transfers/7", "trash/list", "trash/list/continue", "trash/restore",
    "trash/delete", "trash/empty", "zips/create", "zips/list", "zips/7", "files/upload",
    "files/share", "files/shared", "files/7/shared-with", "files/7/unshare",
    "account/confirmation/list", "account/clear", "account/destroy",
    "oauth2/authorizations/clients/8993", "oauth2/authorizations/clients/8993/fp",
    "friends/user-search/al", "friends/user-search/request", "friends/waiting-requests",
    "friends/waiting-requests-count", "friends/bob/request", "friends/bob/approve",
    "friends/bob/deny", "friends/bob/unfriend", "friends/bob/files", "friends/list/files",
    "account/friend_invites", "account/create_friend_invitation", "config", "config/volume",
    "files/7/start-from", "files/7/start-from/set", "files/7/start-from/delete",
    "files/watch-status", "files/7/next-file", "files/7/next-video", "files/7/hls/media.m3u8",
    "files/convert_mp4", "files/7/put-mp4-to-my-folders", "files/extract",
    "download_links/create", "download_links/7", "files/items-shared-with-you",
    "files/list/items-shared-with-you", "sharing/clone", "sharing/clone/7",
    "files/7/share_public", "files/public/list", "files/public/list/7", "files/public",
    "transfers/add-multi", "transfers/reannounce", "zips/7/retry", "zips/7/cancel",
)


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return EmulatorServer(EmulatorOptions(api="v2")).api.rules


def _matching(rules: list[Rule], path: str) -> list[Rule]:
    return [rule for rule in rules if rule.pattern.fullmatch(path)]


@pytest.mark.parametrize("path", PATHS)
def test_one_rule_matches_a_path_so_their_order_never_decides(rules, path):
    assert len([rule.pattern.pattern for rule in _matching(rules, path)]) == 1


def test_every_rule_serves_one_of_the_paths(rules):
    served = {id(rule) for path in PATHS for rule in _matching(rules, path)}
    assert [rule.pattern.pattern for rule in rules if id(rule) not in served] == []
