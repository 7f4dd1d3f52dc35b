"""``putiofs extract --wait`` without a server: the progress lines, following scripted jobs on a
terminal and in a pipe (the drawing ``transfers watch`` uses), and the error lines at the end."""

from __future__ import annotations

import io

import pytest

from putiofs.api.services import Extraction
from putiofs.commands.jobs.extract import follow, progress_line, render, report_failures
from putiofs.commands.watch import ProgressDisplay

FULL = "#" * 30


def job(status: str, percent: int | None = None, **fields) -> Extraction:
    return Extraction(id="7", name="album.zip", file_id="41", status=status,
                      percent_done=percent, **fields)


@pytest.mark.parametrize("extraction,line", [
    (job("NEW", 0), f"[{'-' * 30}]   0%  NEW  album.zip"),
    (job("EXTRACTING", 50), f"[{'#' * 15}{'-' * 15}]  50%  EXTRACTING  album.zip"),
    (job("EXTRACTING"), f"[{' ' * 30}]    -  EXTRACTING  album.zip"),
    (job("DONE", 100, folder_id="90", files_count=3),
     f"[{FULL}] 100%  DONE  album.zip  (3 file(s) in folder 90)"),
    (job("ERROR", 100, message="Wrong\npassword"),
     f"[{' ' * 30}]    -  ERROR: Wrong\\npassword  album.zip"),     # escaped, no bar
    (None, f"[{' ' * 30}]    -  Gone (no longer listed)  (extraction 7)"),
])
def test_progress_lines(extraction, line):
    assert progress_line("7", extraction) == line


class Scripted:
    """``list_extractions`` answers in turn, the last one repeated."""

    def __init__(self, *answers: list[Extraction]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def list_extractions(self) -> list[Extraction]:
        self.calls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_follow_in_a_pipe_writes_a_line_per_change():
    other = Extraction(id="8", name="other.zip", status="DONE", percent_done=100)
    services = Scripted([job("NEW", 0), other], [job("NEW", 0), other],
                        [job("EXTRACTING", 40), other], [job("DONE", 100, files_count=2,
                                                             folder_id="90"), other])
    out = io.StringIO()
    final = follow(services, ["7"], interval=0, display=ProgressDisplay(out, tty=False),
                   sleep=lambda _: None)
    assert final == [job("DONE", 100, files_count=2, folder_id="90")]
    assert services.calls == 4
    assert [line.split("]")[1].split()[1:3] for line in out.getvalue().splitlines()] == [
        ["NEW", "album.zip"], ["EXTRACTING", "album.zip"], ["DONE", "album.zip"]]


def test_follow_on_a_terminal_redraws_in_place():
    services = Scripted([job("EXTRACTING", 40), Extraction(id="9", status="NEW")],
                        [job("ERROR", 100, message="Cannot read the archive")])
    out = io.StringIO()
    final = follow(services, ["7", "9"], interval=0, display=ProgressDisplay(out, tty=True),
                   sleep=lambda _: None)
    assert final[1] is None                         # no longer listed: followed no more
    drawn = out.getvalue()
    assert drawn.count("\r\x1b[2K") == 4 and drawn.count("\x1b[2A") == 1
    assert report_failures(["7", "9"], final) == 1


def test_failures_name_the_archive_and_put_ios_message(capsys):
    jobs = [job("ERROR", message="Wrong or missing password"), None, job("DONE", 100)]
    assert report_failures(["7", "8", "9"], jobs) == 1
    assert capsys.readouterr().err.splitlines() == [
        "putiofs: error: album.zip: Wrong or missing password",
        "putiofs: error: extraction 8: put.io no longer lists it"]
    assert report_failures(["9"], [job("DONE", 100)]) == 0


def test_status_table():
    assert render([]) == "no extraction jobs\n"
    lines = render([job("EXTRACTING", 45), job("ERROR", 100, message="bad")]).splitlines()
    assert lines[0].split() == ["ID", "STATUS", "DONE", "FILES", "FOLDER", "NAME"]
    assert lines[1].split() == ["7", "EXTRACTING", "45%", "-", "-", "album.zip"]
    assert lines[2].split() == ["7", "ERROR:", "bad", "100%", "-", "-", "album.zip"]
