"""``putiofs extract`` and ``putiofs shared-with-me`` against the v2 emulator, and v1's answer:
a real zip uploaded to the emulator is unpacked beside itself, a broken one ends in error with
put.io's message, and an item a friend shares is copied into the account's own folders."""

from __future__ import annotations

import binascii
import io
import struct
import zipfile

import pytest
import requests

from putiofs.emulator import EmulatorServer
from putiofs.emulator.account.seed import FRIEND_NAME, SHARED
from tests.support.commands_cli import Cli
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = pytest.mark.server(api="v2", token=V2_TOKEN, transfer_seconds=0.4)

MEMBERS = {"album/01 intro.txt": b"the first track\n", "album/cover.txt": b"a cover\n",
           "readme.md": b"# liner notes\n"}


def zipped(members: dict[str, bytes]) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return data.getvalue()


def upload(server: EmulatorServer, name: str, data: bytes, parent_id: int = 0) -> int:
    """Upload as put.io's clients do (multipart ``/v2/files/upload``); the new file's id."""
    answer = requests.post(f"{server.root_url}/v2/files/upload", files={"file": (name, data)},
                           data={"parent_id": parent_id}, timeout=10,
                           headers={"Authorization": f"Bearer {V2_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["file"]["id"])


@pytest.fixture
def api(server: EmulatorServer) -> V2Api:
    return V2Api(server)


def test_extract_wait_unpacks_the_zip_beside_it(cli: Cli, api: V2Api,
                                                server: EmulatorServer) -> None:
    folder = int(api.create_folder("0", "Downloads"))
    upload(server, "music.zip", zipped(MEMBERS), folder)
    result = cli("extract", "--wait", "--interval", "0.1", "/Downloads/music.zip")
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()   # not a terminal: a line per change, the last one DONE
    assert lines[-1].startswith("[" + "#" * 30 + "] 100%  DONE  music.zip")
    assert "(3 file(s) in folder" in lines[-1]
    unpacked = {path: item for path, item in api.walk(folder) if path.startswith("/music/")}
    files = {path: item for path, item in unpacked.items()
             if item["content_type"] != "application/x-directory"}
    assert set(files) == {"/music/" + name for name in MEMBERS}
    for name, body in MEMBERS.items():
        stored = requests.get(api.get(f"/files/{files['/music/' + name]['id']}/url")["url"],
                              timeout=10)
        assert stored.content == body
    listed = cli("extract", "--status", "--json")
    assert listed.code == 0, listed.err
    [job] = listed.json()
    assert job["name"] == "music.zip" and job["status"] == "DONE"
    assert job["files_count"] == 3 and job["percent_done"] == 100
    table = cli("extract", "--status").out.splitlines()
    assert table[0].split() == ["ID", "STATUS", "DONE", "FILES", "FOLDER", "NAME"]
    assert table[1].split()[1:4] == ["DONE", "100%", "3"] and table[1].endswith("music.zip")


def test_without_wait_the_jobs_are_printed_and_status_follows_them(
        cli: Cli, server: EmulatorServer) -> None:
    first = upload(server, "one.zip", zipped({"a.txt": b"a"}))
    upload(server, "two.zip", zipped({"b.txt": b"b"}))
    started = cli("extract", "--json", str(first), "/two.zip")   # an id and a path
    assert started.code == 0, started.err
    jobs = started.json()
    assert [job["name"] for job in jobs] == ["one.zip", "two.zip"]
    assert all(job["status"] in ("NEW", "EXTRACTING") for job in jobs)
    assert all(job["file_id"] for job in jobs)
    followed = cli("extract", "--status", "--wait", "--interval", "0.1")
    assert followed.code == 0, followed.err
    last = {line.split()[3]: line.split()[2] for line in followed.out.splitlines()}
    assert last == {"one.zip": "DONE", "two.zip": "DONE"}   # each job's last line
    assert [(job["name"], job["status"]) for job in cli("extract", "--status", "--json").json()
            ] == [("one.zip", "DONE"), ("two.zip", "DONE")]


def test_a_broken_archive_ends_in_error_naming_it(cli: Cli, api: V2Api,
                                                 server: EmulatorServer) -> None:
    upload(server, "broken.zip", b"PK\x03\x04 this is not really a zip")
    upload(server, "good.zip", zipped({"fine.txt": b"fine"}))
    result = cli("extract", "--wait", "--interval", "0.1", "/broken.zip", "/good.zip")
    assert result.code == 1
    [error] = result.err.splitlines()
    assert error.startswith("putiofs: error: broken.zip: Cannot read the archive")
    assert "ERROR: Cannot read the archive" in result.out
    assert api.find(0, "broken") is None          # nothing added for the broken one
    good = api.find(0, "good")
    assert good is not None and [f["name"] for f in api.children(good["id"])] == ["fine.txt"]


def test_extract_refusals(cli: Cli, server: EmulatorServer) -> None:
    missing = cli("extract", "/no/such.zip")
    assert (missing.code, missing.err) == (
        1, "putiofs: error: /no/such.zip: no such file or folder\n")
    folder = cli("extract", "/Movies")
    assert (folder.code, folder.err) == (
        1, "putiofs: error: /Movies: a folder is not an archive\n")
    not_archive = cli("extract", "/README.txt")
    assert not_archive.code == 1
    assert not_archive.err.startswith("putiofs: error: ")       # put.io's refusal, one line
    assert "Not an archive: README.txt" in not_archive.err and not_archive.err.count("\n") == 1
    assert cli("extract").code == 1
    with pytest.raises(SystemExit):   # a password on the command line is refused unread
        cli("extract", "--password", "hunter2", "/README.txt")
    assert cli("extract", "--status", "--json").json() == []


def test_an_encrypted_zip_needs_its_password(cli: Cli, api: V2Api, server: EmulatorServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """put.io's message for a missing password is the error line (the emulator cannot write
    encrypted zips itself, so the wrong-password path is what is checked)."""
    upload(server, "locked.zip", _zipcrypto({"secret.txt": b"top secret"}, b"sesame"))
    monkeypatch.setattr("sys.stdin", io.StringIO("not the password\n"))
    wrong = cli("extract", "--wait", "--interval", "0.1", "--password", "-", "/locked.zip")
    assert wrong.code == 1
    assert wrong.err == "putiofs: error: locked.zip: Wrong or missing password\n"
    assert "not the password" not in wrong.out + wrong.err
    monkeypatch.setattr("sys.stdin", io.StringIO("sesame\n"))
    right = cli("extract", "--wait", "--interval", "0.1", "--password", "-", "/locked.zip")
    assert right.code == 0, right.err
    folder = api.find(0, "locked")
    assert folder is not None and [f["name"] for f in api.children(folder["id"])] == [
        "secret.txt"]


def _zipcrypto(members: dict[str, bytes], password: bytes) -> bytes:
    """A zip whose members are stored and encrypted with ZipCrypto (traditional PKWARE), which
    Python's zipfile reads but cannot write."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def crc(value: int, byte: int) -> int:
        return (binascii.crc32(bytes([byte]), value ^ 0xFFFFFFFF) ^ 0xFFFFFFFF) & 0xFFFFFFFF

    def update(byte: int) -> None:
        keys[0] = crc(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc(keys[2], keys[1] >> 24)

    def encrypt(data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            update(byte)
        return bytes(out)

    body, central = bytearray(), bytearray()
    for name, data in members.items():
        keys[:] = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            update(byte)
        checksum = binascii.crc32(data) & 0xFFFFFFFF
        header = bytes(11) + bytes([checksum >> 24])
        payload = encrypt(header) + encrypt(data)
        encoded = name.encode()
        offset = len(body)
        fields = struct.pack("<HHHHHIIIHH", 20, 1, 0, 0, 0, checksum, len(payload), len(data),
                             len(encoded), 0)
        body += b"PK\x03\x04" + fields + encoded + payload
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                    + struct.pack("<HHHII", 0, 0, 0, 0, offset) + encoded)
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(body), 0)
    return bytes(body + central + b"PK\x05\x06" + end)


def test_shared_with_me_lists_and_copies_what_a_friend_shares(cli: Cli, api: V2Api) -> None:
    listed = cli("shared-with-me", "--json")
    assert listed.code == 0, listed.err
    [item] = listed.json()
    assert (item["name"], item["sender"], item["size"]) == (
        "holiday plans.txt", FRIEND_NAME, len(SHARED.encode()))
    table = cli("shared-with-me", "list").out.splitlines()
    assert table[0].split() == ["ID", "SIZE", "FROM", "NAME"]
    assert table[1].split()[2:] == [FRIEND_NAME, "holiday", "plans.txt"]
    target = api.create_folder("0", "Mine")
    copied = cli("shared-with-me", "copy", item["id"], "--to", "/Mine")
    assert copied.code == 0, copied.err
    assert copied.out == f"copied {item['id']} holiday plans.txt to /Mine\n"
    [copy] = api.children(int(target))
    assert copy["name"] == "holiday plans.txt" and str(copy["id"]) != item["id"]
    assert requests.get(api.get(f"/files/{copy['id']}/url")["url"],
                        timeout=10).content == SHARED.encode()


def test_copy_of_an_id_not_shared_with_you_is_an_error_line(cli: Cli, api: V2Api) -> None:
    shared = cli("shared-with-me", "--json").json()[0]["id"]
    readme = str(api.find(0, "README.txt")["id"])
    result = cli("shared-with-me", "copy", "--json", readme, shared)
    assert result.code == 1
    assert result.err == f"putiofs: error: {readme}: not shared with you\n"
    assert result.json() == {"copied": [shared], "to": "0"}
    assert [f["name"] for f in api.children(0)].count("holiday plans.txt") == 1
    assert cli("shared-with-me", "copy", shared, "--to", "/README.txt").code == 1


def test_v1_has_neither(emulator_factory, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(emulator_factory(demo=True), monkeypatch, capsys)
    for argv, service in ((["extract", "/README.txt"], "extract"),
                          (["extract", "--status"], "extract"),
                          (["shared-with-me"], "shared-with-me"),
                          (["shared-with-me", "copy", "1"], "shared-with-me")):
        result = cli(*argv)
        assert result.code == 1, argv
        assert result.err == f"putiofs: error: {service} is not available on the put.io API v1\n"
