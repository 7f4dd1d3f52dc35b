"""``putiofs completion bash|zsh|fish`` and ``putiofs man``: both made from the argument parser
itself, so they list exactly the subcommands and options the command takes.

Completion scripts come from ``shtab`` (it walks an ``argparse`` parser, subcommands included,
and writes bash, zsh or tcsh); fish, which shtab does not write, gets ``complete`` lines made
here from the same walk. The man page is roff written here (section 1): the name, the usage,
the description, the global options, then one subsection per subcommand with its options,
and the ``-o`` table of the mount in its help. ``pip`` has no place of its own for a man
page (a wheel cannot put one on MANPATH), so it is printed: ``putiofs man | man -l -``, or
saved as ``/usr/local/share/man/man1/putiofs.1`` (see docs/commands.md).
"""

from __future__ import annotations

import argparse
import datetime
import re
from collections.abc import Iterator

import shtab

SHELLS = ("bash", "zsh", "fish")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name (aliases left out)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if all(sub is not seen for seen in found.values()):
                    found[name] = sub
    return found


def _helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {}


def _options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if action.help != argparse.SUPPRESS and not isinstance(
                action, argparse._SubParsersAction):
            yield action


def completion(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``shell`` for ``parser``."""
    if shell == "fish":
        return _fish(parser)
    return shtab.complete(parser, shell=shell)


def _fish(parser: argparse.ArgumentParser) -> str:
    prog = parser.prog
    lines = [f"# fish completion for {prog} (putiofs completion fish)",
             f"complete -c {prog} -f"]
    commands = subcommands(parser)
    helps = _helps(parser)
    first = f"not __fish_seen_subcommand_from {' '.join(commands)}"
    for name in commands:
        lines.append(f"complete -c {prog} -n {_fish_quote(first)} -a {name} "
                     f"-d {_fish_quote(helps.get(name, ''))}")
    for action in _options(parser):
        lines.append(_fish_option(prog, action, first))
    for name, sub in commands.items():
        seen = f"__fish_seen_subcommand_from {name}"
        for action in _options(sub):
            lines.append(_fish_option(prog, action, seen))
        for child in subcommands(sub):
            lines.append(f"complete -c {prog} -n {_fish_quote(seen)} -a {child} "
                         f"-d {_fish_quote(_helps(sub).get(child, ''))}")
    return "\n".join(line for line in lines if line) + "\n"


def _fish_option(prog: str, action: argparse.Action, condition: str) -> str:
    if not action.option_strings:
        return ""
    flags = []
    for flag in action.option_strings:
        flags.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    takes = " -r" if action.nargs != 0 else ""
    return (f"complete -c {prog} -n {_fish_quote(condition)} {' '.join(flags)}{takes} "
            f"-d {_fish_quote(_plain(action.help))}")


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _plain(text: str | None) -> str:
    return " ".join((text or "").replace("%%", "%").split())


def man_page(parser: argparse.ArgumentParser, version: str,
             today: datetime.date | None = None) -> str:
    """The roff man page (section 1) of ``parser``."""
    today = today or datetime.date.today()
    prog = parser.prog
    out = [f'.TH {prog.upper()} 1 "{today.isoformat()}" "{prog} {version}" "User Commands"',
           ".SH NAME", f"{prog} \\- {_roff(parser.description or '')}",
           ".SH SYNOPSIS", f".B {prog}", "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]",
           ".SH OPTIONS"]
    out += _roff_options(parser)
    out.append(".SH COMMANDS")
    helps = _helps(parser)
    for name, sub in subcommands(parser).items():
        out += _roff_command(f"{name}", sub, helps.get(name, ""))
        for child, child_parser in subcommands(sub).items():
            out += _roff_command(f"{name} {child}", child_parser, _helps(sub).get(child, ""))
    out += [".SH SEE ALSO", "\\fBputiofs status\\fR, \\fBfusermount3\\fR(1), "
            "\\fBmount.fuse3\\fR(8); the docs/ folder of the putiofs sources."]
    return "\n".join(out) + "\n"


def _roff_command(name: str, parser: argparse.ArgumentParser, summary: str) -> list[str]:
    usage = parser.format_usage().removeprefix("usage: ").strip()
    lines = [f".SS {_roff(name)}", f"\\fB{_roff(' '.join(usage.split()))}\\fR", ".br"]
    lines.append(_roff(parser.description or summary))
    lines += _roff_options(parser)
    if parser.epilog:
        lines += [".PP", ".nf", *(_roff(line) for line in parser.epilog.splitlines()), ".fi"]
    return lines


def _roff_options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in _options(parser):
        if action.option_strings:
            metavar = "" if action.nargs == 0 else f" \\fI{_roff(_metavar(action))}\\fR"
            flags = ", ".join(f"\\fB{_roff(flag)}\\fR" for flag in action.option_strings)
            lines += [".TP", flags + metavar]
        else:
            lines += [".TP", f"\\fI{_roff(_metavar(action))}\\fR"]
        lines.append(_roff(_plain(action.help % vars(action) if action.help and "%(" in
                                  action.help else action.help)))
    return lines


def _metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, str):
        return action.metavar
    if action.choices:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.upper() if action.option_strings else action.dest


_LEADING = re.compile(r"^([.'])", re.MULTILINE)


def _roff(text: str) -> str:
    """Text as roff reads it literally: backslashes escaped, hyphens as ``\\-``, no line
    starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return _LEADING.sub(r"\\&\1", text)


__all__ = ["SHELLS", "completion", "man_page", "subcommands"]
