"""``V2Services.list_events(before=, limit=)``: paging back over put.io's pages, and never
looping on a server that ignores ``before``."""

from __future__ import annotations

from putiofs.v2.account import V2Services
from putiofs.v2.models import Event, EventsPage


class History:
    """A history of ``count`` events (ids 1..count) served ``page`` at a time, newest first;
    ``honours_before`` False: a server that ignores ``before`` and always sends the newest."""

    def __init__(self, count: int, page: int, *, honours_before: bool = True) -> None:
        self.ids = list(range(count, 0, -1))
        self.page = page
        self.honours_before = honours_before
        self.calls: list[tuple[int | None, int | None]] = []

    def list_events(self, *, before: int | None = None, per_page: int | None = None
                    ) -> EventsPage:
        self.calls.append((before, per_page))
        ids = [i for i in self.ids if before is None or not self.honours_before or i < before]
        size = min(per_page or self.page, self.page)
        return EventsPage(events=tuple(Event(id=i, type="upload") for i in ids[:size]),
                          has_more=len(ids) > size)


def test_a_limit_is_met_over_several_pages() -> None:
    history = History(120, page=50)
    events = V2Services(history).list_events(limit=110)  # type: ignore[arg-type]
    assert [e.id for e in events] == list(range(120, 10, -1))
    assert [before for before, _ in history.calls] == [None, 71, 21]


def test_before_and_the_end_of_the_history() -> None:
    history = History(30, page=50)
    events = V2Services(history).list_events(before=11, limit=500)  # type: ignore[arg-type]
    assert [e.id for e in events] == list(range(10, 0, -1))
    assert len(history.calls) == 1


def test_without_a_limit_one_page() -> None:
    history = History(120, page=50)
    assert len(V2Services(history).list_events()) == 50  # type: ignore[arg-type]
    assert len(history.calls) == 1


def test_a_server_ignoring_before_does_not_make_it_loop() -> None:
    history = History(120, page=50, honours_before=False)
    events = V2Services(history).list_events(limit=1000)  # type: ignore[arg-type]
    assert len(history.calls) == 2  # the second page repeats the first: stop there
    assert [e.id for e in events] == list(range(120, 70, -1))  # each event once
