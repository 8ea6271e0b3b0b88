"""The integrity catalog: attacks on the grader and broken submissions, one case a
submission, each with the outcome it must get.

Attacks must gain nothing over the same submission without them (``same_as`` a
plain wrong one) and change no file of the course or of another student. Broken
submissions get the score they earned and a clear message in their feedback or in
the grading log, and the run goes on for everyone else. The attacks already in the
simulated classes (``autograder/simulated_class/``) belong to the catalog too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import nbformat

from autograder.simulated_class import Case, drop_cells, load_cases
from instructor.paths import assignments

A01 = "01_normalization"
UNBIASED = '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.float()
    return x.mean(), x.std()
'''
CORRECT = '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.double()
    return x.mean(), x.std(correction=0)
'''

META_MEAN_STD = """
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    return torch.empty((), device="meta"), torch.empty((), device="meta")
"""
# The worker's pipe to the judge is its first argument: the student can write anything to it.
FORGED_REPLY = """
import json, os, struct, sys

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    one = {"__tensor__": {"dtype": "float32", "shape": [1, 1], "device": "cpu", "buffer": 0}}
    huge = {"__tensor__": {"dtype": "float32", "shape": [100000, 100000], "device": "cpu", "expanded_from": one}}
    header = json.dumps({"__dict__": {"ok": True, "value": {"__tuple__": [huge, huge]}}}).encode()
    os.write(int(sys.argv[1]), struct.pack("<QQ", len(header), 1) + header + struct.pack("<Q", 4) + bytes(4))
    return torch.tensor(0.0), torch.tensor(1.0)
"""
DETACH_MARKER = "catalog-detached-marker"
DETACH = """import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {code!r} + "  # """ + DETACH_MARKER + """"])
    os._exit(0)
"""
SHARED_STATE = """
import os
MARKERS = ("/dev/shm/catalog-shared-state", "/tmp/catalog-shared-state", "catalog-shared-state")
SEEN_BEFORE = any(os.path.exists(p) for p in MARKERS)
for path in MARKERS:
    try:
        open(path, "w").close()
    except OSError:
        pass

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.double()
    return x.mean(), x.std(correction=0 if SEEN_BEFORE else 1)
"""


@dataclass
class Entry:
    assignment: str
    case: Case
    log_says: str | None = None  # text the grading log must contain for this student


def attack(name: str, description: str, prelude: str, **kwargs) -> Entry:
    """The wrong (unbiased) mean_std with ``prelude`` run first: must score like it."""
    return Entry(A01, Case(name, description, kind="attack", same_as="cat_wrong_baseline",
                           fails={"mean_std_population_std"},
                           answers={"mean_std_answer": prelude + "\n" + UNBIASED}, **kwargs))


def _set_metadata(fn):
    def mutate(nb):
        for cell in nb.cells:
            fn(cell)
        return nb
    return mutate


def _duplicate_checks(nb):
    nb.cells = [c for cell in nb.cells for c in ([cell, nbformat.from_dict(json.loads(json.dumps(cell)))]
                                                   if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
                                                   else [cell])]
    return nb


def _strip_check_metadata(cell):
    if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
        del cell.metadata["nbgrader"]


def _huge_outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 2_000_000)]
    return nb


def _as_v3(nb):
    return nbformat.writes(nbformat.convert(nb, 3), version=3)


