"""Lenient parsing of v2 answers: timestamps in every spelling seen, sizes, ids, flags."""

from __future__ import annotations

import pytest

from putiofs.v2.models import AccountInfo, Event, File, Mp4Status, Transfer, Zip
from putiofs.v2.parse import MAX_SIZE, BadValue, format_time, to_bool, to_size, to_time

T = 1378589523.0  # 2013-09-07 21:32:03 UTC


@pytest.mark.parametrize("text,expected", [
    ("2013-09-07T21:32:03", T),            # what put.io sends: UTC without a zone
    ("2013-09-07 21:32:03", T),            # events have used a space
    ("2013-09-07T21:32:03Z", T),
    ("2013-09-07T21:32:03z", T),
    ("2013-09-07T21:32:03.250", T + 0.25),
    ("2013-09-07T21:32:03.5Z", T + 0.5),
    ("2013-09-07T23:32:03+02:00", T),
    (" 2013-09-07T21:32:03 ", T),
    ("2013-09-07", None),                  # a date is not a time
    ("yesterday", None),
    ("", None),
    (None, None),
    (12, None),
])
def test_timestamps(text, expected):
    assert to_time(text) == expected


def test_time_round_trips_to_the_request_format():
    assert format_time(T + 0.9) == "2013-09-07T21:32:03Z"
    assert to_time(format_time(T)) == T


@pytest.mark.parametrize("value,expected", [
    (0, 0), (5, 5), ("5", 5), (5.0, 5), (MAX_SIZE, MAX_SIZE), (None, None)])
def test_sizes_in_range(value, expected):
    assert to_size(value) == expected


@pytest.mark.parametrize("value", [-1, MAX_SIZE + 1, 1.5, "12kB", "-3", True, float("nan"),
                                   float("inf"), [], {}])
def test_sizes_out_of_range_are_refused(value):
    with pytest.raises(BadValue):
        to_size(value)


@pytest.mark.parametrize("value,expected", [
    (True, True), ("True", True), ("1", True), (1, True), ("false", False), ("False", False),
    (0, False), ("", False), ("maybe", None), (None, None)])
def test_booleans_in_every_spelling(value, expected):
    assert to_bool(value) is expected


def test_a_file_from_the_reference_example():
    file = File.from_json({
        "id": 1001, "name": "foo", "parent_id": 0, "size": 123, "content_type": "video/mp4",
        "file_type": "VIDEO", "extension": "mp4", "crc32": "66A1512F",
        "created_at": "2024-05-01T10:00:00", "updated_at": "2024-05-02 10:00:00",
        "first_accessed_at": None, "folder_type": "REGULAR", "icon": "https://x/i.png",
        "screenshot": None, "is_hidden": False, "is_shared": "1", "is_mp4_available": True,
        "opensubtitles_hash": None, "something_new": {"nested": 1}})
    assert (file.id, file.parent_id, file.size, file.is_dir) == ("1001", "0", 123, False)
    assert file.crc32 == "66a1512f"
    assert file.created_at == 1714557600.0 and file.updated_at == 1714644000.0
    assert file.is_shared and file.is_mp4_available and file.file_type == "VIDEO"


@pytest.mark.parametrize("data,is_dir", [
    ({"content_type": "application/x-directory"}, True),
    ({"file_type": "FOLDER"}, True),
    ({"content_type": "text/plain", "file_type": "TEXT"}, False),
    ({"file_type": "SOMETHING_NEW"}, False),
    ({}, False),
])
def test_folders_are_told_by_content_type_or_file_type(data, is_dir):
    assert File.from_json({"id": 1, "name": "n", **data}).is_dir is is_dir


def test_missing_fields_and_bad_crc_are_none():
    file = File.from_json({"id": "9", "name": None, "parent_id": None, "size": None,
                           "crc32": "xyz", "updated_at": "garbage"})
    assert (file.name, file.parent_id, file.size, file.crc32, file.updated_at) == (
        "", None, 0, None, None)


def test_a_file_needs_an_id_and_a_possible_size():
    with pytest.raises(BadValue):
        File.from_json({"name": "x"})
    with pytest.raises(BadValue, match="size of file 3"):
        File.from_json({"id": 3, "size": 2**64})


def test_account_info_without_disk_or_settings():
    info = AccountInfo.from_json({"user_id": "5"})
    assert info.user_id == 5 and info.disk_size is None and info.trash_enabled is False


def test_transfer_with_odd_number_types():
    transfer = Transfer.from_json({"id": 1, "status": "SEEDING", "size": "100",
                                   "percent_done": 99.6, "down_speed": "12.5",
                                   "current_ratio": "1.2", "finished_at": None,
                                   "created_at": "2024-01-01T00:00:00"})
    assert (transfer.size, transfer.percent_done, transfer.down_speed) == (100, 99, 12.5)
    assert transfer.created_at == 1704067200.0 and transfer.finished_at is None


def test_unknown_event_types_are_kept():
    event = Event.from_json({"id": 3, "type": "something_new", "user_id": 1,
                             "created_at": "2016-06-16 11:12:57", "extra": "x"})
    assert event.type == "something_new" and event.data["extra"] == "x"
    assert event.created_at == 1466075577.0


def test_zip_and_mp4_spellings():
    assert Zip.from_json({"id": 1, "status": "NEW"}).status == "NEW"
    assert Zip.from_json({"id": 1, "zip_status": "DONE", "missing_files": [{"name": "a"}]}
                         ).missing_files == ("a",)
    assert Mp4Status.from_json({"id": 1, "status": "CONVERTING", "percent_done": 40}
                               ).percent_done == 40
