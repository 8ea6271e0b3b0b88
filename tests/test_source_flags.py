"""The source flags (``autograder/engine/nbgrader_side/source_flags.py``): the grading side reads the answer
cells' source and holds for review the checks of answers that use internals no exercise needs.

No honest submission (our solutions, every simulated student, every solution, variant,
mistake and broken submission of the catalog) is flagged; every attack on the guard is;
and one flagged submission graded with real ``nbgrader autograde`` ends with exactly its
affected check cells in nbgrader's manual grading, a comment naming the line, and feedback
that says no more than that it is held for review."""
from __future__ import annotations

import shutil
from functools import lru_cache

import nbformat
import pytest

from autograder import cell_conventions
from autograder.engine.nbgrader_side.preprocessor import answer_cells
from autograder.engine.nbgrader_side.source_flags import RULES, affected_checks, scan_cell, scan_cells, structure_of
from autograder.simulated_class import Case, build_submission, load_cases
from instructor import nbgrader_cli
from instructor.paths import assignments, notebook_of
from tests.catalog import CATALOG, catalog

HONEST_KINDS = {"solution", "blank", "variant", "mistake", "broken"}
# Catalog attacks on the in-worker refusal of built-ins, and forgeries of the grader's probes:
# each must be flagged. (Attacks on the sandbox or the judge, a memory bomb say, need no flag.)
GUARD_ATTACKS = {"cat_aten_mv", "cat_private_softmax", "cat_c_cross_entropy", "cat_guard_replaced",
                 "cat_guard_tables_replaced", "cat_modes_disabled", "cat_thread_in_call", "cat_thread_server",
                 "cat_thread_unwatched", "cat_refs_softmax", "cat_refs_nll_loss", "cat_forward_class_renamed",
                 "cat_forged_zero_grad", "cat_leak_grader_code", "cat_forged_purity", "cat_lying_tensor",
                 "cat_keyring_state", "cat_redispatch_mm", "cat_redispatch_softmax", "forged_gradients",
                 "cat_request_relay",
                 "attack_fake_modules"}


@lru_cache(maxsize=None)
def source_notebook(assignment: str):
    return nbformat.read(notebook_of(assignment), as_version=4)


def flags_of(assignment: str, case: Case):
    """(flags, the check cells they hold) of a case's submission, as grading reads it."""
    source = source_notebook(assignment)
    nb = build_submission(case, source, source)
    if not hasattr(nb, "cells"):  # a broken file: nothing is graded
        return [], {}
    answer_ids = {cell_conventions.grade_id(c) for c in source.cells if cell_conventions.is_answer(c)}
    cells = answer_cells(nb, answer_ids)
    flags = scan_cells(cells)
    return flags, affected_checks(structure_of(source.cells), flags, {c.id: c.source for c in cells})


def every_case():
    for assignment in assignments():
        for case in [Case("our_solution", "our solution", kind="solution")] + load_cases(assignment):
            yield assignment, case
    simulated = {(a, c.name) for a in assignments() for c in load_cases(a)}
    for entry in catalog():
        if (entry.assignment, entry.case.name) not in simulated:
            yield entry.assignment, entry.case


def test_no_honest_submission_is_flagged():
    flagged = {}
    for assignment, case in every_case():
        if case.kind in HONEST_KINDS:
            flags, _ = flags_of(assignment, case)
            if flags:
                flagged[f"{assignment}:{case.name}"] = [f.describe() for f in flags]
    assert not flagged, flagged


def test_every_attack_on_the_guard_is_flagged():
    found, missed = set(), []
    for assignment, case in every_case():
        if case.name in GUARD_ATTACKS:
            found.add(case.name)
            if not flags_of(assignment, case)[0]:
                missed.append(f"{assignment}:{case.name}")
    assert found == GUARD_ATTACKS, f"no such case: {GUARD_ATTACKS - found}"
    assert not missed, missed


@pytest.mark.parametrize("entry", [e for e in CATALOG if e.flagged_cells is not None], ids=lambda e: e.case.name)
def test_catalog_flagged_cells_are_what_the_scanner_holds(entry):
    flags, held = flags_of(entry.assignment, entry.case)
    assert flags and set(held) == entry.flagged_cells


