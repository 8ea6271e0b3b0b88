"""Nothing a student reads is false (DESIGN.md, "Teaching"): a figure quoted in prose and
marked ``<!-- fig -->...<!-- /fig -->`` is printed by the code cell beside it (the nearest code
cell before the prose or after it), at the precision the prose states. Read from the executed
solutions' stored outputs: no kernel runs. The mark-up and the rules of rounding and
percentages are in instructor/prose_figures.py."""
import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from instructor import prose_figures as pf
from instructor.paths import ROOT, assignments


def solutions(assignment):
    found = sorted((ROOT / "solutions" / assignment).glob("*.ipynb"))
    assert found, f"solutions/{assignment} has no notebook: run `python -m instructor.release {assignment}`"
    return [(p, nbformat.read(p, as_version=4)) for p in found]


@pytest.mark.parametrize("assignment", assignments())
def test_prose_figures_are_printed_beside_them(assignment):
    for path, nb in solutions(assignment):
        problems = pf.mismatches(nb)
        assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def with_figure(nb, cell, old, new):
    """A copy of nb with the marked figure old of one cell replaced by new."""
    changed = copy.deepcopy(nb)
    source = changed.cells[cell].source
    marked = [m for m in pf.MARK.finditer(source) if m.group("figure").strip() == old]
    m = marked[0]
    changed.cells[cell].source = source[:m.start("figure")] + new + source[m.end("figure"):]
    return changed


@pytest.mark.parametrize("assignment", assignments())
def test_a_changed_figure_is_named(assignment):
    """Mutation check: every marked figure, changed in a copy of the notebook, is reported by its
    cell and its new text, and it is the only report. A notebook without marks passes."""
    for path, nb in solutions(assignment):
        found, _ = pf.figures(nb)
        for fig in found:
            printed = [n for j in pf.neighbours(nb, fig.cell) for n in pf.printed_numbers(pf.printed_text(nb.cells[j]))]
            for shift in range(4, 13):
                wrong = pf.mutated(fig.text, shift % 10 or 1)
                if not pf.Figure(fig.cell, wrong, pf._number(wrong.rstrip("%")), fig.decimals,
                                 fig.percent, fig.about).matches(printed):
                    break   # a mutation that no printed number happens to match
            else:
                pytest.fail(f"{path.relative_to(ROOT)} cell {fig.cell}: every mutation of {fig.text} is printed")
            problems = pf.mismatches(with_figure(nb, fig.cell, fig.text, wrong))
            assert len(problems) == 1 and problems[0].startswith(f"cell {fig.cell}:") and wrong in problems[0], (
                f"{path.relative_to(ROOT)}: {fig.text} changed to {wrong} in cell {fig.cell} gave {problems}")


def notebook(prose, printed, after=False):
    code = new_code_cell("...", outputs=[new_output("stream", name="stdout", text=printed)])
    cells = [new_markdown_cell(prose), code] if after else [code, new_markdown_cell(prose)]
    return new_notebook(cells=cells)


@pytest.mark.parametrize("figure, printed", [
    ("89.6%", "accuracy 0.8961"),           # a fraction printed, a percentage in prose
    ("89.6%", "accuracy 89.61%"),
    ("90%", "accuracy: 0.8961"),
    ("1,990", "1990.3 times"),              # no decimals: within 0.5
    ("1,990", "1,989.5 times"),
    ("2.30", "loss 2.3026"),
    ("0.041", "|grad| 0.041"),
    ("-3.5", "tensor(-3.4800)"),
    ("203,530", "total   203,530"),
])
def test_figures_that_match(figure, printed):
    assert pf.mismatches(notebook(f"we get <!-- fig -->{figure}<!-- /fig --> here", printed)) == []
    assert pf.mismatches(notebook(f"we get <!-- fig -->{figure}<!-- /fig --> here", printed, after=True)) == []


@pytest.mark.parametrize("figure, printed", [
    ("89.6%", "accuracy 0.8951"),           # rounds to 89.5%
    ("89.6%", "accuracy 89.6"),             # not a fraction: 8960%
    ("93.59%", "93.6%"),                    # the prose claims a digit the output does not show
    ("1,990", "1991 times"),
    ("2.30", "loss 2.31"),
    ("96%", "test 95.4%"),
    ("12", "l12_w"),                        # digits inside a name are not numbers
])
def test_figures_that_do_not_match(figure, printed):
    problems = pf.mismatches(notebook(f"we get <!-- fig -->{figure}<!-- /fig --> here", printed))
    assert len(problems) == 1 and figure in problems[0], problems


def test_about_figures_allow_five_percent():
    assert pf.mismatches(notebook("about <!-- fig about -->250<!-- /fig --> wrong", "255 of 10000")) == []
    assert pf.mismatches(notebook("about <!-- fig about -->250<!-- /fig --> wrong", "265 of 10000"))


def test_marks_are_checked():
    assert pf.mismatches(notebook("a <!-- fig -->1.5 s<!-- /fig -->", "1.5"))              # not one number
    assert pf.mismatches(notebook("a <!-- fig -->1.5 and more", "1.5"))                   # not closed
    nb = notebook("nothing marked", "1.5")
    nb.cells[0].source = "# <!-- fig -->1.5<!-- /fig -->"                                 # in a code cell
    assert pf.mismatches(nb)
    assert pf.mismatches(notebook("no marks, 17 numbers", "3")) == []
