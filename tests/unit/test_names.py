import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from putiofs.tree import names


@dataclass
class It:
    id: str
    name: str
    is_dir: bool = False


def test_slash_is_shown_as_division_slash_and_mapped_back():
    shown = names.assign([It("5", "AC/DC - Live.txt")])
    assert list(shown) == ["AC\u2215DC - Live.txt"]
    assert names.to_remote("AC\u2215DC - Live.txt") == "AC/DC - Live.txt"


def test_a_name_of_nothing_but_white_space_is_refused_where_put_io_refuses_it():
    for name in (" ", "   ", "\t", " \u3000 "):
        with pytest.raises(names.InvalidName):
            names.to_remote(name, slash=False, blank=False)  # v2: EMPTY_NAME
        assert names.to_remote(name) == name  # v1 stores it
    assert names.to_remote(" a ", blank=False) == " a "  # kept as typed


def test_duplicates_get_id_suffixes_that_do_not_depend_on_order_or_neighbours():
    a, b, c = It("10", "movie.mkv"), It("7", "movie.mkv"), It("30", "movie.mkv")
    first = names.assign([a, b, c])
    again = names.assign([c, a, b, It("99", "other.txt")])
    assert first == {k: v for k, v in again.items() if k != "other.txt"}
    assert first["movie.mkv"] is b
    assert first["movie [#10].mkv"] is a
    assert first["movie [#30].mkv"] is c


def test_a_folder_wins_the_plain_name_over_a_file():
    file_, folder = It("1", "Music"), It("2", "Music", is_dir=True)
    shown = names.assign([file_, folder])
    assert shown["Music"] is folder
    assert shown["Music [#1]"] is file_


def test_reserved_names_are_always_suffixed():
    shown = names.assign([It("3", "."), It("4", ".."), It("5", "")])
    assert set(shown) == {". [#3]", ".. [#4]", " [#5]"}


def test_long_names_are_cut_to_255_bytes_keeping_extension_and_uniqueness():
    long_a = It("1", "é" * 200 + ".mp4")
    long_b = It("2", "é" * 200 + "x.mp4")
    shown = names.assign([long_a, long_b])
    assert len(shown) == 2
    for name, item in shown.items():
        assert len(name.encode()) <= names.NAME_MAX
        assert name.endswith(f"[#{item.id}].mp4")
        name.encode("utf-8")


def test_unencodable_characters_become_replacement_characters():
    shown = names.assign([It("1", "bad\ud800name\0.txt")])
    (name,) = shown
    name.encode("utf-8")
    assert name == "bad\ufffdname\ufffd.txt"


def test_a_real_name_equal_to_a_generated_one_stays_unique():
    items = [It("1", "a.txt"), It("2", "a.txt"), It("3", "a [#2].txt")]
    shown = names.assign(items)
    assert len(shown) == 3
    assert sorted(i.id for i in shown.values()) == ["1", "2", "3"]


def test_a_real_name_equal_to_a_cut_generated_one_does_not_hang_the_listing():
    """A 300-byte name is shown cut, ``bbb…[#2]``; a file uploaded under exactly that shown
    name claims the same name, and its duplicate must still get a distinct one (this used to
    loop for ever, hanging the FUSE call)."""
    long_name = "b" * 300
    shown_as = names.suffixed(long_name, "2")
    items = [It("1", shown_as), It("2", long_name)]
    shown = names.assign(items)
    assert len(shown) == 2 and shown[shown_as] is items[0]
    for name in shown:
        assert len(name.encode()) <= names.NAME_MAX
    table = names.NameTable(items)
    assert table.shown == shown


def test_shown_names_do_not_depend_on_listing_order():
    items = [It("1", "a.txt"), It("2", "a.txt"), It("3", "a [#2].txt"), It("4", "a [#2].txt"),
             It("5", "a [#2~1].txt"), It("6", ".."), It("7", ".. [#6]", is_dir=True)]
    first = names.assign(items)
    assert len(first) == len(items)
    for seed in range(20):
        shuffled = list(items)
        random.Random(seed).shuffle(shuffled)
        assert names.assign(shuffled) == first


# -- the incremental table: the same answer as assign() after any edits -------------------

_IDS = ["1", "2", "3", "4", "5", "x"]
# Few base names, and real names equal to the names duplicates are given (`a [#2].txt`,
# `a [#2~1].txt`, cut long names), so that duplicates collide with real names and with each
# other: "r [#3]." with id 4 and "r. [#4]" with id 3 are both given "r [#3]. [#4]".
_BASE = ["a.txt", ".", "b" * 300, "r [#3].", "r. [#4]", "cafe\u0301", "caf\u00e9"]
_DERIVED = [names.suffixed(base, tag) for base in _BASE[:3] for i in _IDS
            for tag in (i, f"{i}~1")] + [names.suffixed("r [#3].", "4")]
