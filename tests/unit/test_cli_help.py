"""The help of every ``putiofs`` command reads as written: argparse's own escapes (``%%``) never
reach the user."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from putiofs.cli import build_parser


def every_parser(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from every_parser(sub)


def test_no_help_text_shows_an_escaped_percent_sign():
    helps = {parser.prog: parser.format_help() for parser in every_parser(build_parser())}
    assert "putiofs mp4" in helps and "CONVERTING n%," in helps["putiofs mp4"]
    assert [prog for prog, text in helps.items() if "%%" in text] == []
