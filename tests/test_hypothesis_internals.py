"""The one module that uses hypothesis's internals (autograder/engine/judge/hypothesis_internals.py):
each behaviour the judge relies on holds for the installed hypothesis, and when one does not,
the failure names the hypothesis version and what changed."""
import pytest

from autograder.engine.judge import hypothesis_internals as internals


def test_the_hypothesis_internals_the_judge_relies_on_hold_for_this_version():
    problems = internals.check()
    assert not problems, "\n".join(problems)


def test_nothing_else_in_the_engine_uses_hypothesis_internals():
    import re
    from pathlib import Path

    private = re.compile(r"hypothesis\.(internal|vendor|strategies\._internal)|_hypothesis_internal|"
                         r"\.hypothesis\.inner_test|from hypothesis\.errors import [^\n]*(StopTest|UnsatisfiedAssumption)")
    engine = Path(internals.__file__).parent
    users = sorted(str(path.relative_to(engine)) for path in engine.rglob("*.py")
                   if path.name != "hypothesis_internals.py" and private.search(path.read_text()))
    assert users == [], f"{users} use hypothesis internals: put them behind {internals.HERE}"


@pytest.mark.parametrize("change, said", [
    (lambda monkeypatch: monkeypatch.setattr(internals.inspect, "getsource", lambda obj: "class HypothesisProvider: ..."),
     "HypothesisProvider no longer draws local constants through _get_local_constants()"),
    (lambda monkeypatch: monkeypatch.setattr(internals, "function_digest", lambda f: id(f).to_bytes(8, "little")),
     "function_digest of a functools.wraps wrapper differs"),
    (lambda monkeypatch: monkeypatch.setattr(internals, "is_data_object", lambda value: False),
     "st.data() argument is no longer a hypothesis.strategies._internal.core.DataObject"),
    (lambda monkeypatch: monkeypatch.setattr(internals, "FALSIFYING", internals.re.compile("^Counterexample")),
     "no longer reads 'Falsifying example: name(...)'"),
], ids=["local constants", "digest", "data object", "note format"])
def test_a_changed_internal_fails_loudly_naming_the_version_and_what_changed(monkeypatch, change, said):
    change(monkeypatch)
    problems = internals.check()
    assert any(said in problem for problem in problems), problems
    assert all(problem.startswith(f"hypothesis {internals.VERSION}: ") for problem in problems), problems