_name = st.one_of(st.sampled_from(_BASE), st.sampled_from(_DERIVED))
_item = st.builds(It, st.sampled_from(_IDS), _name, st.booleans())
_edit = st.one_of(st.tuples(st.just("put"), _item), st.tuples(st.just("discard"),
                                                              st.sampled_from(_IDS)))


def _ids(shown: dict) -> dict[str, str]:
    return {name: item.id for name, item in shown.items()}


@settings(max_examples=500, deadline=None)
@given(st.lists(_item, max_size=12), st.lists(_edit, max_size=25))
def test_a_table_edited_item_by_item_shows_what_assign_shows(initial, edits):
    current = {item.id: item for item in initial}
    table = names.NameTable(initial)
    for action, arg in edits:
        if action == "put":
            current[arg.id] = arg
            table.put(arg)
        else:
            current.pop(arg, None)
            table.discard(arg)
        assert _ids(table.shown) == _ids(names.assign(current.values()))
        assert table.items == current
    for name in table.shown:
        assert table.lookup(name) is table.shown[name]


def test_the_table_finds_a_name_typed_in_another_normal_form_unless_ambiguous():
    table = names.NameTable([It("1", "cafe\u0301.txt"), It("2", "other.txt")])
    assert table.lookup("caf\u00e9.txt").id == "1"
    table.put(It("3", "caf\u00e9.txt"))  # now both forms exist: exact matches only
    assert table.lookup("caf\u00e9.txt").id == "3"
    assert table.lookup("cafe\u0301.txt").id == "1"
    table.discard("3")
    table.put(It("4", "CAFE\u0301.txt"))
    assert table.lookup("caf\u00e9.txt").id == "1"
    table.put(It("5", "caf\u00e9\u0301.txt"))
    table.discard("1")
    assert table.lookup("caf\u00e9.txt") is None


def test_one_edit_of_a_big_folder_names_only_its_own_group(monkeypatch):
    table = names.NameTable([It(str(i), f"item-{i % 19_000}.txt") for i in range(20_000)])
    calls = []
    real_clean = names.clean
    monkeypatch.setattr(names, "clean", lambda name: calls.append(name) or real_clean(name))
    table.discard("5")                         # a duplicate's winner: its twin takes the name
    table.put(It("20000", "item-7.txt"))       # a new duplicate
    table.put(It("7", "renamed.txt"))          # a rename
    assert table.shown["item-5.txt"].id == "19005"
    assert table.shown["item-7 [#20000].txt"].id == "20000"
    assert len(calls) <= 12


def test_a_duplicate_of_higher_priority_takes_a_contested_name_from_a_lower_one():
    """Both duplicates are given ``r [#3]. [#4]`` (see _BASE); the lower id keeps it, whichever
    came first, and the other one gets it back when the first is gone."""
    table = names.NameTable([It("1", "r [#3]."), It("4", "r [#3]."), It("2", "r. [#4]")])
    assert table.shown["r [#3]. [#4]"].id == "4"
    table.put(It("3", "r. [#4]"))
    assert table.shown["r [#3]. [#4]"].id == "3"
    assert _ids(table.shown) == _ids(names.assign(table.items.values()))
    table.discard("3")
    assert table.shown["r [#3]. [#4]"].id == "4"
    assert _ids(table.shown) == _ids(names.assign(table.items.values()))


def test_a_new_version_takes_the_place_of_the_file_it_replaced_among_same_named_ones():
    old, sibling, new = It("10", "notes.txt"), It("20", "notes.txt"), It("30", "notes.txt")
    seniority = names.Seniority()
    assert seniority.inherit(new, old, [old, sibling, new])
    table = names.NameTable([sibling, new], seniority)
    shown = {"notes.txt": "30", "notes [#20].txt": "20"}
    assert _ids(table.shown) == shown == _ids(names.assign([sibling, new], seniority))
    newer = It("40", "notes.txt")
    assert seniority.inherit(newer, new, [sibling, new, newer])  # the place passes on
    table.discard("30")
    table.put(newer)
    assert _ids(table.shown) == {"notes.txt": "40", "notes [#20].txt": "20"}
    assert _ids(names.assign([sibling, newer])) == {"notes.txt": "20", "notes [#40].txt": "40"}


def test_a_place_is_recorded_only_where_it_matters():
    old, new = It("10", "a.txt"), It("30", "a.txt")
    seniority = names.Seniority()
    assert not seniority.inherit(new, old, [old, new])                     # no sibling
    assert not seniority.inherit(new, It("10", "b.txt"), [It("5", "a.txt")])  # another name
    assert not seniority.inherit(It("3", "a.txt"), old, [It("5", "a.txt")])   # ranks first
    assert seniority.ranks() == {}
