"""A grade is a function of the notebook alone: not of what its grading process graded
before, nor of whether hypothesis's examples were replayed or drawn afresh.

Submissions whose function keeps state between calls (so that it is wrong on its first call,
on its n-th, after k calls, or when it meets an input a second time) are each graded first in a
fresh grading process (every example drawn), later in a process that graded our solution first
(examples replayed: a replayed example that fails is followed by hypothesis's own run, which meets
the function once more called), and with replay switched off: one score each. The law on a small
test file: tests/test_example_replay.py.
"""
from __future__ import annotations

import pytest

from autograder.engine.judge_server import stop_all
from autograder.simulated_class import Case
from instructor import try_hidden

ASSIGNMENT = "01_normalization"
COUNTED = '''
_calls = [0]

def mean_std(x):
    _calls[0] += 1
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.double()
    wrong = {wrong}
    return x.mean(), x.std(correction=1 if wrong else 0)
'''
SEEN_TWICE = '''
_seen = set()

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    key = (tuple(x.shape), str(x.dtype), x.double().sum().item())
    again = key in _seen
    _seen.add(key)
    x = x.double()
    return x.mean(), x.std(correction=1 if again else 0)
'''
STATEFUL = {
    "wrong on its first call": COUNTED.format(wrong="_calls[0] == 1"),
    "wrong on its 25th call": COUNTED.format(wrong="_calls[0] == 25"),
    "wrong after 60 calls": COUNTED.format(wrong="_calls[0] > 60"),
    "wrong on an input met before": SEEN_TWICE,
}


def scores(results: dict) -> dict:
    """Per graded cell, whether it scores (every property it stands for passed)."""
    cells: dict = {}
    for record in results["tests"]:
        cells[record["cell"]] = cells.get(record["cell"], True) and record["passed"]
    return cells


def graded(answer: str, *, after_solution: bool, replay: bool = True) -> dict:
    """The answer graded in a fresh grading process, alone or after our solution."""
    stop_all()
    try:
        if after_solution:
            try_hidden.run(ASSIGNMENT, "solution", replay_examples=replay)
        case = Case("stateful", "a function that keeps state", answers={"mean_std_answer": answer})
        results = try_hidden.run(ASSIGNMENT, case=case, replay_examples=replay)
    finally:
        stop_all()
    return results


@pytest.mark.parametrize("behaviour", list(STATEFUL))
def test_a_function_that_keeps_state_scores_the_same_first_later_and_without_replay(behaviour):
    answer = STATEFUL[behaviour]
    first = graded(answer, after_solution=False)
    later = graded(answer, after_solution=True)
    afresh = graded(answer, after_solution=True, replay=False)
    assert later["examples"]["replayed"] > 0, "the later grading should have replayed the solution's examples"
    assert scores(first) == scores(later) == scores(afresh), behaviour
    assert not all(scores(first).values()), f"{behaviour}: the submission should lose points"
