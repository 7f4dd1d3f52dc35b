"""The v2 emulator's shares (``files/share``, ``files/shared``, ``files/{id}/shared-with``,
``files/{id}/unshare``) as raw HTTP."""

from __future__ import annotations

from tests.support.emulator_v2_http import V2, failed, ok

pytest_plugins = ("tests.support.emulator_v2_http",)


def _ids(v2: V2, *names: str) -> list[int]:
    by_name = {f["name"]: f["id"] for f in v2.listing()}
    return [by_name[name] for name in names]


def _shared(v2: V2) -> list[dict]:
    return ok(v2.get("files/shared"))["shared"]


def test_nothing_is_shared_at_first(v2):
    assert _shared(v2) == []
    assert not any(f["is_shared"] for f in v2.listing() if f["name"] != "alice")


def test_share_with_everyone_and_with_a_friend(v2):
    docs, music = _ids(v2, "Documents", "Music")
    ok(v2.post("files/share", data={"file_ids": str(docs), "friends": "everyone"}))
    ok(v2.post("files/share", data={"file_ids": f"{music}", "friends": "alice"}))
    ok(v2.post("files/share", data={"file_ids": f"{music}", "friends": "alice"}))  # no double
    assert _shared(v2) == sorted([
        {"file_id": docs, "file_name": "Documents", "shared_with": "everyone"},
        {"file_id": music, "file_name": "Music", "shared_with": 1}],
        key=lambda s: s["file_id"])
    with_whom = ok(v2.get(f"files/{music}/shared-with"))["shared-with"]
    assert [s["user_name"] for s in with_whom] == ["alice"]
    assert isinstance(with_whom[0]["share_id"], int)
    assert ok(v2.get(f"files/{docs}/shared-with"))["shared-with"] == []
    listed = {f["name"]: f["is_shared"] for f in v2.listing()}
    assert listed["Documents"] and listed["Music"]


def test_share_refuses_bad_input_and_shares_nothing(v2):
    docs, = _ids(v2, "Documents")
    failed(v2.post("files/share", data={"file_ids": str(docs), "friends": "mallory"}), 400,
           "FRIEND_NOT_FOUND")
    failed(v2.post("files/share", data={"file_ids": f"{docs},987654", "friends": "everyone"}),
           404, "NotFound")
    failed(v2.post("files/share", data={"file_ids": "0", "friends": "everyone"}), 400,
           "CANNOT_SHARE_ROOT")
    failed(v2.post("files/share", data={"friends": "everyone"}), 400)
    failed(v2.post("files/share", data={"file_ids": str(docs)}), 400)
    assert _shared(v2) == []


def test_unshare_by_share_id_and_everyone(v2):
    docs, music = _ids(v2, "Documents", "Music")
    ok(v2.post("files/share", data={"file_ids": f"{docs},{music}", "friends": "alice"}))
    ok(v2.post("files/share", data={"file_ids": str(docs), "friends": "everyone"}))
    share_id = ok(v2.get(f"files/{music}/shared-with"))["shared-with"][0]["share_id"]
    failed(v2.post(f"files/{music}/unshare", data={"shares": "999999"}), 404,
           "SHARE_NOT_FOUND")
    failed(v2.post(f"files/{music}/unshare", data={}), 400)
    ok(v2.post(f"files/{music}/unshare", data={"shares": str(share_id)}))
    assert [s["file_id"] for s in _shared(v2)] == [docs]
    ok(v2.post(f"files/{docs}/unshare", data={"shares": "everyone"}))
    assert _shared(v2) == []
    failed(v2.get("files/987654/shared-with"), 404)


def test_a_trashed_item_is_not_listed_until_restored(v2):
    docs, = _ids(v2, "Documents")
    ok(v2.post("files/share", data={"file_ids": str(docs), "friends": "everyone"}))
    ok(v2.post("files/delete", data={"file_ids": str(docs)}))
    assert _shared(v2) == []
    ok(v2.post("trash/restore", data={"file_ids": str(docs)}))
    assert [s["file_id"] for s in _shared(v2)] == [docs]


def test_shares_need_the_token(v2):
    failed(v2.get("files/shared", headers={}), 401)
