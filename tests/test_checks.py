"""The comparison that hidden tests and check cells share: tolerances follow the dtype
of the answer, and every failure says exactly what differs."""
import pytest
import torch

from autograder.checks import expect_close, expect_equal, expect_raises, expect_shape, expect_tensor, expect_unchanged
from autograder.engine.judge.student_proxy import StudentRaised
from mnist_course import assert_close
from mnist_course.checking import TOLERANCES, compare, graded_dtype


def message(actual, expected, **kwargs) -> str:
    with pytest.raises(AssertionError) as raised:
        expect_close(actual, expected, "the result", **kwargs)
    return str(raised.value)


def test_a_float32_answer_to_a_float64_question_is_held_to_float32_precision():
    expected = torch.tensor([0.1, 1 / 3, 1e3 / 7], dtype=torch.float64)
    expect_close(expected.float(), expected)              # float32 rounding: accepted
    assert graded_dtype(torch.float32, torch.float64) == torch.float32
    with pytest.raises(AssertionError):                   # but not a float32 error 100 times larger
        expect_close((expected * (1 + 100 * TOLERANCES[torch.float32][0])).float(), expected)


def test_a_float64_answer_is_held_to_the_expected_float32_precision():
    expected = torch.tensor([0.1, 1 / 3])
    expect_close(expected.double() + 1e-7, expected)


def test_check_dtype_makes_the_dtype_the_rule():
    text = message(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1.0, 2.0]), check_dtype=True)
    assert "should have dtype torch.float32, got torch.float64" in text


def test_feedback_for_a_value_that_differs_beyond_the_printed_digits():
    expected = torch.tensor([[0.5, 0.0376123456]], dtype=torch.float64)
    actual = torch.tensor([[0.5, 0.0376120001]], dtype=torch.float64)
    text = message(actual, expected)
    print(text)
    assert "Expected: tensor([[0.5000, 0.0376]], dtype=torch.float64)" in text
    assert "Got:      tensor([[0.5000, 0.0376]], dtype=torch.float64)" in text
    assert "They print alike: they differ beyond the 4 digits printed above." in text
    assert "At index [0, 1]: expected 0.0376123, got 0.037612." in text  # enough digits to see it
    assert "Largest absolute difference: 3.45e-07 (at index [0, 1])" in text
    assert "largest relative difference: 9.19e-06" in text
    assert "allowed: |got - expected| <= 1e-09 + 1e-07 * |expected| (the tolerance for torch.float64" in text


def test_feedback_for_a_value_that_differs_only_in_dtype():
    """Values alike, dtypes not: where the dtype is the rule, the message says so and shows both."""
    text = message(torch.tensor([0.25, 2.0], dtype=torch.float64), torch.tensor([0.25, 2.0]), check_dtype=True)
    print(text)
    assert text.startswith("the result should have dtype torch.float32, got torch.float64.")
    assert "Expected: tensor([0.2500, 2.0000])\nGot:      tensor([0.2500, 2.0000], dtype=torch.float64)" in text


def test_feedback_names_a_dtype_difference_beside_a_value_difference():
    text = message(torch.tensor([1, 3]), torch.tensor([1.0, 2.5]))
    assert "The dtypes differ too: expected torch.float32, got torch.int64." in text
    assert "At index [1]: expected 2.5, got 3." in text


def test_feedback_for_nan_and_inf():
    text = message(torch.tensor([[1.0, float("nan")], [float("inf"), 2.0]]), torch.tensor([[1.0, 0.5], [3.0, 2.0]]))
    assert "At index [0, 1] expected 0.5, got nan: 2 of 4 values differ in being nan or inf" in text
    expect_close(torch.tensor([float("nan"), 1.0]), torch.tensor([float("nan"), 1.0]))  # nan matches nan


def test_feedback_for_shapes_that_would_broadcast_silently():
    text = message(torch.tensor([[1.0], [2.0]]), torch.tensor([1.0, 2.0]))
    assert "should have shape (2,), got (2, 1)" in text
    assert "broadcast to (2, 2)" in text and "silently" in text
    assert "The numbers are right; only the shape differs" in text
    text = message(torch.zeros(3), torch.zeros(2))
    assert "should have shape (2,), got (3,)" in text and "broadcast" not in text


def test_integers_are_exact_beyond_float64_precision():
    big = 2 ** 60
    text = message(torch.tensor([3, big + 1]), torch.tensor([3, big]))
    assert f"At index [1]: expected {big}, got {big + 1}" in text and "exactly equal" in text
    expect_equal(torch.tensor([3, big]), torch.tensor([3, big]))


