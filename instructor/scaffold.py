"""Start a new assignment from a template: its notebook, its hidden tests and its
simulated class, with one example exercise to replace by your own.

    python -m instructor.scaffold 07_convolution convolution

writes
    source/07_convolution/convolution.ipynb             the notebook (built with instructor.authoring)
    autograder/hidden/07_convolution/test_convolution.py   its hidden tests
    autograder/simulated_class/07_convolution.py        our solution, the blank notebook, variants, mistakes
and nothing else: every other part of the course finds assignments by listing source/.

The example exercise, ``scale``, is a complete model of what the course's tests ask of every
exercise, so the new assignment passes them as written (``tests/test_scaffold.py`` proves it after
``instructor.release``): a spec whose bullets each end in a rule id (``<!-- rule: scale.values -->``),
one check cell per rule, hidden tests naming the rules they grade (``rules=[...]``) and trying the
edge cases a rule names (``@example``), a simulated mistake breaking each rule alone
(``breaks=...``) and more typical ones (8 at least), correct variants (the exercise written 5
ways at least), a picture in the executed solutions, and 3 to 5 written questions with our model
answers.

Then edit those three files (and COURSE.md's list of exercises), try the hidden tests
with ``python -m instructor.try_hidden <id> [case]`` (``--check``: every simulated case against
what it must score), and generate the student and solution notebooks, and record the hidden
tests' examples, with ``python -m instructor.release <id>``.
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
has (a spec whose bullets are the rules the grader checks, an answer cell, one check cell per
rule, a picture, written questions); replace it by your own.

**How this notebook is graded.** Write your code only in the cells marked `# YOUR CODE HERE`
(replace the `raise NotImplementedError()`). Each exercise is followed by *check cells*: they run a
small visible test you can run yourself; when you submit, hidden tests check the same rules
on many more inputs, and your feedback shows the smallest input on which your function was wrong.
Only your answer cells and the import cell are run by the grader, so keep any helper function
inside an answer cell. The notebook ends with a few questions you answer in words; your teacher
grades those by hand.
"""

# The spec: one bullet per rule, each ending in its id (an HTML comment the rendered notebook does
# not show). Each hidden test names the rules it grades (@graded(..., rules=[...])), and each rule
# has a simulated mistake that breaks it alone (Case(..., breaks=...)); tests/test_rules_traceable.py
# checks all three. Edge cases a rule names (empty, 0-d, uint8, an integer factor) are tried by an
# @example in the hidden tests, never left to random draws.
EXERCISE = """
## Exercise 1: `scale(x, factor)`

Write `scale(x, factor)`, which multiplies every element of the tensor `x` by the number `factor`:
MNIST's pixels are bytes from 0 to 255, and `scale(images, 1 / 255)` turns them into the floats
from 0 to 1 that a network takes.

- Signature: `scale(x, factor) -> Tensor`: `x` is a tensor of any shape and dtype (float32,
  float64, or an integer dtype such as MNIST's `uint8`); `factor` is a Python `int` or `float`.
- Values: the result has `x`'s shape, and each element is `x`'s element times `factor`, without
  overflow (`uint8` 200 times 2 is 400). Any shape works, an empty `x` and a 0-d `x` included,
  and `factor` may be 0 or negative. <!-- rule: scale.values -->
- Dtypes: the result is floating-point: a float32 or float64 `x` keeps its dtype (float64 stays
  float64), and an integer `x` gives float32, even when `factor` is an `int`. <!-- rule: scale.dtype -->
- Raise `ValueError` (with a message saying what was given) when `factor` is not a finite number:
  `nan`, `inf` or `-inf`. <!-- rule: scale.errors -->
- Do not modify `x`: return a new tensor. <!-- rule: scale.pure -->
"""

