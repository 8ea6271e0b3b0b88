"""The instructor's class report: what the class got wrong, in pictures (issue 26).

    python -m instructor.class_report 01_normalization [04_matmul ...] [--course DIR]

Reads what grading recorded (nbgrader's gradebook, through its API, and the per-property
results the engine writes beside each autograded notebook, ``<notebook>.results.json``),
and writes one self-contained HTML page per assignment (pictures embedded), a course
overview and CSVs of the same tables, under ``<course>/reports/``.

One concept per module:

- ``records``: what grading recorded, read into plain values (gradebook + results files);
- ``ledger``: what feedback on submit recorded (the service's ledger);
- ``analysis``: pass rates, discrimination, failure groups, what needs a human, cost;
- ``figures``: the matplotlib pictures, as embeddable PNGs;
- ``pages``: the HTML pages; ``tables``: the CSVs;
- ``__main__``: the command (``write_reports`` is what grade_class and the main job call).
"""
from instructor.class_report.report import write_reports

__all__ = ["write_reports"]