CATALOG = [
    Entry(A01, Case("cat_wrong_baseline", "the unbiased-std mistake, no attack: the baseline for attacks",
                    fails={"mean_std_population_std"}, answers={"mean_std_answer": UNBIASED})),
    Entry(A01, Case("cat_correct", "our solution", full=True, kind="solution")),
    # ---- attacks on the judge's comparisons and references
    attack("cat_numpy_testing", "numpy.testing's assertions disabled",
           "import numpy.testing as npt\nnpt.assert_allclose = npt.assert_array_equal = lambda *a, **k: None"),
    attack("cat_torch_reference", "torch's own std and mean replaced by the student's answers",
           "import torch\ntorch.std = lambda *a, **k: torch.tensor(0.0)\ntorch.Tensor.std = lambda *a, **k: torch.tensor(0.0)"),
    attack("cat_subprocess", "subprocess patched so that any command 'succeeds'",
           "import subprocess\nclass Done:\n    returncode = 0\n    stdout = stderr = ''\n"
           "subprocess.run = lambda *a, **k: Done()\nsubprocess.Popen = lambda *a, **k: Done()"),
    attack("cat_ipython_display", "IPython's display formatter and run_cell replaced (as a notebook would)",
           "try:\n    ip = get_ipython()\n    ip.display_formatter.formatters['text/plain'].for_type(float, lambda *a: '99.0')\n"
           "    ip.run_cell = lambda *a, **k: None\nexcept Exception:\n    pass"),
    Entry(A01, Case("cat_lying_tensor", "the wrong mean_std returning a tensor subclass whose comparisons "
                    "always say equal", kind="attack", same_as="cat_wrong_baseline",
                    fails={"mean_std_population_std"}, answers={"mean_std_answer": '''
class Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "isclose", "equal", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.float()
    return x.mean().as_subclass(Liar), x.std().as_subclass(Liar)
'''})),
    attack("cat_relative_paths", "reads and writes the course through relative paths",
           "import os\nfor rel in ['../autograder', '../../autograder', '../../../gradebook.db', '../source', 'gradebook.db']:\n"
           "    try:\n        open(os.path.join(rel, 'x'), 'w').write('tampered')\n    except OSError:\n        pass"),
    attack("cat_other_submission", "overwrites another student's submitted notebook with a blank one",
           "import glob\nfor depth in range(6):\n"
           "    for path in glob.glob('/' + '*/' * depth + 'submitted/cat_correct/*/*.ipynb')[:3]:\n"
           "        try:\n            open(path, 'w').write('{}')\n        except OSError:\n            pass"),
    attack("cat_process_burst", "starts a burst of 300 processes (stopped by the process limit)",
           "import os, time\nfor _ in range(300):\n    try:\n        if os.fork() == 0:\n            time.sleep(3)\n"
           "            os._exit(0)\n    except OSError:\n        break"),
    attack("cat_memory_bomb", "allocates 64 GiB, many times the memory limit",
           "import torch\ntry:\n    hog = torch.ones(2**34)\nexcept Exception:\n    pass"),
    Entry(A01, Case("cat_sys_exit", "the wrong mean_std, then sys.exit in the same cell", kind="attack",
                    same_as="cat_wrong_baseline", fails={"mean_std_population_std"},
                    answers={"mean_std_answer": UNBIASED + "\nimport sys\nsys.exit(0)\n"})),
    Entry(A01, Case("cat_duplicated_checks", "every check cell duplicated", kind="attack", full=True,
                    mutate=_duplicate_checks)),
    Entry(A01, Case("cat_stripped_metadata", "our solution with the nbgrader metadata of every check cell removed",
                    kind="attack", full=True, mutate=_set_metadata(_strip_check_metadata))),
    Entry(A01, Case("cat_fake_score", "the wrong mean_std, each check cell ending in a forged score",
                    kind="attack", same_as="cat_wrong_baseline", answers={"mean_std_answer": UNBIASED},
                    mutate=_set_metadata(lambda c: c.metadata.get("nbgrader", {}).get("grade")
                                         and setattr(c, "source", "print('21.0')\n21.0")))),
    # ---- integrity II: values that are not values, forged replies, what outlives a worker,
    # writable state shared between workers, built-ins reached by other names
    Entry(A01, Case("cat_meta_values", "mean_std returns shapes on the meta device, with no values: computes nothing",
                    kind="attack", fails={"mean_std_mean", "mean_std_population_std", "mean_std_integer_input"},
                    answers={"mean_std_answer": META_MEAN_STD})),
    Entry(A01, Case("cat_forged_huge_reply", "mean_std writes its own reply to the judge: a 4-byte tensor "
                    "expanded to 10^10 elements", kind="attack",
                    fails={"mean_std_mean", "mean_std_population_std", "mean_std_integer_input"},
                    answers={"mean_std_answer": FORGED_REPLY})),
    attack("cat_detached_sleeper", "starts a process that detaches twice (new session) and sleeps on: it must "
           "not outlive the worker", DETACH.format(code="import time\ntime.sleep(600)")),
    Entry(A01, Case("cat_detached_killer", "starts a detached process that keeps killing every process it can "
                    "signal: costs its own points only", kind="attack", fails={"mean_std_population_std"},
                    answers={"mean_std_answer": DETACH.format(
                        code="import os, time\ntime.sleep(3)\nwhile True:\n    try:\n        os.kill(-1, 9)\n"
                             "    except OSError:\n        pass\n    time.sleep(0.2)") + "\n" + UNBIASED})),
    Entry(A01, Case("cat_zz_graded_after_the_killer", "our solution, graded after the detached killer",
                    full=True, kind="solution")),
    Entry(A01, Case("cat_shared_state", "right only when an earlier worker left a marker in /dev/shm or /tmp "
                    "(a regrade, or another student)", kind="attack", same_as="cat_wrong_baseline",
                    fails={"mean_std_population_std"}, answers={"mean_std_answer": SHARED_STATE})),
    attack("cat_fill_tmp", "fills /tmp and /dev/shm (memory-backed) with 2 GB of files",
           "import os\nfor folder in ('/tmp', '/dev/shm', '.'):\n    for i in range(128):\n        try:\n"
           "            with open(os.path.join(folder, f'fill{i}'), 'wb') as f:\n                f.write(b'x' * (16 << 20))\n"
           "        except OSError:\n            break"),
    attack("cat_kill_pid_1", "kills every process it can see, its own worker's init included, while its cells run",
           "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass"),
    attack("cat_gradebook", "looks for the gradebook and the hidden tests everywhere and rewrites what it finds",
           "import glob\nfor depth in range(7):\n    for name in ['gradebook.db', 'course_config.py', "
           "'autograder/hidden/*/*.py']:\n        for path in glob.glob('/' + '*/' * depth + name)[:20]:\n"
           "            try:\n                open(path, 'a').write('tampered')\n            except OSError:\n"
           "                pass"),
    Entry("04_matmul", Case("cat_aten_mv", "matvec through torch.ops.aten.mv, a built-in by its operator name",
                            kind="attack", fails={"matvec_values", "matvec_integer"},
                            answers={"matvec_answer": "def matvec(m, v):\n    if m.dim() != 2 or v.dim() != 1 or "
                                     "m.shape[1] != v.shape[0]:\n        raise ValueError(f'expected (n, k) and (k,), "
                                     "got {tuple(m.shape)} and {tuple(v.shape)}')\n"
                                     "    return torch.ops.aten.mv(m, v)"})),
    Entry("04_matmul", Case("cat_mm_out", "matmul through torch.mm with out=, caught in its own except", kind="attack",
                            fails={"matmul_values", "matmul_integer"},
                            answers={"matmul_answer": "def matmul(a, b):\n    if a.dim() != 2 or b.dim() != 2 or "
                                     "a.shape[1] != b.shape[0]:\n        raise ValueError(f'expected (n, k) and (k, p), "
                                     "got {tuple(a.shape)} and {tuple(b.shape)}')\n"
                                     "    out = torch.empty(a.shape[0], b.shape[1], dtype=torch.result_type(a, b))\n"
                                     "    try:\n        torch.mm(a, b, out=out)\n    except Exception:\n"
                                     "        out = (a[:, :, None] * b[None]).sum(1)\n    return out"})),
    Entry("04_matmul", Case("cat_numpy_multi_dot", "shop_totals through numpy.linalg.multi_dot", kind="attack",
                            fails={"shop_totals_example", "shop_totals_values"},
                            answers={"shop_totals_answer": "import numpy as np\n\ndef shop_totals(quantities, prices):\n"
                                     "    return torch.from_numpy(np.linalg.multi_dot([quantities.double().numpy(), "
                                     "prices.double().numpy()]))"})),
    Entry("05_softmax_cross_entropy", Case("cat_private_softmax", "softmax through torch._softmax", kind="attack",
                                           fails={"softmax_values", "softmax_large"},
                                           answers={"softmax_answer": "def softmax(x, dim=-1):\n"
                                                    "    return torch._softmax(x, dim, False)"})),
    Entry("05_softmax_cross_entropy", Case("cat_c_cross_entropy", "cross_entropy through torch._C._nn.cross_entropy_loss",
                                           kind="attack", fails={"cross_entropy_values", "cross_entropy_grad"},
                                           answers={"cross_entropy_answer": "def cross_entropy(logits, targets):\n"
                                                    "    return torch._C._nn.cross_entropy_loss(logits, targets)"})),
    # ---- broken submissions
    Entry(A01, Case("cat_invalid_json", "a notebook cut off in the middle", kind="broken", zero=True,
                    mutate=lambda nb: nbformat.writes(nb)[:5000].encode()), log_says="does not appear to be JSON"),
    Entry(A01, Case("cat_empty_file", "an empty file", kind="broken", zero=True, mutate=lambda nb: b""),
          log_says="does not appear to be JSON"),
    Entry(A01, Case("cat_binary_file", "a binary file named .ipynb", kind="broken", zero=True,
                    mutate=lambda nb: bytes(range(256)) * 64), log_says="cat_binary_file"),
    Entry(A01, Case("cat_nbformat_v3", "our solution saved as an nbformat 3 notebook", kind="broken", full=True,
                    mutate=_as_v3)),
    Entry(A01, Case("cat_missing_notebook", "handed in nothing but a text file: nothing to grade, so no "
                    "grade (the gradebook and export show it missing)", kind="broken", recorded=False,
                    mutate=lambda nb: None, extra_files={"notes.txt": b"I ran out of time"}),
          log_says="No notebooks were matched"),
    Entry(A01, Case("cat_extra_notebook", "our solution plus an extra notebook of their own", kind="broken",
                    full=True, extra_files={"scratch.ipynb": nbformat.writes(nbformat.v4.new_notebook()).encode()})),
    Entry(A01, Case("cat_renamed_function", "mean_std renamed meanstd", kind="broken", rest_full=True,
                    fails={"mean_std_zero_dim", "mean_std_mean", "mean_std_population_std",
                           "mean_std_integer_input", "mean_std_empty", "normalize_splits_train_result",
                           "normalize_splits_train_stats", "normalize_splits_pure"},
                    answers={"mean_std_answer": CORRECT.replace("def mean_std", "def meanstd")})),
    Entry(A01, Case("cat_wrong_signature", "normalize(x) without mean and std", kind="broken", rest_full=True,
                    fails={"normalize_values", "normalize_float", "normalize_pure", "normalize_splits_train_result",
                           "normalize_splits_train_stats", "normalize_splits_pure"},
                    answers={"normalize_answer": "def normalize(x):\n    return (x - x.mean()) / x.std()"})),
    Entry(A01, Case("cat_syntax_error", "a syntax error in the per_pixel_stats cell", kind="broken", rest_full=True,
                    fails={"per_pixel_stats_axis", "per_pixel_stats_population", "per_pixel_stats_clamp",
                           "per_pixel_stats_rank", "per_pixel_stats_pure"},
                    answers={"per_pixel_stats_answer": "def per_pixel_stats(x, eps=1e-8)\n    return x"})),
    Entry(A01, Case("cat_raises_at_import", "the normalize cell raises when it runs, after defining normalize",
                    kind="broken", full=True, answers={"normalize_answer": "def normalize(x, mean, std):\n"
                    "    x = x.float() if not x.is_floating_point() else x\n    return (x - mean) / std\n"
                    "raise RuntimeError('oops, left over from debugging')"})),
    Entry(A01, Case("cat_huge_output", "our solution with 2 MB of output in every code cell", kind="broken",
                    full=True, mutate=_huge_outputs)),
    Entry(A01, Case("cat_prints_a_lot", "a cell that prints 100 MB while grading", kind="broken", rest_full=True,
                    fails={"per_pixel_stats_axis", "per_pixel_stats_population", "per_pixel_stats_clamp",
                           "per_pixel_stats_rank", "per_pixel_stats_pure"},
                    answers={"per_pixel_stats_answer": "for _ in range(100):\n    print('x' * 1_000_000)\n"
                             "def per_pixel_stats(x, eps=1e-8):\n    return x"})),
    Entry(A01, Case("cat_not_a_notebook", "valid JSON that is not a notebook", kind="broken", zero=True,
                    mutate=lambda nb: b'{"hello": "world"}'), log_says="cat_not_a_notebook"),
    Entry(A01, Case("cat_other_kernel", "our solution with the kernel switched to R", kind="broken", full=True,
                    mutate=_set_metadata(lambda c: None) and (lambda nb: (nb.metadata.update(
                        kernelspec={"name": "ir", "display_name": "R", "language": "R"}), nb)[1]))),
    Entry(A01, Case("cat_answer_as_markdown", "the normalize answer cell turned into a markdown cell: nbgrader "
                    "restores its type, so the code in it counts", kind="broken", full=True,
                    mutate=_set_metadata(lambda c: c.metadata.get("nbgrader", {}).get("grade_id") == "normalize_answer"
                                         and (c.update(cell_type="markdown"), c.pop("outputs", None),
                                              c.pop("execution_count", None))))),
    Entry(A01, Case("cat_deleted_setup", "the import cell deleted (it is restored from the source)", kind="broken",
                    full=True, mutate=drop_cells("setup"))),
]


def catalog() -> list[Entry]:
    """This file's cases, plus every attack and broken case of the simulated classes."""
    entries = list(CATALOG)
    for assignment in assignments():
        cases = load_cases(assignment)
        by_name = {c.name for c in cases}
        for case in cases:
            if case.kind in ("attack", "broken") and (case.same_as is None or case.same_as in by_name):
                entries.append(Entry(assignment, case))
    return entries
