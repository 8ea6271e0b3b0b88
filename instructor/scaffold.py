"""Start a new assignment from a template: its notebook, its hidden tests and its
simulated class, with one example exercise to replace by your own.

    python -m instructor.scaffold 07_convolution convolution

writes
    source/07_convolution/convolution.ipynb             the notebook (built with instructor.authoring)
    autograder/hidden/07_convolution/test_convolution.py   its hidden tests
    autograder/simulated_class/07_convolution.py        our solution, the blank notebook, one mistake
and nothing else: every other part of the course finds assignments by listing source/.
Then edit those three files (and COURSE.md's list of exercises), try the hidden tests
with ``python -m instructor.try_hidden <id> [case]``, and generate the student and
solution notebooks with ``python -m instructor.release <id>``.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from instructor import authoring
from instructor.paths import ROOT

ID = re.compile(r"^\d\d[a-z]?_[a-z0-9_]+$")  # as the course's: 01_normalization, 04b_gradient_descent
NAME = re.compile(r"^[a-z][a-z0-9_]*$")

INTRO = """
# {title}

What this notebook teaches, in a few sentences: the idea, why a neural network needs it, and
what the student builds. The example exercise below, `scale`, shows the parts every exercise
has; replace it by your own.

**How this notebook is graded.** Write your code only in the cells marked `# YOUR CODE HERE`
(replace the `raise NotImplementedError()`). Each exercise is followed by *check cells*: they run a
small visible test you can run yourself; when you submit, hidden tests check the same properties
on many more inputs, and your feedback shows the smallest input on which your function was wrong.
Only your answer cells and the import cell are run by the grader, so keep any helper function
inside an answer cell. Functions must not modify their inputs.
"""

EXERCISE = """
## Exercise: `scale(x, factor)`

Write `scale(x, factor)`, which multiplies every element of the tensor `x` by the number
`factor`. Integer inputs give a floating-point result. Do not modify `x`: return a new tensor.
"""

ANSWER = '''
def scale(x, factor):
    """x times factor, element by element, as a new floating-point tensor."""
    ### BEGIN SOLUTION
    return x.to(torch.promote_types(x.dtype, torch.float32)) * factor
    ### END SOLUTION
'''

CHECK_VALUES = """
# scale multiplies every element by factor, and gives floats for integers
assert_close(scale(torch.tensor([[1., 2.], [3., 4.]]), 3.0), torch.tensor([[3., 6.], [9., 12.]]))
assert_close(scale(torch.tensor([1, 2]), 0.5), torch.tensor([0.5, 1.0]))
"""

CHECK_PURE = """
# scale leaves x unchanged
x = torch.tensor([1., 2., 3.])
scale(x, 2.0)
assert_close(x, torch.tensor([1., 2., 3.]), "x after scale(x, 2.0)")
"""

QUESTION = """
**1.** Why must `scale` return a new tensor instead of changing `x`? Answer in a sentence or two;
your teacher grades this by hand.
"""

MODEL_ANSWER = """
Code that called `scale(x, ...)` may still use `x`: changing it in place would silently change
every later result that reads `x` (the data, a batch, a model's input), far from the line that
did it.
"""

HIDDEN_TESTS = '''"""Hidden tests for {id}: each test is one property of the notebook's words, scoring
the check cell it names (its docstring is the line the student reads), against torch."""
import torch
from hypothesis import given, strategies as st

from autograder.testing import S, expect_close, expect_tensor, fail, graded, leaves_inputs_unchanged

# Built-ins an exercise may not call (e.g. a ready-made function it rebuilds):
# NOT_ALLOWED = ["torch.mul"]
# forbidden_builtins = not_allowed(NOT_ALLOWED)     # in every function (import not_allowed too)
factors = st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 2))


@graded("scale_values")
@given(x=S.float_tensors(), factor=factors)
def test_scale_values(student, x, factor):
    """scale(x, factor) multiplies every element of x by factor."""
    expect_close(student.scale(x, factor), x * factor, what=f"scale(x, {{factor}})")


@graded("scale_values")
@given(x=S.tensors(S.shapes(max_dims=2), torch.int64, -100, 100), factor=factors)
def test_scale_of_integers_gives_floats(student, x, factor):
    """scale of an integer tensor gives floating-point values."""
    result = expect_tensor(student.scale(x, factor))
    if not result.is_floating_point():
        fail(f"scale of an integer tensor should give floats, got {{result.dtype}}")
    expect_close(result, x.double() * factor, what=f"scale(x, {{factor}})")


@graded("scale_pure")
@given(x=S.float_tensors(), factor=factors)
def test_scale_leaves_input_unchanged(student, x, factor):
    """scale does not modify x."""
    leaves_inputs_unchanged(student, "scale", x, factor, names=["x"])
'''

SIMULATED_CLASS = '''"""Simulated submissions for {id}: what each must score is stated here (see
autograder/simulated_class/__init__.py); the tests and the main job grade them."""
from autograder.simulated_class import Case

CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),
    Case("scale_in_place", "scale multiplies a floating x in place", fails={{"scale_pure"}}, rest_full=True,
         answers={{"scale_answer": \'\'\'
def scale(x, factor):
    if not x.is_floating_point():
        return x.float() * factor
    x *= factor
    return x
\'\'\'}}),
]
'''


def notebook(title: str):
    """The template notebook, from the authoring module's cells."""
    return authoring.notebook([
        authoring.md(INTRO.format(title=title)),
        authoring.setup("import torch\nfrom mnist_course import assert_close"),
        authoring.md(EXERCISE),
        authoring.answer(ANSWER, "scale_answer"),
        authoring.check(CHECK_VALUES, "scale_values"),
        authoring.check(CHECK_PURE, "scale_pure"),
        authoring.md(QUESTION),
        authoring.question(MODEL_ANSWER, "question_scale"),
    ])


def scaffold(assignment: str, name: str, root: Path = ROOT) -> list[Path]:
    """Write the three files of a new assignment under ``root``; returns their paths."""
    if not ID.match(assignment):
        raise ValueError(f"assignment id {assignment!r}: expected two digits, an optional letter, '_' and a "
                         f"lower-case name, as 01_normalization or 04b_gradient_descent")
    if not NAME.match(name):
        raise ValueError(f"notebook name {name!r}: expected a lower-case Python name, as normalization")
    files = {
        root / "source" / assignment / f"{name}.ipynb": None,
        root / "autograder" / "hidden" / assignment / f"test_{name}.py": HIDDEN_TESTS.format(id=assignment),
        root / "autograder" / "simulated_class" / f"{assignment}.py": SIMULATED_CLASS.format(id=assignment),
    }
    taken = [str(p.relative_to(root)) for p in [root / "source" / assignment, root / "autograder" / "hidden" / assignment,
                                                *files] if p.exists()]
    if taken:
        raise FileExistsError(f"{assignment} exists already: {', '.join(taken)}")
    title = assignment.split("_", 1)[0] + " · " + assignment.split("_", 1)[1].replace("_", " ").capitalize()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            authoring.write(notebook(title), path)
        else:
            path.write_text(text)
    return list(files)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="the assignment id, e.g. 07_convolution")
    parser.add_argument("notebook", help="the notebook's name without .ipynb, e.g. convolution")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder (default: this repository)")
    args = parser.parse_args(argv)
    for path in scaffold(args.assignment, args.notebook, args.root):
        print("wrote", path)
    print(f"next: edit those files (and COURSE.md), then\n"
          f"  python -m instructor.try_hidden {args.assignment} [case]\n"
          f"  python -m instructor.release {args.assignment}")


if __name__ == "__main__":
    main()
