"""The authoring module's one-line properties, against real student code in a real
worker: each passes on code that keeps the property and fails, with the words a
student reads, on code that breaks it."""
import pytest
import torch

from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentProcess
from autograder.testing import forbidden_table, leaves_inputs_unchanged, raises_value_error, returns_pair

STUDENT_CODE = '''
import torch

def shifted(x, by=1.0):
    return x + by

def shifted_in_place(x, by=1.0):
    x += by
    return x

def scales_second(x, y):
    y *= 2
    return x + y

def stats(x):
    return x.mean(), x.std()

def stats_as_list(x):
    return [x.mean(), x.std()]

def checked(x):
    if x.ndim != 2:
        raise ValueError(f"expected a matrix (2-d), got {x.ndim}-d")
    return x

def checked_wrongly(x):
    raise TypeError("not a matrix")

def checked_tersely(x):
    raise ValueError("no")

def unchecked(x):
    return x

def product(a, b):
    return torch.matmul(a, b)
'''
FAST = Limits(call_seconds=10, cpu_seconds=10, cells_seconds=30, memory_bytes=2 << 30)


@pytest.fixture(scope="module")
def worker():
    process = StudentProcess([Cell("answer", STUDENT_CODE)], FAST)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def student(worker):
    return Student(worker, {})


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as raised:
        check(*args, **kwargs)
    return str(raised.value)


def test_leaves_inputs_unchanged_passes_a_pure_function_with_keyword_arguments(student):
    leaves_inputs_unchanged(student, "shifted", torch.arange(3.0), names=["x"], by=2.0)


def test_leaves_inputs_unchanged_names_the_argument_that_changed(student):
    text = failure(leaves_inputs_unchanged, student, "shifted_in_place", torch.arange(3.0), names=["x"])
    assert text.startswith("x was modified in place: your function must leave its inputs unchanged")
    assert "Before the call: tensor([0., 1., 2.])\nAfter the call:  tensor([1., 2., 3.])" in text


def test_leaves_inputs_unchanged_checks_every_named_argument_and_only_those(student):
    x, y = torch.ones(2), torch.ones(2)
    assert failure(leaves_inputs_unchanged, student, "scales_second", x, y, names=["x", "y"]).startswith("y was")
    leaves_inputs_unchanged(student, "scales_second", x, y, names=["x"])  # y is not this property's


def test_leaves_inputs_unchanged_refuses_more_names_than_arguments(student):
    with pytest.raises(TypeError, match="2 names for 1 arguments"):  # a hidden test's mistake, not a failed property
        leaves_inputs_unchanged(student, "shifted", torch.ones(1), names=["x", "by"])


def test_returns_pair_gives_the_pair_back(student):
    mean, std = returns_pair(student, "stats", torch.tensor([1.0, 3.0]), names=("mean", "std"))
    assert float(mean) == 2.0 and float(std) == pytest.approx(2 ** 0.5)


def test_returns_pair_refuses_a_list(student):
    text = failure(returns_pair, student, "stats_as_list", torch.tensor([1.0, 3.0]), names=("mean", "std"))
    assert text.startswith("stats_as_list should return a tuple (mean, std), got [tensor(2.), tensor(1.4142)]")


def test_raises_value_error_passes_a_value_error_with_a_message(student):
    raises_value_error(student, "checked", torch.ones(3), what="checked of a vector")


@pytest.mark.parametrize("function, expected", [
    ("unchecked", "checked of a vector: expected ValueError, but nothing was raised"),
    ("checked_wrongly", "checked of a vector: expected ValueError, but your code raised TypeError: not a matrix"),
    ("checked_tersely", ("checked of a vector: ValueError was raised, but its message should say what was expected "
                         "and what was given, got 'no'")),
])
def test_raises_value_error_says_what_went_wrong(student, function, expected):
    assert failure(raises_value_error, student, function, torch.ones(3), what="checked of a vector") == expected


def test_a_table_for_every_function_guards_a_function_it_never_names(worker):
    student = Student(worker, forbidden_table(["torch.matmul"]))
    text = failure(student.product, torch.ones(2, 2), torch.ones(2, 2))
    assert text.startswith("product used torch.matmul, which this exercise does not allow.")
    assert torch.equal(student.shifted(torch.zeros(1)), torch.ones(1))  # what does not use it still runs


def test_a_table_for_some_functions_guards_only_those(worker):
    table = forbidden_table(["torch.matmul"], only=["other"])
    assert dict(table) == {"other": ["torch.matmul"]}
    assert torch.equal(Student(worker, table).product(torch.eye(2), torch.ones(2, 2)), torch.ones(2, 2))


def test_a_source_function_pickles_as_its_text_and_computes_the_same():
    """Examples that draw a SourceFunction can be recorded: it crosses pickle as its source and
    comes back computing the same values."""
    import pickle

    import torch

    from autograder.testing import SourceFunction

    f = SourceFunction("lambda t: float(np.sin(t.numpy()).sum()) + (t ** 2).sum()")
    back = pickle.loads(pickle.dumps(f))
    x = torch.linspace(-2, 2, 7, dtype=torch.float64)
    assert back.source == f.source and repr(back) == repr(f)
    assert torch.equal(torch.as_tensor(back(x)), torch.as_tensor(f(x)))
