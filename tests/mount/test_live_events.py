"""Changes made elsewhere show at once on a v2 mount with realtime events, on real
mounts with ``--cache-ttl 600``: without the events nothing here would show for ten minutes.

Each change is made through put.io's API (raw HTTP), never through the mount; ``ls`` is
polled for a few seconds (a bound, not a speed claim: speed is ``bench/events.py``'s).
"""

from __future__ import annotations

import functools
import os
import time

import pytest
import requests

from tests.support import polling
from tests.support.mounting import requires_fuse
from tests.support.versions import V2Api

TOKEN = "live-events-token-0123456789"
WAIT = 8.0
#: Polling with this module's bound, unless a call gives ``seconds``.
wait_for = functools.partial(polling.wait_for, seconds=WAIT)

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=TOKEN)]


@pytest.fixture
def api(server) -> V2Api:
    return V2Api(server)


def socket_status(server) -> dict:
    return requests.get(f"{server.root_url}/_emulator/socket", timeout=10).json()


def socket_hook(server, what: str, **params) -> dict:
    answer = requests.post(f"{server.root_url}/_emulator/socket/{what}", params=params,
                           timeout=10)
    answer.raise_for_status()
    return answer.json()


def wait_connected(server, clients: int = 1) -> None:
    assert wait_for(lambda: socket_status(server)["clients"] >= clients, seconds=20), \
        "the mount never connected to the realtime socket"


def listed(path) -> list[str]:
    return sorted(os.listdir(path))


def test_created_renamed_moved_and_deleted_through_the_api_show_in_ls(server, api,
                                                                       mount_factory):
    mount = mount_factory(server, "--cache-ttl", "600")
    music = mount.path / "Music"
    assert "Fresh" not in listed(mount.path) and listed(music)  # both listed, so cached
    wait_connected(server)

    folder = api.create_folder("0", "Fresh")
    assert wait_for(lambda: "Fresh" in listed(mount.path)), listed(mount.path)
    assert os.path.isdir(mount.path / "Fresh")

    api.post("/files/rename", file_id=folder, name="Renamed")
    assert wait_for(lambda: "Renamed" in listed(mount.path)
                    and "Fresh" not in listed(mount.path)), listed(mount.path)
    # The kernel keeps a looked-up name for up to 1 s (fusepy cannot drop it; see docs/mount.md).
    assert wait_for(lambda: not os.path.exists(mount.path / "Fresh"))

    music_id = api.find(0, "Music")["id"]
    api.post("/files/move", file_ids=folder, parent_id=music_id)
    assert wait_for(lambda: "Renamed" in listed(music)
                    and "Renamed" not in listed(mount.path)), (listed(mount.path), listed(music))

    api.post("/files/delete", file_ids=folder)
    assert wait_for(lambda: "Renamed" not in listed(music)), listed(music)
    assert wait_for(lambda: not os.path.exists(music / "Renamed"))


def test_a_file_uploaded_elsewhere_shows_with_its_size(server, api, mount_factory):
    mount = mount_factory(server, "--cache-ttl", "600")
    listed(mount.path)
    wait_connected(server)
    server.account.add_file("0", "from-elsewhere.bin", b"x" * 1234)  # as another device would
    assert wait_for(lambda: "from-elsewhere.bin" in listed(mount.path))
    assert (mount.path / "from-elsewhere.bin").read_bytes() == b"x" * 1234


def test_the_socket_dropped_falls_back_then_catches_up_after_reconnecting(server, api,
                                                                          mount_factory):
    mount = mount_factory(server, "--cache-ttl", "600")
    listed(mount.path)
    wait_connected(server)
    socket_hook(server, "refuse", seconds=3)
    socket_hook(server, "drop")
    assert wait_for(lambda: socket_status(server)["clients"] == 0)
    api.create_folder("0", "Made while away")  # no one hears this event
    wait_connected(server)
    # The reconnect re-lists what the mount holds: the change made meanwhile shows.
    assert wait_for(lambda: "Made while away" in listed(mount.path)), listed(mount.path)
    assert "realtime events connected" in mount.log()


def test_a_lost_event_is_healed_by_the_ttl(server, api, mount_factory):
    mount = mount_factory(server, "--cache-ttl", "2")
    listed(mount.path)
    wait_connected(server)
    socket_hook(server, "lose", count=1)
    api.create_folder("0", "Lost event")
    assert wait_for(lambda: socket_status(server)["lost"] == 1)
    assert wait_for(lambda: "Lost event" in listed(mount.path), seconds=10), listed(mount.path)


def test_a_refused_token_keeps_the_mount_working_by_ttl_and_logs_once(server, api,
                                                                       emulator_factory,
                                                                       mount_factory):
    other = emulator_factory(api="v2", token="another-account-token")  # its socket says 4001
    mount = mount_factory(server, "--cache-ttl", "1", socket_url=other.socket_url)
    listed(mount.path)
    assert wait_for(lambda: "refused the token" in mount.log(), seconds=10), mount.log()
    api.create_folder("0", "Seen by TTL")
    assert wait_for(lambda: "Seen by TTL" in listed(mount.path), seconds=10)
    assert mount.log().count("refused the token") == 1
    assert TOKEN not in mount.log()
    assert socket_status(other)["clients"] == 0


def test_no_events_turns_the_listener_off(server, api, mount_factory):
    mount = mount_factory(server, "--cache-ttl", "600", "--no-events")
    listed(mount.path)
    time.sleep(1.0)
    assert socket_status(server)["clients"] == 0
    api.create_folder("0", "Unheard")
    time.sleep(2.0)
    assert "Unheard" not in listed(mount.path)  # the 600 s listing stands: nothing listens