ANSWER = '''
def scale(x, factor):
    """x times factor, element by element, as a new floating-point tensor."""
    ### BEGIN SOLUTION
    if not math.isfinite(factor):
        raise ValueError(f"scale: factor must be a finite number, got {factor}")
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return x.to(dtype) * factor
    ### END SOLUTION
'''

# One check cell per rule (its grade_id is what the hidden tests score): a small visible test that
# a correct answer passes whatever way it is written (compare values, not dtypes, unless the dtype
# is the rule) and that catches the typical mistakes of the simulated class.
CHECK_VALUES = """
# scale multiplies every element by factor: any shape, uint8 without overflow, factor 0 allowed
assert_close(scale(torch.tensor([[1., 2.], [3., 4.]]), 3.0), torch.tensor([[3., 6.], [9., 12.]]))
assert_close(scale(torch.tensor([200, 255], dtype=torch.uint8), 2), torch.tensor([400., 510.]), "uint8 pixels times 2")
assert_close(scale(torch.tensor(-1.5), 0), torch.tensor(0.), "a 0-d x times 0")
assert_close(scale(torch.zeros(0, 3), -2.0), torch.zeros(0, 3), "an empty x")
"""

CHECK_DTYPE = """
# the result is floating-point: float64 stays float64, integers give float32
for x, factor, want in [(torch.tensor([1., 2.], dtype=torch.float64), 0.5, torch.float64),
                        (torch.tensor([1., 2.]), 2, torch.float32),
                        (torch.tensor([1, 2]), 2, torch.float32),
                        (torch.tensor([1, 2], dtype=torch.uint8), 0.5, torch.float32)]:
    got = scale(x, factor).dtype
    assert got == want, f"scale of a {x.dtype} x, factor {factor!r}: expected {want}, got {got}"
"""

CHECK_ERRORS = """
# a factor that is not a finite number raises ValueError
for bad in [float("nan"), float("inf"), -float("inf")]:
    try:
        scale(torch.tensor([1., 2.]), bad)
    except ValueError as e:
        print("ValueError:", e)
    else:
        raise AssertionError(f"scale(x, {bad}) should raise ValueError")
"""

CHECK_PURE = """
# scale leaves x unchanged
x = torch.tensor([1., 2., 3.])
scale(x, 2.0)
assert_close(x, torch.tensor([1., 2., 3.]), "x after scale(x, 2.0)")
"""

PICTURE = """
Why `scale` exists: a digit's pixels, from bytes to the floats a network takes.
"""

PICTURE_CODE = """
images, labels = load_mnist("test", flatten=False)
pixels = scale(images[0], 1 / 255)
print(images.dtype, images[0].max().item(), "->", pixels.dtype, pixels.max().item())
show_image(pixels, title=f"a {labels[0].item()}, pixels from {pixels.min().item():.0f} to {pixels.max().item():.0f}");
"""

# Written questions (3 to 5, after the last check cell): each asks the student to predict or to
# transfer, not to recite; the cell below each question holds our model answer.
QUESTIONS = [
    ("question_overflow", """
**1.** Predict, without running it: what does `torch.tensor([200], dtype=torch.uint8) * 2` give,
and why? What does that tell you about where `scale` converts to floats?
""", """
`tensor([144], dtype=torch.uint8)`: a `uint8` holds 0 to 255 only, and integer arithmetic keeps the
dtype, so 400 wraps around modulo 256 to 144, silently. `scale` must convert to floating point
*before* multiplying; converting the product afterwards only turns the wrong 144 into 144.0.
"""),
    ("question_to_copy", """
**2.** A student writes `y = x.to(torch.float32)` and then `y *= factor`. For which `x` does this
change the caller's `x`, and for which not? Why?
""", """
It changes `x` when `x` is already float32: `.to` returns the very same tensor when nothing needs
converting, so `y *= factor` multiplies `x` in place. For an integer or float64 `x`, `.to` makes a
converted copy and `x` is safe. Writing `y = x.to(torch.float32) * factor` (a new tensor) or
cloning first is right for every dtype.
"""),
    ("question_bytes", """
**3.** `scale(images, 1 / 255)` on MNIST's 60,000 training images (784 `uint8` pixels each): predict
the result's dtype, its smallest and largest value, and how much memory it takes compared with the
bytes. Why do we pay that price instead of training on the bytes?
""", """
float32, from 0.0 to 1.0, and four times the memory: 4 bytes per pixel instead of 1, about 188 MB
instead of 47 MB. A network multiplies pixels by fractional weights and moves those weights by
small fractional steps; in integers every product would be truncated or wrap around, and the
gradients would be meaningless. Values near 0 to 1 also keep the first layer's sums small.
"""),
]

