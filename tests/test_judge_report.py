"""What the judge reports of a failed property, read from real hypothesis failures: the
smallest failing input comes out of hypothesis's note text (so an upgrade that changes
that text fails here, not silently in students' feedback), without the fixtures; the
message is the check's own, never the hidden test's source.

PYTEST_DONT_REWRITE: the judge runs hidden tests with --assert=plain, so the properties
below must raise plain AssertionErrors, as they would there."""
import pytest
import torch
from hypothesis import example, given, settings, strategies as st

from autograder.engine.judge.plugin import describe_failure, smallest_failing_input
from autograder.engine.nbgrader_side.preprocessor import feedback_output

GRADING = settings(database=None, derandomize=True, max_examples=200, deadline=None)


def failure_of(test, **fixtures) -> BaseException:
    """Run a hypothesis test as pytest would (fixtures passed by name) and return what it raised."""
    with pytest.raises(BaseException) as raised:
        test(**fixtures)
    return raised.value


@GRADING
@given(x=st.integers(0, 100), t=st.lists(st.integers(0, 9), min_size=1, max_size=4).map(torch.tensor))
def sum_stays_small(student, x, t):
    if x >= 5 and int(t.sum()) >= 3:
        raise AssertionError(f"the result is wrong for x={x}")


def test_the_smallest_failing_input_is_the_shrunk_arguments_without_the_fixtures():
    exc = failure_of(sum_stays_small, student="the student fixture")
    assert smallest_failing_input(exc) == "x=5\nt=tensor([3])"
    assert describe_failure(exc) == "the result is wrong for x=5"


@GRADING
@given(m=st.integers(2, 4).map(lambda n: torch.arange(float(n * n)).reshape(n, n)))
def no_big_matrix(student, m):
    assert m.shape[0] < 2, "too many rows"


def test_a_value_printed_on_several_lines_keeps_its_lines_and_commas():
    example_text = smallest_failing_input(failure_of(no_big_matrix, student=None))
    assert example_text == "m=tensor([[0., 1.],\n        [2., 3.]])"


@GRADING
@given(x=st.integers())
@example(x=-7)
def never_negative(student, x):
    assert x >= 0, f"{x} is negative"


def test_a_failing_explicit_example_is_reported_as_the_failing_input():
    exc = failure_of(never_negative, student=None)
    assert smallest_failing_input(exc) == "x=-7"
    assert describe_failure(exc) == "-7 is negative"


@GRADING
@given(x=st.integers(0, 10))
def bare_assert(student, x):
    assert x < 3


def test_a_bare_assert_shows_no_test_source():
    exc = failure_of(bare_assert, student=None)
    assert describe_failure(exc) == "the property does not hold"
    assert smallest_failing_input(exc) == "x=3"


@GRADING
@given(x=st.integers(0, 10))
def broken_test(student, x):
    return {}["missing"] if x > 1 else None


def test_an_error_in_the_test_itself_is_named_as_the_grader_failing():
    exc = failure_of(broken_test, student=None)
    assert describe_failure(exc) == "the grader could not check your result: KeyError: 'missing'"
    assert smallest_failing_input(exc) == "x=2"


@GRADING
@given(x=st.integers(0, 20))
def two_different_bugs(student, x):
    if x == 3:
        raise AssertionError("three is wrong")
    if x >= 10:
        raise ValueError("ten or more")


def test_several_distinct_failures_report_the_first_one():
    exc = failure_of(two_different_bugs, student=None)
    assert isinstance(exc, BaseExceptionGroup)
    message = describe_failure(exc)
    assert message in ("three is wrong", "the grader could not check your result: ValueError: ten or more")
    leaf = exc.exceptions[0]
    assert smallest_failing_input(leaf) in ("x=3", "x=10")


def test_fixtures_other_than_student_are_left_out_too():
    exc = failure_of(sum_stays_small, student="s")
    assert smallest_failing_input(exc, fixtures=("student", "x")) == "t=tensor([3])"


def test_the_feedback_shows_the_property_message_and_input_but_not_the_code():
    exc = failure_of(sum_stays_small, student="s")
    record = {"test": "test_sum", "cell": "sum_cell", "property": "the sum stays below 3", "passed": False,
              "message": describe_failure(exc), "example": smallest_failing_input(exc)}
    text = "\n".join(feedback_output([record]).traceback)
    assert "✗ the sum stays below 3" in text
    assert "the result is wrong for x=5" in text
    assert "Smallest failing input:\n        x=5\n        t=tensor([3])" in text
    assert "raise AssertionError" not in text and "int(t.sum())" not in text
