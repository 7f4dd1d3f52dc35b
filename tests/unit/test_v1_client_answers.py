"""The client reading recorded and synthetic answers: bad sizes, items without ids, the live
server's shapes. A loopback stub (:mod:`tests.support.v1_stub`) sends each canned answer as
put.io would, so the client's whole path from HTTP body to typed result is exercised."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from putiofs.api.backend import FolderRef
from putiofs.api.errors import ServerError
from putiofs.config import Settings
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.support.v1_stub import LEGACY, Pages, V1Stub


class CannedAnswers(V1Stub):
    """The stub answering each ``service.method`` from ``answers``, and a client of it."""

    def client(self, dialect: str = "doc") -> V1Client:
        """A client without retries; ``legacy``: the stub answers in the live envelope."""
        if dialect == "legacy":
            self.envelope = dict(LEGACY)
        return V1Client(V1Wire(Settings(self.base_url, "demo", "demo"), timeout=(2.0, 5.0),
                               retries=0, dialect=dialect))  # type: ignore[arg-type]


@pytest.fixture
def canned() -> Iterator[CannedAnswers]:
    server = CannedAnswers()
    yield server
    server.close()


def file(id: Any, size: Any = 5, **extra: Any) -> dict:
    return {"id": id, "name": f"f{id}", "is_dir": False, "size": size, **extra}


# -- sizes ---------------------------------------------------------------------


def test_listing_leaves_out_files_with_impossible_sizes_and_warns_once(canned, caplog):
    canned.answers["files.list"] = [
        file("1", "12"), file("2", 2**64 + 5), file("3", "1e30"), file("4", -5),
        file("5", 12.5), file("6", "1.2e1"),
        {"id": "7", "name": "d", "is_dir": True, "size": "1e30"},
    ]
    with caplog.at_level(logging.WARNING, logger="putiofs.v1.client"):
        items = list(canned.client().iter_folder("0"))
    assert [(i.id, i.size) for i in items] == [("1", 12), ("6", 12), ("7", 0)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "4 entries" in warnings[0].getMessage()
    assert "item 2" in warnings[0].getMessage()


def test_single_item_answer_with_an_impossible_size_is_a_server_error(canned):
    canned.answers["files.info"] = [file("9", str(2**64 + 5))]
    with pytest.raises(ServerError, match="out of range"):
        canned.client().info("9")


def test_a_folder_whose_every_entry_is_unreadable_is_an_error_not_empty(canned):
    canned.answers["files.list"] = [file("2", "1e30"), {"name": "no id", "size": 1}, "junk"]
    with pytest.raises(ServerError, match="no entry"):
        list(canned.client().iter_folder("44"))


def test_results_that_are_not_a_list_are_an_error_not_an_empty_folder(canned):
    canned.answers["files.list"] = "not a list"
    with pytest.raises(ServerError, match="not a list"):
        list(canned.client().iter_folder("44"))


def test_an_empty_folder_is_empty(canned):
    canned.answers["files.list"] = []
    assert list(canned.client().iter_folder("44")) == []


def test_an_unreadable_entry_does_not_end_the_paging_early(canned):
    canned.answers["files.list"] = Pages(
        [file("1"), file("2", "lots"), file("3")],
        [file("4"), file("5"), file("6")],
        [file("7")],
    )
    ids = [i.id for i in canned.client().iter_folder("0", page_size=3)]
    assert ids == ["1", "3", "4", "5", "6", "7"]
    assert [params.get("offset", 0) for _, params in canned.calls] == [0, 3, 6]


# -- items without an id -------------------------------------------------------


def test_items_without_an_id_are_left_out_not_merged_into_one(canned, caplog):
    canned.answers["files.list"] = [
        {"name": "a.txt", "size": 1}, {"id": None, "name": "b.txt", "size": 2},
        {"id": "", "name": "c.txt", "size": 3}, file("10"),
    ]
    with caplog.at_level(logging.WARNING, logger="putiofs.v1.client"):
        items = list(canned.client().iter_folder("0"))
    assert [i.id for i in items] == ["10"]
    assert "3 entries" in caplog.text and "no id" in caplog.text


def test_search_leaves_out_unreadable_items(canned):
    canned.answers["files.search"] = [file("1"), {"name": "x"}, file("2", "-1")]
    assert [i.id for i in canned.client().search("x")] == ["1"]


# -- the live server's shapes -------------------------------------------------


def test_legacy_dirmap_answer_is_the_root_folder_object(canned):
    canned.answers["files.dirmap"] = {
        "id": 0, "name": "Your Files", "shared": [], "default_shared": 0, "dirs": [
            {"id": 4, "name": "Movies", "dirs": [{"id": 9, "name": "Old", "dirs": []}]},
            {"id": 5, "name": "Music", "dirs": []}]}
    nodes = canned.client("legacy").dirmap()
    assert set(nodes) == {FolderRef("4", "Movies", "0"), FolderRef("9", "Old", "4"),
                          FolderRef("5", "Music", "0")}


def test_legacy_dirmap_answer_as_a_list_holding_the_root(canned):
    canned.answers["files.dirmap"] = [{"id": "0", "name": "Your Files", "dirs": [
        {"id": "4", "name": "Movies", "dirs": []}]}]
    assert canned.client("legacy").dirmap() == [FolderRef("4", "Movies", "0")]


def test_legacy_analyze_buckets_with_size_paid_bw_and_parts(canned):
    canned.answers["urls.analyze"] = {
        "items": {
            "singleurl": [{"url": "http://a/b.mp4", "name": "b.mp4", "size": 92014,
                           "paid_bw": 0, "error": None}],
            "torrent": [{"url": "magnet:?xt=urn:btih:1", "name": "t", "size": "700",
                         "paid_bw": 0}],
            "multiparturl": [{"name": "ab", "size": 300, "paid_bw": 300, "parts": [
                {"url": "http://r/ab.part1.rar", "size": 150, "paid_bw": 150},
                {"url": "http://r/ab.part2.rar", "size": 150, "paid_bw": 150}]}],
            "error": [],
        },
        "disk_avail": "5000", "bw_avail": "6000",
    }
    result = canned.client("legacy").analyze_urls(["http://a/b.mp4"])
    assert canned.calls[-1][1] == {"links": ["http://a/b.mp4"]}
    sizes = {u.bucket: u.file_size for u in result.urls}
    assert sizes == {"singleurl": 92014, "torrent": 700, "multiparturl": 300}
    (multi,) = [u for u in result.urls if u.bucket == "multiparturl"]
    assert multi.urls == ("http://r/ab.part1.rar", "http://r/ab.part2.rar")
    assert (result.disk_avail, result.bw_avail) == (5000, 6000)


def test_user_quota_that_is_not_a_byte_count_is_unknown(canned):
    canned.answers["user.info"] = [{"user_id": 1, "disk_quota": "1e30",
                                    "disk_quota_available": "12"}]
    user = canned.client().user_info()
    assert (user.disk_quota, user.disk_quota_available) == (None, 12)
