"""The bench's rows and how they are shown: a plain-text table, and a markdown one for
docs/benchmarks.md.

Each row is one measurement, optionally next to a same-run baseline, with its ratio and, where
the bench sets one, a target and PASS/MISS (a MISS is printed like a PASS, never dropped).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass
class Row:
    section: str
    what: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None


class Results:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        mark = "" if row.passed is None else (" PASS" if row.passed else " MISS")
        base = f" (baseline {row.baseline:.4g} {row.baseline_label})" if row.baseline else ""
        ratio = f" ratio {row.ratio:.2f}" if row.ratio is not None else ""
        print(f"  {row.section}: {row.what} = {row.value:.4g} {row.unit}{base}{ratio}{mark}",
              file=sys.stderr, flush=True)
        return row


def table(rows: list[Row]) -> str:
    head = ("section", "measurement", "value", "baseline (same run)", "ratio", "target", "")
    lines = [head]
    for r in rows:
        base = f"{r.baseline:.4g} {r.baseline_label}" if r.baseline is not None else ""
        lines.append((r.section, r.what, f"{r.value:.4g} {r.unit}", base,
                      f"{r.ratio:.2f}" if r.ratio is not None else "", r.target,
                      "" if r.passed is None else ("PASS" if r.passed else "MISS")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)




def markdown(rows: list[Row]) -> str:
    """The same rows as a markdown table (``|`` in a cell escaped)."""
    head = ("section", "measurement", "value", "baseline (same run)", "ratio", "target", "")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        base = f"{r.baseline:.4g} {r.baseline_label}" if r.baseline is not None else ""
        cells = (r.section, r.what, f"{r.value:.4g} {r.unit}", base,
                 f"{r.ratio:.2f}" if r.ratio is not None else "", r.target,
                 "" if r.passed is None else ("**PASS**" if r.passed else "**MISS**"))
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)