def test_rounding_scale_widens_atol_by_epsilons_of_the_returned_dtype():
    expected = torch.tensor([0.0], dtype=torch.float64)
    actual = torch.tensor([5e-5], dtype=torch.float32)    # a cancellation error of float32 at size 400
    assert compare(actual, expected) is not None
    assert compare(actual, expected, rounding_scale=4 * 400) is None


def test_a_non_tensor_answer_is_named():
    assert "should be a torch.Tensor, got float: 0.5" in message(0.5, torch.tensor(0.5))


def test_assert_close_for_check_cells_never_crashes_on_mixed_dtypes():
    assert_close(torch.tensor(1.118034, dtype=torch.float64), 1.118034)
    assert_close(torch.tensor([0.0, 255.0], dtype=torch.float64), torch.tensor([0, 255], dtype=torch.uint8))
    with pytest.raises(AssertionError, match="They print alike"):
        assert_close(torch.tensor(1.25, dtype=torch.float64), torch.tensor(1.250001, dtype=torch.float64))
    with pytest.raises(AssertionError, match="should have shape"):
        assert_close(torch.tensor([1.0]), 1.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_each_floating_dtype_is_held_to_its_own_tolerance_and_no_looser(dtype):
    """|got - expected| <= atol + rtol * |expected|: inside by half the margin passes,
    outside by twice the margin fails (at a large value, where rtol decides, and at 0,
    where atol does)."""
    rtol, atol = TOLERANCES[dtype]
    for value in (1000.0, 0.0):
        expected = torch.tensor([value], dtype=torch.float64)
        margin = atol + rtol * value
        assert compare((expected + margin / 2).to(dtype), expected.to(dtype)) is None
        assert compare((expected + 2 * margin).to(dtype), expected.to(dtype)) is not None


def test_explicit_tolerances_replace_the_dtype_defaults():
    expected = torch.tensor([1.0])
    assert compare(torch.tensor([1.01]), expected) is not None
    assert compare(torch.tensor([1.01]), expected, rtol=0.0, atol=0.02) is None
    assert compare(torch.tensor([1.0 + 1e-6]), expected, rtol=0.0, atol=0.0) is not None


def test_expect_equal_on_plain_values_shows_both():
    expect_equal((2, 3), (2, 3))
    with pytest.raises(AssertionError) as raised:
        expect_equal((2, 3), (3, 2), what="the shape")
    assert str(raised.value) == "the shape is wrong.\nExpected: (3, 2)\nGot:      (2, 3)"


def test_expect_shape_and_expect_tensor_name_what_they_checked():
    expect_shape(torch.zeros(2, 3), (2, 3))
    with pytest.raises(AssertionError, match=r"^mean should have shape \(\), got \(1,\)$"):
        expect_shape(torch.zeros(1), (), what="mean")
    with pytest.raises(AssertionError, match="^std should be a torch.Tensor, got list"):
        expect_tensor([1.0], what="std")


def test_expect_unchanged_shows_the_input_before_and_after():
    expect_unchanged(torch.ones(2), torch.ones(2), "x")
    with pytest.raises(AssertionError) as raised:
        expect_unchanged(torch.ones(2), torch.tensor([1.0, 0.0]), "x")
    text = str(raised.value)
    assert text.startswith("x was modified in place: your function must leave its inputs unchanged")
    assert "Before the call: tensor([1., 1.])\nAfter the call:  tensor([1., 0.])" in text
    with pytest.raises(AssertionError, match="x was modified in place"):  # a reshaped input is a change too
        expect_unchanged(torch.ones(2), torch.ones(1, 2), "x")


def raised_by_student(type_name: str, message: str) -> StudentRaised:
    return StudentRaised("fn", {"type": type_name, "mro": [type_name, "Exception", "BaseException", "object"],
                                "message": message})


def test_expect_raises_accepts_the_type_with_a_message_that_explains():
    with expect_raises(ValueError, "fn of a vector"):
        raise raised_by_student("ValueError", "expected a matrix, got shape (3,)")


@pytest.mark.parametrize("raised, expected", [
    (None, "fn of a vector: expected ValueError, but nothing was raised"),
    (("TypeError", "bad"), "fn of a vector: expected ValueError, but your code raised TypeError: bad"),
    (("ValueError", " no "), ("fn of a vector: ValueError was raised, but its message should say what was expected "
                              "and what was given, got ' no '")),
])
def test_expect_raises_says_what_happened_instead(raised, expected):
    with pytest.raises(AssertionError) as failure, expect_raises(ValueError, "fn of a vector"):
        if raised:
            raise raised_by_student(*raised)
    assert str(failure.value) == expected