HIDDEN_TESTS = '''"""Hidden tests for {id}: each test is one property of the notebook's words, scoring the check
cell it names (its docstring is the line the student reads) and naming the rules it grades (the
ids of the spec's bullets); torch computes every expected value here."""
import math

import torch
from hypothesis import example, given, strategies as st

from autograder.testing import S, expect_close, expect_tensor, fail, graded, leaves_inputs_unchanged, raises_value_error

# Built-ins an exercise may not call (e.g. a ready-made function it rebuilds) are one rule per
# function, "<function>.not_allowed", stated in the spec like any other rule, and declared here:
#   from autograder.testing import not_allowed
#   NOT_ALLOWED = ["torch.cumsum"]
#   forbidden_builtins = not_allowed(NOT_ALLOWED, only=["my_function"])
FLOATS = (torch.float32, torch.float64)
INTEGERS = (torch.uint8, torch.int32, torch.int64)
# int and float factors: an integer x times an int factor is where torch keeps integers
factors = st.one_of(st.integers(-10, 10), st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 2)))
# any shape, 0-d and empty (a side of 0) included; any dtype the spec names
any_x = S.tensors(S.shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), S.dtypes(FLOATS + INTEGERS), -100, 255)


@graded("scale_values", rules=["scale.values"])
@example(x=torch.tensor([200, 255], dtype=torch.uint8), factor=2)  # the edge cases the rule names,
@example(x=torch.zeros(0, 3), factor=2.0)                          # always tried
@example(x=torch.tensor(-1.5), factor=0)
@given(x=any_x, factor=factors)
def test_scale_values(student, x, factor):
    """scale(x, factor) has x's shape and each element is x's times factor, without overflow (empty and 0-d x included, factor 0 or negative too)."""
    expect_close(student.scale(x, factor), x.double() * factor, what=f"scale(x, {factor!r})")


@graded("scale_dtype", rules=["scale.dtype"])
@example(x=torch.tensor([1, 2]), factor=2)  # an integer x with an int factor still gives floats
@example(x=torch.tensor([1, 2], dtype=torch.uint8), factor=2)
@example(x=torch.tensor([0.5], dtype=torch.float64), factor=0.1)  # float64 stays float64
@given(x=any_x, factor=factors)
def test_scale_dtype(student, x, factor):
    """scale gives a floating-point result: a float32 or float64 x keeps its dtype, an integer x gives float32."""
    want = x.dtype if x.is_floating_point() else torch.float32
    got = expect_tensor(student.scale(x, factor), f"scale(x, {factor!r})").dtype
    if got != want:
        fail(f"scale of a {x.dtype} x (factor {factor!r}) should give {want}, got {got}")


@graded("scale_errors", rules=["scale.errors"])
@example(x=torch.tensor([1.0, 2.0]), factor=math.nan)  # each value the rule names, always tried
@example(x=torch.tensor([1.0, 2.0]), factor=math.inf)
@example(x=torch.tensor([1.0, 2.0]), factor=-math.inf)
@given(x=any_x, factor=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_scale_refuses_a_factor_that_is_not_finite(student, x, factor):
    """scale(x, factor) raises ValueError, with a message, when factor is nan, inf or -inf."""
    raises_value_error(student, "scale", x, factor, what=f"scale(x, {factor!r})")


@graded("scale_pure", rules=["scale.pure"])
@example(x=torch.tensor([1.0, 2.0]), factor=2.0)
@given(x=any_x, factor=factors)
def test_scale_leaves_x_unchanged(student, x, factor):
    """scale does not modify x."""
    leaves_inputs_unchanged(student, "scale", x, factor, names=["x"])
'''

