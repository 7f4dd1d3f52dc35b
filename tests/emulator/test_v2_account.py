"""The v2 account services (:class:`putiofs.v2.account.V2Services`) against the v2 emulator:
transfers in v1's words, a refused link among good ones, history events, the account's disk
and trash, and the services v2 lacks."""

from __future__ import annotations

import time

import pytest

from putiofs.api.errors import NotFoundError, NotSupportedError
from putiofs.api.services import Service, SubscriptionFields
from putiofs.v2.account import V2Services, status_words
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire

TOKEN = "account-token-0123456789"


@pytest.fixture
def make_services(emulator_factory):
    clients: list[V2Client] = []

    def make(**options) -> tuple[V2Services, object]:
        server = emulator_factory(api="v2", demo=True, token=TOKEN, **options)
        client = V2Client(V2Wire(TOKEN, base_url=server.base_url))
        clients.append(client)
        return V2Services(client), server

    yield make
    for client in clients:
        client.wire.close()


@pytest.mark.parametrize("status,message,words", [
    ("IN_QUEUE", None, "In queue"),
    ("DOWNLOADING", None, "Downloading"),
    ("WAITING_FOR_COMPLETE_QUEUE", None, "Waiting for complete queue"),
    ("COMPLETED", None, "Completed"),
    ("ERROR", "Could not fetch", "Error: Could not fetch"),
    ("ERROR", "Error: Could not fetch", "Error: Could not fetch"),
    ("ERROR", None, "Error"),
    (None, None, None),
])
def test_statuses_are_worded_as_v1_words_them(status, message, words):
    assert status_words(status, message) == words


def test_transfers_add_list_finish_and_post_events(make_services):
    services, _ = make_services(transfer_seconds=0.2)
    added = services.add_transfers(["http://example.com/pub/disk.iso", ""])
    assert [t.name for t in added.transfers] == ["disk.iso", ""]
    assert [t.id for t in added.failed] == [None]
    assert added.failed[0].is_error and added.failed[0].status.startswith("Error: ")
    transfer_id = added.transfers[0].id
    for _ in range(100):
        listed = {t.id: t for t in services.list_transfers()}
        if listed[transfer_id].is_completed:
            break
        time.sleep(0.05)
    done = listed[transfer_id]
    assert done.is_completed and done.percent_done == 100 and done.file_id
    events = services.list_events()
    completed = [e for e in events if e.type == "transfer_completed"]
    assert completed and completed[0].name == "disk.iso" and completed[0].size
    assert completed[0].created_at and len(completed[0].created_at) == 19
    assert services.clean_transfers() == [transfer_id]
    assert services.list_transfers() == []


def test_a_failed_transfer_is_reported_and_retried(make_services):
    services, _ = make_services(transfer_seconds=0.1)
    added = services.add_transfers(["http://host.invalid/x.zip"])
    transfer_id = added.transfers[0].id
    for _ in range(100):
        current = {t.id: t for t in services.list_transfers()}[transfer_id]
        if current.is_error:
            break
        time.sleep(0.05)
    assert current.is_error and current.status.startswith("Error: ")
    assert not services.retry_transfer(transfer_id).is_completed


def test_cancelling_an_unknown_transfer_is_an_error(make_services):
    services, _ = make_services()
    with pytest.raises(NotFoundError):
        services.cancel_transfer("999999")
    transfer = services.add_transfers(["http://example.com/a.iso"]).transfers[0]
    services.cancel_transfer(transfer.id)
    assert transfer.id not in {t.id for t in services.list_transfers()}


@pytest.mark.parametrize("trash", [True, False])
def test_the_account_s_disk_and_trash(make_services, trash):
    services, server = make_services(trash_enabled=trash)
    account = services.account()
    assert account.user_name == "demo" and account.trash_enabled is trash
    assert account.disk_quota == server.options.disk_size
    assert account.disk_quota - account.disk_used == account.disk_quota_available
    assert account.trash_size == 0
    assert [f.name for f in services.friends()] and all(f.dir_id for f in services.friends())


def test_search_gives_entries_with_dates(make_services):
    services, _ = make_services()
    found = services.search("330hz")
    assert [e.name for e in found] == ["tone-330hz.mp3"]
    assert found[0].mtime and found[0].crc32 and not found[0].is_dir


def test_what_v2_lacks_says_so(make_services):
    services, _ = make_services()
    missing = {Service.MESSAGES, Service.SUBSCRIPTIONS, Service.LINK_ANALYSIS,
               Service.LINK_EXTRACTION}
    assert services.available.isdisjoint(missing)
    for call in (services.list_messages, services.list_subscriptions,
                 lambda: services.delete_message("1"),
                 lambda: services.create_subscription(SubscriptionFields("t", "u")),
                 lambda: services.analyze_links(["http://example.com/a"]),
                 lambda: services.extract_links("text")):
        with pytest.raises(NotSupportedError, match="is not available on the put.io API v2"):
            call()
