"""The nbgrader side of grading (autograder/engine/preprocessor.py)."""
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
            "import autograder.engine.preprocessor, autograder.engine.flag_internals, autograder.engine.restore_cells; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))[:3])")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], cwd=ROOT, capture_output=True, text=True,
                            check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
