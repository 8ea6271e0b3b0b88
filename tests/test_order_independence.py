"""A grade is a function of the notebook alone: not of what its grading process graded
before, nor of whether hypothesis's examples were replayed or drawn afresh.

Submissions whose function keeps state between calls (so that it is wrong on its first call,
on its n-th, after k calls, or when it meets an input a second time) are each graded in a
process that graded our solution first (examples replayed: a replayed example that fails is
followed by hypothesis's own run, which meets the function once more called), and with replay
switched off after each other in reverse order (the last graded first in its process): one
score each. The parallel path runs this same engine in each Dask worker (its history is
another order of the same kind); tests/test_parallel_grading.py compares its grade tables. The law on a small
test file: tests/test_example_replay.py.
"""
from __future__ import annotations

import pytest

from autograder.engine.nbgrader_side.judge_client import stop_all
from autograder.simulated_class import Case
from instructor import try_hidden
from tests.catalog import STATEFUL

ASSIGNMENT = "01_normalization"
def scores(results: dict) -> dict:
    """Per graded cell, whether it scores (every property it stands for passed)."""
    cells: dict = {}
    for record in results["tests"]:
        cells[record["cell"]] = cells.get(record["cell"], True) and record["passed"]
    return cells


def case(behaviour: str) -> Case:
    return Case("stateful", behaviour, answers={"mean_std_answer": STATEFUL[behaviour]})


def in_one_process(names: list[str], replay: bool = True) -> list[dict]:
    """Each of ``names`` (our solution, or a behaviour) graded in turn by one fresh grading process."""
    stop_all()
    try:
        return [try_hidden.run(ASSIGNMENT, "solution", replay_examples=replay) if name == "solution"
                else try_hidden.run(ASSIGNMENT, case=case(name), replay_examples=replay) for name in names]
    finally:
        stop_all()


@pytest.fixture(scope="module")
def tables() -> dict:
    """Per behaviour, its scores graded in two grading processes: after our solution (its examples
    replayed), and in reverse order with replay off (the last is graded first in its process)."""
    behaviours = list(STATEFUL)
    later = dict(zip(behaviours, in_one_process(["solution", *behaviours])[1:]))
    afresh = dict(zip(behaviours[::-1], in_one_process(behaviours[::-1], replay=False)))
    return {"later": later, "afresh": afresh}


@pytest.mark.parametrize("behaviour", list(STATEFUL))
def test_a_function_that_keeps_state_scores_the_same_whatever_was_graded_before(tables, behaviour):
    later, afresh = (tables[way][behaviour] for way in ("later", "afresh"))
    assert later["examples"]["replayed"] > 0, "the later grading should have replayed the solution's examples"
    assert afresh["examples"]["replayed"] == 0
    assert scores(later) == scores(afresh), behaviour
    assert not all(scores(afresh).values()), f"{behaviour}: the submission should lose points"
