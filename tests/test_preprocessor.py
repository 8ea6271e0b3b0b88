"""The nbgrader side of grading (autograder/engine/nbgrader_side/preprocessor.py)."""
import subprocess
import sys

from instructor.paths import ROOT


def test_the_nbgrader_process_never_imports_torch():
    """nbgrader's own process only hands cells to the judge and writes outputs: importing torch
    there cost every grading process about two CPU-seconds for nothing (the judge and the worker
    import their own)."""
    code = ("import sys; from traitlets.config import Config; "
            "from traitlets.config.loader import PyFileConfigLoader; "
            "c = PyFileConfigLoader('course_config.py', path=[sys.argv[1]]).load_config(); "
            "import autograder.engine.nbgrader_side.preprocessor, autograder.engine.nbgrader_side.flag_internals, autograder.engine.nbgrader_side.restore_cells; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))[:3])")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], cwd=ROOT, capture_output=True, text=True,
                            check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_reading_a_notebook_compiles_no_grammars():
    """Every nbgrader command, kernel and grading process imports nbformat, which imports
    jsonschema's format checkers; jsonschema 4.25+ pulls in rfc3987-syntax, whose import compiles
    39 lark grammars: 2.2 of the 2.6 CPU-seconds of ``import nbformat``, in every such process.
    requirements.txt pins jsonschema below that and leaves the two packages out."""
    code = ("import sys, nbformat, nbgrader.apps, nbconvert; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lark', 'rfc3987_syntax'))[:3])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