SIMULATED_CLASS = '''"""Simulated submissions for {id}: what each must score is stated here (see
autograder/simulated_class/__init__.py); the tests and the main job grade them.

- variants: correct answers written differently, each must get every point (with our solution,
  every exercise is written at least 5 ways);
- a mistake per rule (breaks="<rule id>"): it loses exactly the check cells of the properties
  grading that rule and keeps every other point; typical mistakes say which cells they lose
  (fails=...). Every mistake fails a visible check, or names the notebook's words that warn
  about it (hidden_only=...: a forbidden built-in, say, breaks="f.not_allowed" with the cells
  the refused call loses in fails).
"""
from autograder.simulated_class import Case

CHECK_FACTOR = \'\'\'
def scale(x, factor):
    if not math.isfinite(factor):
        raise ValueError(f"factor must be a finite number, got {factor}")
\'\'\'


def scale_with(body):
    """A scale that refuses what the spec says, then does ``body``."""
    return CHECK_FACTOR + body


CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_float64_inside", "computes in float64 with torch.mul, then back to the result's dtype",
         kind="variant", full=True, answers={"scale_answer": \'\'\'
def scale(x, factor):
    if factor != factor or factor in (float("inf"), float("-inf")):
        raise ValueError("scale: factor " + str(factor) + " is not a finite number")
    out_dtype = x.dtype if torch.is_floating_point(x) else torch.float32
    return torch.mul(x.double(), factor).to(out_dtype)
\'\'\'}),
    Case("variant_clone_in_place", "multiplies a copy in place", kind="variant", full=True,
         answers={"scale_answer": \'\'\'
def scale(x, factor):
    if math.isnan(factor) or math.isinf(factor):
        raise ValueError(f"expected a finite factor, got {factor!r}")
    result = x.clone() if x.is_floating_point() else x.float()
    result.mul_(factor)
    return result
\'\'\'}),
    Case("variant_loop", "one element at a time, in Python floats", kind="variant", full=True,
         answers={"scale_answer": \'\'\'
def scale(x, factor):
    if not torch.isfinite(torch.tensor(float(factor))):
        raise ValueError(f"scale needs a finite factor, not {factor}")
    dtype = x.dtype if x.is_floating_point() else torch.float32
    values = [v * factor for v in x.reshape(-1).tolist()]
    return torch.tensor(values, dtype=dtype).reshape(x.shape)
\'\'\'}),
    Case("variant_full_like", "a tensor full of factor, times x", kind="variant", full=True,
         answers={"scale_answer": \'\'\'
def scale(x, factor):
    if abs(factor) == math.inf or factor != factor:
        raise ValueError("factor must be finite, got %r" % (factor,))
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    return torch.full_like(x, factor, dtype=dtype) * x
\'\'\'}),

    # ---- one mistake per rule: each loses exactly that rule's cells
    Case("overflow_before_float", "multiplies first, converts after: uint8 pixels wrap around",
         breaks="scale.values", answers={"scale_answer": scale_with(\'\'\'
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return (x * factor).to(dtype)
\'\'\')}),
    Case("float32_always", "always converts to float32, so float64 becomes float32", breaks="scale.dtype",
         answers={"scale_answer": scale_with(\'\'\'
    return x.float() * factor
\'\'\')}),
    Case("nan_only", "refuses nan but not inf", breaks="scale.errors", answers={"scale_answer": \'\'\'
def scale(x, factor):
    if factor != factor:
        raise ValueError(f"factor must be a number, got {factor}")
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return x.to(dtype) * factor
\'\'\'}),
    Case("in_place", "multiplies x itself, in place", breaks="scale.pure", answers={"scale_answer": scale_with(\'\'\'
    if not x.is_floating_point():
        return x.float() * factor
    x *= factor
    return x
\'\'\')}),

    # ---- typical mistakes: each loses the cells it names, and keeps the rest
    Case("plain_product", "x * factor: an integer x times an int factor stays integer (and uint8 wraps)",
         fails={"scale_values", "scale_dtype"}, rest_full=True, answers={"scale_answer": scale_with(\'\'\'
    return x * factor
\'\'\')}),
    Case("divides", "divides by factor instead of multiplying", fails={"scale_values"}, rest_full=True,
         answers={"scale_answer": scale_with(\'\'\'
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return x.to(dtype) / factor
\'\'\')}),
    Case("loop_flattens", "a loop over the elements that forgets x's shape", fails={"scale_values"},
         rest_full=True, answers={"scale_answer": scale_with(\'\'\'
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return torch.tensor([v * factor for v in x.reshape(-1).tolist()], dtype=dtype)
\'\'\')}),
    Case("assert_not_raise", "checks the factor with assert, which raises AssertionError, not ValueError",
         fails={"scale_errors"}, rest_full=True, answers={"scale_answer": \'\'\'
def scale(x, factor):
    assert math.isfinite(factor), f"factor must be finite, got {factor}"
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return x.to(dtype) * factor
\'\'\'}),
    Case("to_returns_x", "converts with .to, then multiplies in place: .to returns x itself when x has that dtype already",
         fails={"scale_pure"}, rest_full=True, answers={"scale_answer": scale_with(\'\'\'
    y = x.to(torch.float32) if not x.is_floating_point() else x.to(x.dtype)
    y *= factor
    return y
\'\'\')}),
]
'''