# ---- the rules, one snippet each (flagged), and code an honest student writes (not flagged)
FLAGGED = {
    "torch_private": ["y = torch._softmax(x, 0, False)", "from torch import _C", "import torch._refs",
                      "t = torch\nf = t._C._nn.linear", "getattr(torch, '_softmax')(x, 0, False)",
                      "torch._fused_adam_(ps, gs, ms, vs, [], steps, lr=lr, beta1=b1, beta2=b2, "
                      "weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)"],
    "torch_internal": ["torch.ops.aten.mm(a, b)", "from torch.library import Library", "torch.overrides.x"],
    "dispatch": ["k = torch._C.DispatchKey.CPU", "op.redispatch(ks, a, b)",
                 "class M(torch.Tensor):\n    def __torch_dispatch__(cls, f, t, a=(), k=None):\n        pass",
                 "from torch.utils._python_dispatch import TorchDispatchMode"],
    "numpy_private": ["np._core.multiarray.matmul(a, b)"],
    "ctypes": ["import ctypes", "from cffi import FFI"],
    "hooks": ["import sys\nsys.setprofile(None)", "import sys\nsys.settrace(None)", "from sys import _getframe",
              "import threading\nthreading.settrace(f)"],
    "frames": ["import inspect\nf = inspect.currentframe()", "g = e.__traceback__.tb_frame.f_globals",
               "def f():\n    return frame.f_back.f_locals"],
    "gc": ["import gc\nobjs = gc.get_objects()", "import gc\ngc.get_referrers(x)"],
    "guard": ["import autograder.engine.worker.guard as g", "from autograder.engine.worker import guard",
              "m.forbidden = None", "worker._forbidden"],
    "builtins": ["import builtins\nbuiltins.len = f", "__builtins__['len'] = f", "getattr = lambda *a: 1"],
    "pipes": ["import os\nos.dup2(r, 4)", "from os import read\nread(4, 16)", "import subprocess",
              "f = open(4, 'rb')", "p = '/proc/self/fd/4'", "import os as o\nr, w = o.pipe()",
              "import sys\nfd = int(sys.argv[2])", "import posix"],
    "threads": ["import threading", "import _thread"],
    "dynamic_attr": ["name = 'so' + 'ftmax'\nf = getattr(torch, name)", "setattr(obj, n, v)",
                     "import operator\noperator.attrgetter(n)(torch)"],
    "dynamic_names": ["f = globals()[n]", "f = vars(torch)", "f = torch.__dict__['_C']", "from torch import *"],
    "dynamic_code": ["exec(code)", "eval('1 + 1')", "c = compile(s, 'x', 'exec')", "import types\ntypes.CodeType"],
    "dynamic_import": ["m = __import__('torch')", "import importlib\nm = importlib.import_module(n)",
                       "import sys\nsys.modules['x'] = y", "import sys\nm = sys.modules.get(n)"],
    "dunder_write": ["SimpleMnist.__qualname__ = 'Model'", "mod.__getattr__ = lambda a: 1"],
    "dunder_built": ["name = '__' + 'dict' + '__'", "name = f'__{x}__'", "d = '_' * 2 + 'dict' + '_' * 2"],
    "special_attr": ["f.__globals__['x'] = 1", "().__class__.__base__.__subclasses__()", "g = f.__code__"],
}
HONEST = [
    "def softmax(x, dim=-1):\n    e = torch.exp(x - x.max(dim, keepdim=True).values)\n    return e / e.sum(dim, keepdim=True)",
    "class SimpleMnist(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self._w = torch.zeros(3)\n"
    "    def forward(self, x):\n        return F.relu(x) + self._w",
    "import sys\nprint('computing', file=sys.stderr)\nif 'google.colab' in sys.modules:\n    pass",
    "from torch.utils.data import DataLoader, TensorDataset\nfrom torch import cuda\nimport math, itertools",
    "def f(x):\n    assert hasattr(x, 'shape')\n    return getattr(x, 'dtype'), x.expand(2, 3), torch.stack([x, x])",
    "%matplotlib inline\nx = torch.arange(6).reshape(2, 3)\nprint(f'{x.shape} and {x.dtype}')",
    "def matmul(a, b):\n    return (a[:, :, None] * b[None]).sum(1)",
    "name = 'a_' + 'b'\nlabel = '_'.join(['a', 'b'])\nkey = name + '_' + str(3)",
    "import os\npath = os.path.join('data', 'mnist')\nwith open('notes.txt') as f:\n    text = f.read()",
]


@pytest.mark.parametrize("rule,snippet", [(r, s) for r, snippets in FLAGGED.items() for s in snippets])
def test_each_rule_flags_its_snippet(rule, snippet):
    assert rule in RULES
    flags = scan_cell("x_answer", snippet)
    assert rule in {f.rule for f in flags}, (snippet, [f.describe() for f in flags])
    flag = next(f for f in flags if f.rule == rule)
    assert flag.cell == "x_answer" and flag.text == snippet.splitlines()[flag.line - 1].strip()


