"""Runs in the judge: a clean process, started by the nbgrader side, in which no student code
ever runs. It runs the hidden tests (pytest + hypothesis) and computes their references; the
student's code is reached only through a sandboxed worker (``student_proxy``)."""