def notebook(title: str):
    """The template notebook, from the authoring module's cells."""
    cells = [
        authoring.md(INTRO.format(title=title)),
        authoring.setup("import math\n\nimport torch\nfrom mnist_course import assert_close, load_mnist, show_image"),
        authoring.md(EXERCISE),
        authoring.answer(ANSWER, "scale_answer"),
        authoring.check(CHECK_VALUES, "scale_values"),
        authoring.check(CHECK_DTYPE, "scale_dtype"),
        authoring.check(CHECK_ERRORS, "scale_errors"),
        authoring.check(CHECK_PURE, "scale_pure"),
        authoring.md(PICTURE),
        authoring.code(PICTURE_CODE),
        authoring.md("## Questions\n\nAnswer each in a few sentences, in the cell below it."),
    ]
    for grade_id, question, model_answer in QUESTIONS:
        cells += [authoring.md(question), authoring.question(model_answer, grade_id)]
    return authoring.notebook(cells)


def scaffold(assignment: str, name: str, root: Path = ROOT) -> list[Path]:
    """Write the three files of a new assignment under ``root``; returns their paths."""
    if not ID.match(assignment):
        raise ValueError(f"assignment id {assignment!r}: expected two digits, an optional letter, '_' and a "
                         f"lower-case name, as 01_normalization or 04b_gradient_descent")
    if not NAME.match(name):
        raise ValueError(f"notebook name {name!r}: expected a lower-case Python name, as normalization")
    files = {
        root / "source" / assignment / f"{name}.ipynb": None,
        root / "autograder" / "hidden" / assignment / f"test_{name}.py": HIDDEN_TESTS.replace("{id}", assignment),
        root / "autograder" / "simulated_class" / f"{assignment}.py": SIMULATED_CLASS.replace("{id}", assignment),
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
          f"  python -m instructor.try_hidden {args.assignment} --check\n"
          f"  python -m instructor.release {args.assignment}")


if __name__ == "__main__":
    main()
