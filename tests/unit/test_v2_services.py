"""The v2 endpoints beside the tree: what each sends and how its answer is read (transfers,
events, friends, trash, zips, copy, child lookup, MP4, archive extraction, items shared with
you), against a stub server."""

from __future__ import annotations

import pytest

from putiofs.api.errors import NotFoundError, PutioError, ServerError
from tests.support.v2_stub import Reply, error, file_json, ok

pytest_plugins = ("tests.support.v2_stub",)


@pytest.fixture
def client(make_client):
    return make_client()


def test_child_by_name(stub, client):
    stub.on("GET", "/files/3/child", ok(file=file_json(8, "a b.txt", parent_id=3)))
    assert client.child("3", "a b.txt").id == "8"
    assert stub.seen[0].query == {"name": "a b.txt"}


def test_child_missing(stub, client):
    stub.on("GET", "/files/3/child", error(404, "NOT_FOUND"))
    with pytest.raises(NotFoundError):
        client.child("3", "nope")


def test_copy_sends_the_name_only_when_given(stub, client):
    stub.on("POST", "/files/copy", ok(file=file_json(9, "a.txt", parent_id=4)))
    assert client.copy("8", "4").parent_id == "4"
    client.copy("8", "4", name="b.txt")
    assert stub.seen[0].form == {"file_id": "8", "parent_id": "4"}
    assert stub.seen[1].form == {"file_id": "8", "parent_id": "4", "name": "b.txt"}


def test_an_answer_without_its_object_is_a_server_error(stub, client):
    stub.on("POST", "/files/copy", ok())
    with pytest.raises(ServerError, match="held no file"):
        client.copy("8", "4")
    stub.on("GET", "/files/1/url", ok(url="javascript:alert(1)"))
    with pytest.raises(ServerError, match="no URL"):
        client.file_url("1")


def test_mp4_status_and_start(stub, client):
    stub.on("GET", "/files/5/mp4", ok(mp4={"id": 5, "status": "COMPLETED", "percent_done": 100,
                                           "size": 4000}))
    stub.on("POST", "/files/5/mp4", ok(mp4={"id": 5, "status": "IN_QUEUE"}))
    assert client.mp4_status("5").size == 4000
    assert client.start_mp4("5").status == "IN_QUEUE"


def test_transfers(stub, client):
    stub.on("GET", "/transfers/4", ok(transfer={"id": 4, "name": "ubuntu.iso",
                                               "status": "COMPLETED", "file_id": 80}))
    stub.on("POST", "/transfers/add", ok(transfer={"id": 5, "status": "IN_QUEUE"}))
    stub.on("POST", "/transfers/cancel", ok())
    stub.on("POST", "/transfers/retry", ok(transfer={"id": 4, "status": "IN_QUEUE"}))
    stub.on("POST", "/transfers/clean", ok(deleted_ids=[4, 6]))
    assert client.get_transfer("4").file_id == "80"
    assert client.add_transfer("https://x/a.iso", save_parent_id=0).id == "5"
    client.cancel_transfers(["5", 6])
    assert client.retry_transfer("4").status == "IN_QUEUE"
    assert client.clean_transfers() == ["4", "6"]
    assert client.clean_transfers(["4"]) == ["4", "6"]
    add, cancel, retry, clean_all, clean_some = stub.seen[1:]
    assert add.form == {"url": "https://x/a.iso", "save_parent_id": "0"}
    assert cancel.form == {"transfer_ids": "5,6"}
    assert retry.form == {"id": "4"}
    assert clean_all.body == b"" and clean_some.form == {"transfer_ids": "4"}


def test_events_page_back_with_before(stub, client):
    stub.on("GET", "/events/list", ok(events=[
        {"id": 9, "type": "transfer_completed", "user_id": 1,
         "created_at": "2016-06-16 11:12:57", "file_id": 3, "transfer_name": "x"},
        {"id": 7, "type": "zip_created", "user_id": 1, "created_at": "2016-06-15T00:00:00",
         "zip_id": 2}], has_more=True))
    page = client.list_events(before=10, per_page=2)
    assert [(e.id, e.type) for e in page.events] == [(9, "transfer_completed"),
                                                     (7, "zip_created")]
    assert page.has_more and page.events[1].data["zip_id"] == 2
    assert stub.seen[0].query == {"before": "10", "per_page": "2"}


