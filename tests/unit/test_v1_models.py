"""Parsing put.io's JSON into typed results: strings or numbers, nulls, unknown fields."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from putiofs.api.backend import FolderRef
from putiofs.net.lenient import MAX_SIZE, BadValue, to_id, to_size
from putiofs.v1.models import (
    AnalyzeResult,
    Friend,
    Item,
    Message,
    Subscription,
    Transfer,
    UnreadableItem,
    Url,
    User,
    flatten_dirmap,
    to_bool,
    to_int,
)

SPEC_FOLDER = {
    "id": "4394",
    "name": "ABCDE",
    "type": "folder",
    "size": "23472048",
    "is_dir": True,
    "parent_id": "0",
    "screenshot_url": "http://put.io/screenshot/b/dgRgraFxlXmNl.jpg",
    "thumb_url": "http://put.io/screenshot/dgRgraFxlXmNl.jpg",
    "file_icon_url": "http://put.io/images/file_types/folder.png",
    "download_url": "http://put.io/download-file/XXXX/4394",
}


def test_item_from_spec_sample():
    item = Item.from_json(SPEC_FOLDER)
    assert item.id == "4394"
    assert item.size == 23472048
    assert item.is_dir is True
    assert item.parent_id == "0"
    assert item.type == "folder"
    assert item.download_url.endswith("/4394")
    assert item.stream_url is None


def test_item_numbers_nulls_and_unknown_fields():
    item = Item.from_json({
        "id": 17, "name": "a/b.mp4", "type": 3, "size": 12.0, "is_dir": "0",
        "parent_id": 4394, "screenshot_url": None, "brand_new_field": [1, 2],
        "stream_url": "http://x/stream/17", "zip_url": "http://x/zip/17",
    })
    assert item.id == "17"
    assert item.parent_id == "4394"
    assert item.name == "a/b.mp4"
    assert item.type == "movie"
    assert item.size == 12
    assert item.is_dir is False
    assert item.screenshot_url is None
    assert item.stream_url == "http://x/stream/17"
    assert item.zip_url == "http://x/zip/17"


def test_item_missing_fields_and_is_dir_from_type():
    item = Item.from_json({"id": "5", "type": "folder"})
    assert item.is_dir is True
    assert item.size == 0
    assert item.name == ""
    assert item.parent_id is None
    assert Item.from_json({"id": "6", "size": None}).size == 0


@pytest.mark.parametrize("raw,expected", [
    (True, True), (False, False), (1, True), (0, False), ("1", True), ("0", False),
    ("true", True), ("False", False), (None, None), ("maybe", None),
])
def test_to_bool(raw, expected):
    assert to_bool(raw) is expected


@pytest.mark.parametrize("raw,expected", [
    ("42", 42), (42, 42), (42.7, 42), ("42.0", 42), ("", None), (None, None), ("x", None),
    (float("inf"), None), ("1e400", None), ("nan", None), (float("nan"), None), (True, None),
    (False, None),
])
def test_to_int(raw, expected):
    assert to_int(raw) == expected


def test_message_spec_sample():
    msg = Message.from_json({
        "user_file_id": 4, "user_id": 666666666, "description": None,
        "title": '<a rel="userfile" href="/file/4">abcd.mp4</a>', "importance": 0,
        "file_name": "abcd.mp4", "id": "3773", "file_type": "audio", "hidden": 0,
        "from_user_id": None, "channel": "2",
    })
    assert msg.id == 3773
    assert msg.channel == 2
    assert msg.hidden is False
    assert msg.from_user_id is None
    assert msg.user_file_id == 4


def test_subscription_spec_sample():
    sub = Subscription.from_json({
        "id": "860", "url": "http://legaltorrents.com/music/rss.xml", "name": "Jazz Radio",
        "do_filters": "jazz, mp3", "dont_filters": "smooth, wav", "parent_folder_id": "234",
        "last_update_time": "2010-01-01 00:00", "next_update_time": "2010-01-01 00:00",
        "paused": "false",
    })
    assert sub.id == 860
    assert sub.parent_folder_id == 234
    assert sub.paused is False
    assert sub.do_filters == "jazz, mp3"
    assert Subscription.from_json({"id": 1, "title": "T", "paused": 1}).name == "T"
    assert Subscription.from_json({"id": 1, "paused": True}).paused is True


def test_transfer_ok_and_error_samples():
    done = Transfer.from_json({"id": "45", "name": "A video file.avi", "status": "Completed",
                               "percent_done": "100"})
    assert (done.id, done.percent_done, done.is_error) == ("45", 100, False)
    failed = Transfer.from_json({"id": None, "name": "A file.avi",
                                 "status": "Error: Not enough disk space",
                                 "percent_done": None})
    assert failed.id is None
    assert failed.percent_done is None
    assert failed.is_error


def test_url_samples_including_multipart():
    single = Url.from_json({"dl_handler": "Single Url", "name": "f.mp4", "file_size": "92014",
                            "dltype": 3, "human_size": "89.86K", "error": None, "paid_bw": 0})
    assert single.file_size == 92014
    assert single.dltype == 3
    assert single.error is None
    multi = Url.from_json({"dltype": "4", "dl_handler": "Multipart", "name": "ABCDE",
                           "urls": ["http://r/ab.part1.rar", "http://r/ab.part2.rar"]})
    assert multi.urls == ("http://r/ab.part1.rar", "http://r/ab.part2.rar")
    assert multi.dltype == 4


def test_analyze_result_flat_and_bucketed():
    flat = AnalyzeResult.from_json([{"url": "http://a/b", "name": "b"}])
    assert [u.url for u in flat.urls] == ["http://a/b"]
    assert flat.disk_avail is None
    bucketed = AnalyzeResult.from_json({
        "items": {"singleurl": [{"url": "http://a/b"}], "torrent": [],
                  "multiparturl": [{"name": "m", "urls": ["u1", "u2"]}],
                  "error": [{"url": "bad", "error": "cannot fetch"}]},
        "disk_avail": "1000", "bw_avail": 5,
    })
    assert {(u.bucket, u.url) for u in bucketed.urls} == {
        ("singleurl", "http://a/b"), ("multiparturl", None), ("error", "bad")}
    assert bucketed.disk_avail == 1000
    assert bucketed.bw_avail == 5


def test_user_repr_hides_secrets_and_reads_live_fields():
    user = User.from_json({"id": "7", "user_name": "demo", "name": "Demo", "api_key": "KEY123",
                           "api_secret": "SECRET456", "access_token": "TOKEN789",
                           "disk_quota": "1073741824", "disk_quota_available": 1000,
                           "friends_count": "2"})
    assert user.user_id == 7
    assert user.disk_quota == 1073741824
    assert user.disk_quota_available == 1000
    assert user.friends_count == 2
    text = repr(user)
    for secret in ("KEY123", "SECRET456", "TOKEN789"):
        assert secret not in text
    doc_user = User.from_json({"user_id": 3, "user_name": "u"})
    assert doc_user.disk_quota is None


def test_friend():
    friend = Friend.from_json({"id": 12, "name": "bob", "dir_id": 400})
    assert friend == Friend(id="12", name="bob", dir_id="400")


def test_dirmap_flat_list():
    nodes = flatten_dirmap([
        {"id": "1", "name": "a", "parent_id": "0"},
        {"id": 2, "name": "b", "parent_id": 1},
    ])
    assert nodes == [FolderRef("1", "a", "0"), FolderRef("2", "b", "1")]


def test_dirmap_nested_tree_with_and_without_root():
    tree = {"id": "0", "name": "Your Files", "dirs": [
        {"id": "1", "name": "a", "dirs": [{"id": "2", "name": "b", "dirs": []}]},
        {"id": "3", "name": "c"},
    ]}
    expected = {FolderRef("1", "a", "0"), FolderRef("2", "b", "1"), FolderRef("3", "c", "0")}
    assert set(flatten_dirmap(tree)) == expected
    assert set(flatten_dirmap([tree])) == expected
    assert set(flatten_dirmap(tree["dirs"])) == expected
    assert set(flatten_dirmap({"dirs": tree["dirs"]})) == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["id", "name", "type", "size", "is_dir", "parent_id", "user_id", "percent_done",
          "paused", "hidden", "urls", "dirs", "items", "disk_quota", "dltype", "error"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=8))
def test_any_json_object_parses_or_is_refused_as_unreadable(data):
    """Wrongly-typed fields degrade to None/defaults; an item is either a valid one or refused
    as UnreadableItem, never another exception and never a size that is not a byte count."""
    try:
        item = Item.from_json(data)
    except UnreadableItem as exc:
        assert exc.reason
    else:
        assert isinstance(item.id, str) and item.id
        assert isinstance(item.size, int) and 0 <= item.size <= MAX_SIZE
        assert isinstance(item.is_dir, bool)
    for model in (Message, Subscription, Transfer, Url, User, Friend):
        model.from_json(data)
    result = AnalyzeResult.from_json(data)
    for url in result.urls:
        assert url.file_size is None or 0 <= url.file_size <= MAX_SIZE
    assert all(isinstance(n, FolderRef) for n in flatten_dirmap(data))


def test_dirmap_deep_tree_does_not_recurse():
    tree: dict = {"id": "0", "name": "root", "dirs": []}
    node = tree
    for i in range(1, 5000):
        child = {"id": str(i), "name": f"d{i}", "dirs": []}
        node["dirs"].append(child)
        node = child
    nodes = flatten_dirmap(tree)
    assert len(nodes) == 4999
    assert nodes[-1] == FolderRef("4999", "d4999", "4998")


# -- sizes: exact byte counts or refused --------------------------------


@pytest.mark.parametrize("raw,expected", [
    (0, 0), (123, 123), ("123", 123), (" 123 ", 123), (123.0, 123), ("123.0", 123),
    ("1.5e3", 1500), ("100e-2", 1), ("0.0e5", 0), ("0", 0), (MAX_SIZE, MAX_SIZE),
    (str(MAX_SIZE), MAX_SIZE), (float(2**53), 2**53), (None, None), ("", None), ("  ", None),
])
def test_to_size_accepts_exact_whole_byte_counts(raw, expected):
    assert to_size(raw) == expected


@pytest.mark.parametrize("raw", [
    -5, "-5", 2**64 + 5, str(2**64 + 5), MAX_SIZE + 1, "1e30", 1e30, 12.5, "12.5", "1e-3",
    "0.5", float(2**60), float("nan"), float("inf"), "nan", "inf", True, False, "lots",
    "0x10", "+5", "1_000", "\u0661\u0662", "12.", ".5", "1e", "9" * 41, [1], {"size": 1},
    "1e99999999999999999999",
])
def test_to_size_refuses_what_is_not_a_byte_count(raw):
    with pytest.raises(BadValue):
        to_size(raw)


@pytest.mark.parametrize("size", [2**64 + 5, "1e30", -5, "12.5", "lots", True, [3]])
def test_a_file_with_an_impossible_size_is_unreadable_never_another_size(size):
    with pytest.raises(UnreadableItem, match="size") as caught:
        Item.from_json({"id": "7", "name": "f.bin", "is_dir": False, "size": size})
    assert caught.value.item_id == "7"


def test_a_folder_with_an_impossible_size_stays_readable_as_size_0():
    folder = Item.from_json({"id": "8", "name": "d", "type": "folder", "size": "1e30"})
    assert (folder.id, folder.is_dir, folder.size) == ("8", True, 0)


@pytest.mark.parametrize("raw", [None, "", "  ", True, False, -3, 1.5, [1], {"id": 1}])
def test_an_item_without_a_usable_id_is_unreadable(raw):
    assert to_id(raw) is None
    data = {"name": "x", "size": 1} if raw is None else {"id": raw, "name": "x", "size": 1}
    with pytest.raises(UnreadableItem, match="no id"):
        Item.from_json(data)


def test_ids_are_strings_or_whole_numbers():
    assert [to_id(v) for v in ("12", " 12 ", 12, 12.0, 0, "abc")] == [
        "12", "12", "12", "12", "0", "abc"]


def test_informational_sizes_read_as_unknown_never_wrong():
    user = User.from_json({"id": 1, "disk_quota": "1e30", "disk_quota_available": -1,
                           "bw_quota": 2**64 + 5, "shared_space": "12.5"})
    assert (user.disk_quota, user.disk_quota_available, user.bw_quota, user.shared_space) \
        == (None, None, None, None)
    url = Url.from_json({"url": "http://a/b", "file_size": "1e30", "paid_bw": -2})
    assert (url.file_size, url.paid_bw) == (None, None)
    assert AnalyzeResult.from_json({"items": {}, "disk_avail": "lots"}).disk_avail is None


# -- the live server's shapes -----------------------------------------


def test_url_reads_the_live_servers_size_and_parts():
    single = Url.from_json({"url": "http://a/b.mp4", "size": "92014", "paid_bw": "92014"},
                           bucket="singleurl")
    assert (single.file_size, single.paid_bw) == (92014, 92014)
    assert Url.from_json({"file_size": 5, "size": 9}).file_size == 5, "the doc's name first"
    linked = Url.from_json({"name": "ab", "size": 30, "parts": ["http://r/a.1", "http://r/a.2"]})
    assert linked.urls == ("http://r/a.1", "http://r/a.2")
    objects = Url.from_json({"name": "ab", "parts": [
        {"url": "http://r/a.1", "size": 10, "paid_bw": 10}, {"url": "http://r/a.2"},
        {"name": "no url"}]})
    assert objects.urls == ("http://r/a.1", "http://r/a.2")


def test_analyze_result_live_buckets_with_size_and_parts():
    result = AnalyzeResult.from_json({
        "items": {
            "singleurl": [{"url": "http://a/b.mp4", "size": 100, "paid_bw": 100}],
            "torrent": [{"url": "magnet:?xt=1", "size": "200", "paid_bw": 0}],
            "multiparturl": [{"name": "ab", "size": 300, "paid_bw": 300, "parts": [
                {"url": "http://r/ab.part1.rar", "size": 150},
                {"url": "http://r/ab.part2.rar", "size": 150}]}],
            "error": [{"url": "http://host.invalid/x"}],
        },
        "disk_avail": "1000", "bw_avail": "2000",
    })
    by_bucket = {u.bucket: u for u in result.urls}
    assert by_bucket["singleurl"].file_size == 100
    assert by_bucket["torrent"].file_size == 200
    assert by_bucket["multiparturl"].file_size == 300
    assert by_bucket["multiparturl"].urls == ("http://r/ab.part1.rar", "http://r/ab.part2.rar")
    assert by_bucket["error"].error, "the error bucket is an error even without a message"
    assert by_bucket["singleurl"].error is None
    assert (result.disk_avail, result.bw_avail) == (1000, 2000)


def test_dirmap_live_root_object_with_shared_fields():
    root = {"id": 0, "name": "Your Files", "shared": [], "default_shared": False, "dirs": [
        {"id": 1, "name": "a", "shared": False, "dirs": [{"id": 2, "name": "b", "dirs": []}]},
        {"id": 3, "name": "c", "dirs": []}]}
    expected = {FolderRef("1", "a", "0"), FolderRef("2", "b", "1"), FolderRef("3", "c", "0")}
    assert set(flatten_dirmap(root)) == expected


def test_dirmap_folders_under_one_without_id_are_not_moved_up():
    tree = {"id": "0", "name": "root", "dirs": [
        {"id": "1", "name": "a", "dirs": [
            {"name": "no id", "dirs": [
                {"id": "3", "name": "lost", "dirs": [{"id": "4", "name": "deeper"}]},
                {"id": "5", "name": "placed", "parent_id": "9"}]}]}]}
    assert set(flatten_dirmap(tree)) == {FolderRef("1", "a", "0"), FolderRef("5", "placed", "9")}