@pytest.mark.parametrize("snippet", HONEST)
def test_honest_code_is_not_flagged(snippet):
    assert scan_cell("x_answer", snippet) == []


def test_a_cell_that_does_not_parse_is_not_flagged():
    assert scan_cell("x_answer", "import ctypes\ndef f(:\n") == []


def test_magics_are_transformed_as_grading_runs_them():
    flags = scan_cell("x_answer", "%time y = 1\n!ls\nimport ctypes")
    assert [(f.line, f.rule) for f in flags] == [(3, "ctypes")]


def test_affected_checks_follow_the_source_order_and_names():
    structure = [("setup", "setup"), ("a_answer", "answer"), ("a_1", "check"), ("a_2", "check"),
                 ("b_answer", "answer"), ("b_1", "check"), ("c_answer", "answer"), ("c_1", "check")]
    [flag] = scan_cell("a_answer", "def a(x):\n    return torch._softmax(x, 0, False)")
    assert set(affected_checks(structure, [flag])) == {"a_1", "a_2"}
    sources = {"a_answer": "def a(x):\n    return x", "b_answer": "def b(x):\n    return 2 * x",
               "c_answer": "def c(x):\n    return a(x) + 1"}
    assert set(affected_checks(structure, [flag], sources)) == {"a_1", "a_2", "c_1"}  # c calls a
    [setup_flag] = scan_cell("setup", "import ctypes")
    assert set(affected_checks(structure, [setup_flag])) == {"a_1", "a_2", "b_1", "c_1"}


# ---- one flagged submission graded with real `nbgrader autograde`
ASSIGNMENT = "05_softmax_cross_entropy"


def test_nbgrader_autograde_holds_exactly_the_affected_checks(tmp_path, generated_course):
    from nbgrader.api import Gradebook

    entry = next(e for e in CATALOG if e.case.name == "cat_redispatch_softmax")
    honest = Case("honest_solution", "our solution", full=True, kind="solution")
    course = nbgrader_cli.copy_course(generated_course, tmp_path / "course")
    nbgrader_cli.submit_class(course, ASSIGNMENT, [entry.case, honest])
    log = nbgrader_cli.autograde(course, ASSIGNMENT, [entry.case.name, honest.name])
    nbgrader_cli.generate_feedback(course, ASSIGNMENT)

    notebook = notebook_of(ASSIGNMENT, course).stem
    grades = nbgrader_cli.read_grades(course, ASSIGNMENT)
    assert not nbgrader_cli.check_case(entry.case, grades), "the attack computes softmax and keeps its points"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        held = {}
        for student in (entry.case.name, honest.name):
            nb = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
            held[student] = {g.name for g in nb.grades if g.needs_manual_grade and g.cell_type == "code"}
        assert held == {entry.case.name: set(entry.flagged_cells), honest.name: set()}
        assert gb.find_submission_notebook(notebook, ASSIGNMENT, entry.case.name).flagged
        assert not gb.find_submission_notebook(notebook, ASSIGNMENT, honest.name).flagged
        comment = gb.find_comment("softmax_answer", notebook, ASSIGNMENT, entry.case.name).comment
        assert "line 3: return torch.ops.aten._softmax.default.redispatch(" in comment, comment
        assert "dispatch" in comment
        assert gb.find_comment("softmax_answer", notebook, ASSIGNMENT, honest.name).comment in (None, "")

    assert "SOURCE FLAG" in log and entry.case.name in log and "softmax_answer, line 3" in log
    assert not [line for line in log.splitlines() if "SOURCE FLAG" in line and honest.name in line]
    autograded = nbformat.read(course / "autograded" / entry.case.name / ASSIGNMENT / f"{notebook}.ipynb", 4)
    notes = {cell_conventions.grade_id(c) for c in autograded.cells
             if c.cell_type == "code" and any("Held for your instructor's review" in o.get("text", "")
                                              for o in c.get("outputs", []))}
    assert notes == set(entry.flagged_cells)
    # The student is told it is held for review, not what was flagged.
    feedback = nbgrader_cli.feedback_path(course, ASSIGNMENT, entry.case.name).read_text()
    assert "held for your instructor" in feedback.lower()
    assert "dispatch machinery" not in feedback and "line 3: return" not in feedback
    shutil.rmtree(course, ignore_errors=True)