def test_friends(stub, client):
    stub.on("GET", "/friends/list", ok(friends=[{"name": "ann", "avatar_url": "https://a/1"},
                                                {"username": "bob", "id": 3}]))
    assert [(f.name, f.id) for f in client.list_friends()] == [("ann", None), ("bob", "3")]


def test_trash_restore_and_delete_are_done_when_the_repeat_finds_them_gone(stub, client):
    stub.on("POST", "/trash/restore", Reply(drop=True), error(404, "TRASH_FILE_NOT_FOUND"))
    stub.on("POST", "/trash/delete", error(404, "TRASH_FILE_NOT_FOUND"))
    client.restore_from_trash(["1", "2"])
    assert [s.form for s in stub.seen] == [{"file_ids": "1,2"}] * 2
    with pytest.raises(NotFoundError):  # first attempt: really not there
        client.delete_from_trash(["3"])


def test_zip_create(stub, client):
    stub.on("POST", "/zips/create", ok(zip_id=12))
    assert client.create_zip(["1", "2"]) == "12"
    assert stub.seen[0].form == {"file_ids": "1,2"}


def test_extraction_start_and_status(stub, client):
    job = {"id": 7300, "name": "a.zip", "user_file_id": 41, "status": "NEW", "message": None,
           "percent_done": 0, "num_parts": 1, "folder_id": None, "files_count": 0,
           "created_at": "2025-03-14T09:26:53"}
    stub.on("POST", "/files/extract", ok(extractions=[job]))
    stub.on("GET", "/files/extract", ok(extractions=[
        {**job, "status": "ERROR", "message": "Wrong or missing password",
         "percent_done": 100}]))
    [started] = client.start_extraction(["41", "42"], "open sesame")
    assert stub.seen[0].form == {"user_file_ids": "41,42", "password": "open sesame"}
    assert (started.id, started.user_file_id, started.status) == ("7300", "41", "NEW")
    assert started.created_at == 1741944413.0
    [listed] = client.list_extractions()
    assert (listed.status, listed.message, listed.percent_done) == (
        "ERROR", "Wrong or missing password", 100)
    client.start_extraction(["41"])
    assert stub.seen[-1].form == {"user_file_ids": "41"}     # no password: none sent


def test_extraction_and_clone_are_never_repeated(stub, client):
    """A lost answer may hide a started job: asking again would unpack (or copy) twice."""
    stub.on("POST", "/files/extract", Reply(drop=True), ok(extractions=[]))
    stub.on("POST", "/sharing/clone", Reply(drop=True), ok(id=5))
    with pytest.raises(PutioError):
        client.start_extraction(["41"])
    with pytest.raises(PutioError):
        client.clone_shared(["8"], "0")
    assert len(stub.seen) == 2


def test_items_shared_with_you_and_their_copy(stub, client):
    stub.on("GET", "/files/items-shared-with-you", ok(
        files=[{**file_json(8, "plans.txt", parent_id=-2, size=35), "sender_name": "alice"}],
        parent={"id": -2, "name": "Items shared with you"}, cursor=None))
    stub.on("POST", "/sharing/clone", ok(id=91))
    stub.on("GET", "/sharing/clone/91", ok(shared_file_clone_status="DONE"))
    [item] = client.list_shared_with_you()
    assert (item.file.id, item.file.name, item.file.size, item.sender_name) == (
        "8", "plans.txt", 35, "alice")
    assert client.clone_shared(["8", "9"], "3") == "91"
    assert stub.seen[1].form == {"file_ids": "8,9", "parent_id": "3"}
    assert client.clone_status("91") == "DONE"
