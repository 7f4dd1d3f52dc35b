from dataclasses import dataclass

from putiofs import names


@dataclass
class It:
    id: str
    name: str
    is_dir: bool = False


def test_slash_is_shown_as_division_slash_and_mapped_back():
    shown = names.assign([It("5", "AC/DC - Live.txt")])
    assert list(shown) == ["AC\u2215DC - Live.txt"]
    assert names.to_remote("AC\u2215DC - Live.txt") == "AC/DC - Live.txt"


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
