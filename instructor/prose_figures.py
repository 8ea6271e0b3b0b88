"""Figures quoted in prose, checked against the outputs beside them.

DESIGN.md ("Teaching"): a figure quoted in prose is printed by the cell beside it, and a test
compares the two in the executed solutions (``tests/test_prose_figures.py``).

**Mark-up.** In a markdown cell, wrap the figure in an HTML comment pair, which Jupyter does not
render (students see only the figure)::

    The test accuracy is <!-- fig -->93.6%<!-- /fig --> after one epoch.
    About <!-- fig about -->250<!-- /fig --> of the 10,000 test digits are wrong.

The figure is one number: digits, optional thousands commas, an optional decimal part, an optional
sign and an optional trailing ``%`` (``1,990``, ``0.041``, ``-3.5``, ``89.6%``). Units and words
stay outside the mark. ``<!-- fig about -->`` marks an approximate figure (see below).

**Where the figure must be printed.** By the nearest code cell before the markdown cell or the
nearest code cell after it (either one; markdown cells between are skipped). Its printed text is
read: stream output (``print``), and the ``text/plain`` of results and displays. Every number in
that text is a candidate (thousands commas allowed, scientific notation read, a ``%`` right after a
number remembered).

**Precision.** A figure states its own precision by its decimals: with ``d`` decimals it matches a
printed value ``v`` when ``|v - figure| <= 0.5 * 10**-d`` (plus a hair for float noise), that is,
when ``v`` rounds to the figure (a value exactly halfway matches either way). So ``1,990`` matches
``1990.3`` and ``1989.5``, ``2.30`` matches ``2.3026`` but not ``2.31``, and ``93.59`` does not
match a printed ``93.6`` (the prose claims a digit the output does not show). An ``about`` figure
matches within 5% of itself (``about 250``: from 237.5 to 262.5), for round numbers in sentences
such as "about 250 of the 10,000 digits".

**Percentages.** A figure ``p%`` matches a printed percentage ``q%`` when ``q`` matches ``p`` as
above, and a printed plain number ``v`` (a fraction) when ``100 * v`` matches ``p``: ``89.6%``
matches ``0.8961``, ``89.61%`` and ``89.6%``. A figure without ``%`` is compared with printed
numbers as they are, with or without their ``%``.

Figures the notebook does not compute (``28 x 28``, "60,000 images", the spec's requirements) are
not marked. Timings vary from run to run and from machine to machine: the prose does not quote them
as marked figures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MARK = re.compile(r"<!--\s*fig(?P<opts>[^>]*?)\s*-->(?P<figure>.*?)<!--\s*/fig\s*-->", re.S)
OPEN = re.compile(r"<!--\s*fig\b")
CLOSE = re.compile(r"<!--\s*/fig\s*-->")
FIGURE = re.compile(r"^\s*(?P<num>[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(?P<pct>%?)\s*$")
NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?P<pct>\s?%)?")
ABOUT = 0.05   # relative tolerance of an "about" figure


@dataclass(frozen=True)
class Figure:
    cell: int          # index of the markdown cell
    text: str          # the figure as written, e.g. "89.6%"
    value: float       # 89.6
    decimals: int      # 1
    percent: bool      # True
    about: bool        # marked <!-- fig about -->

    def tolerance(self) -> float:
        if self.about:
            return ABOUT * abs(self.value)
        return 0.5 * 10.0 ** -self.decimals + 1e-9 * max(1.0, abs(self.value))

    def matches(self, printed: list[tuple[float, bool]]) -> bool:
        tol = self.tolerance()
        for value, printed_percent in printed:
            candidates = [value]
            if self.percent and not printed_percent:
                candidates = [100.0 * value]
            if any(abs(c - self.value) <= tol for c in candidates):
                return True
        return False


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("\u2212", "-"))


def figures(nb) -> tuple[list[Figure], list[str]]:
    """The marked figures of a notebook, and the problems of the mark-up itself (a mark outside
    a markdown cell, an unclosed mark, a figure that is not one number)."""
    found, problems = [], []
    for i, cell in enumerate(nb.cells):
        source = cell.source
        opens, closes = len(OPEN.findall(source)), len(CLOSE.findall(source))
        if cell.cell_type != "markdown":
            if opens or closes:
                problems.append(f"cell {i}: a figure mark in a {cell.cell_type} cell")
            continue
        marks = list(MARK.finditer(source))
        if opens != len(marks) or closes != len(marks):
            problems.append(f"cell {i}: {opens} opening and {closes} closing figure marks, "
                            f"{len(marks)} complete pairs")
        for m in marks:
            opts = m.group("opts").split()
            text = m.group("figure")
            parsed = FIGURE.match(text)
            if parsed is None or set(opts) - {"about"}:
                problems.append(f"cell {i}: {m.group(0)!r} is not one marked number")
                continue
            num = parsed.group("num")
            decimals = len(num.split(".")[1]) if "." in num else 0
            found.append(Figure(i, text.strip(), _number(num), decimals, bool(parsed.group("pct")),
                                "about" in opts))
    return found, problems


def printed_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out and "text/plain" in out["data"]:
            parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def printed_numbers(text: str) -> list[tuple[float, bool]]:
    return [(_number(m.group(0).rstrip("% ").strip()), bool(m.group("pct"))) for m in NUMBER.finditer(text)]


def neighbours(nb, i: int) -> list[int]:
    """The nearest code cell before cell i and the nearest after it."""
    found = []
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(nb.cells) and nb.cells[j].cell_type != "code":
            j += step
        if 0 <= j < len(nb.cells):
            found.append(j)
    return found


def mismatches(nb) -> list[str]:
    """One line per marked figure that the code cells beside it do not print (and per problem of
    the mark-up): empty when the prose agrees with the outputs."""
    found, problems = figures(nb)
    for fig in found:
        cells = neighbours(nb, fig.cell)
        printed = [n for j in cells for n in printed_numbers(printed_text(nb.cells[j]))]
        if not fig.matches(printed):
            shown = "; ".join(f"cell {j}: {printed_text(nb.cells[j]).strip()[:200]!r}" for j in cells)
            kind = "about " if fig.about else ""
            problems.append(f"cell {fig.cell}: the prose says {kind}{fig.text}, which the cells beside "
                            f"it do not print ({shown or 'no code cell'})")
    return problems


def mutated(text: str, shift: int = 4) -> str:
    """The figure with its first digit moved by shift (mod 10): far off in any rounding."""
    i = next(k for k, ch in enumerate(text) if ch.isdigit())
    return text[:i] + str((int(text[i]) + shift) % 10) + text[i + 1:]

