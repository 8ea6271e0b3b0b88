"""nbgrader configuration for the course: the one place that says how it is graded.

Plain ``nbgrader ...`` commands and the formgrader, run in the repository root,
read it through ``nbgrader_config.py``.
"""
import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
if COURSE_ROOT not in sys.path:  # so nbgrader can import the grading engine by name
    sys.path.insert(0, COURSE_ROOT)

from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput,
    GetGrades, OverwriteKernelspec, SaveAutoGrades)

from autograder.engine.nbgrader_side.flag_internals import FlagInternals, HideFlagDetails  # noqa: E402
from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests  # noqa: E402
from autograder.engine.nbgrader_side.restore_cells import RestoreCells  # noqa: E402

c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "mnist-linear-algebra"
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.assignment_id = ""

# Where MNIST lives for this course (mnist_course.load_mnist reads it from the
# environment); MNIST_DIR, when set, still wins.
MNIST_DATA_DIR = os.path.join(COURSE_ROOT, "data", "mnist")
os.environ.setdefault("MNIST_COURSE_DATA_DIR", MNIST_DATA_DIR)

# Students may not change the tests: locked cells are restored, deleted ones re-added
# (RestoreCells is nbgrader's OverwriteCells, robust to neighbouring cells deleted too).
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCells, CheckCellMetadata]
c.OverwriteCells.add_missing_cells = True
# The engine's per-property results beside each autograded notebook are the instructor's (the
# class report reads them): generate_feedback copies every other file of the autograded folder
# into the feedback students receive, and autograde would copy a student's file of that name.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.results.json"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Grades come from the hidden tests, run outside the student's kernel; the rest of
# nbgrader's pipeline (saving grades, late penalties, feedback) is unchanged.
c.Autograde.autograde_preprocessors = [
    GradeWithHiddenTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    # The answers' source read on this side, where the student cannot reach: uses of internals
    # no exercise needs hold the checks they affect for manual grading (source_flags.py).
    FlagInternals,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Feedback says an answer is held for review, not what was flagged (nbgrader's list, plus that).
c.GenerateFeedback.preprocessors = [GetGrades, HideFlagDetails, CSSHTMLHeaderPreprocessor]
c.GradeWithHiddenTests.course_root = COURSE_ROOT
# How the engine grades beyond one submission's limits (hypothesis examples per property, the
# seconds all hidden tests of one notebook may take, the judge's memory, threads and reuse, the
# sandbox's start): the fields, their defaults and meaning are autograder.engine.shared.limits.EngineSettings;
# override fields by name here, e.g.
# c.GradeWithHiddenTests.settings = {"max_examples": 40, "notebook_seconds": 600}
# An unknown name, a wrong type or a value that is not positive stops grading with an error naming it.
c.GradeWithHiddenTests.settings = {}
# Student code runs in a bubblewrap sandbox; where none can be built, grading refuses.
# True grades anyway (student code then has the grading user's rights) and logs it every run.
c.GradeWithHiddenTests.allow_unsandboxed = False
# What one submission may use (calls' time, memory, files, processes, reply size): the fields,
# their defaults and meaning are autograder.engine.shared.limits.Limits; override fields by name here, e.g.
# c.GradeWithHiddenTests.limits = {"call_seconds": 20, "memory_bytes": 4 << 30}
# An unknown name, a wrong type or a value that is not positive stops grading with an error naming it.
c.GradeWithHiddenTests.limits = {}
