"""Runs in nbgrader's own process (``nbgrader autograde``, the formgrader, a Dask worker):
the autograde step's preprocessors and the reading of the submission's source. Never runs
student code, never runs a hidden test."""
