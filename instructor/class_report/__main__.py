"""The class report: what the class got wrong, in pictures.

    python -m instructor.class_report 01_normalization [04_matmul ...]   # in the course's root
    python -m instructor.class_report --course /path/to/course           # every assignment graded

Writes one self-contained HTML page per assignment (pictures embedded), a course overview
(index.html) and CSVs of the same tables into <course>/reports/ (--out to choose), and
prints the overview's path. Reads nbgrader's gradebook (the course's configuration, or
--db-url: SQLite or PostgreSQL) and the engine's per-property results beside each
autograded notebook; feedback on submit's ledger (onsubmit/ledger.json) where it ran.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from instructor.paths import add_course_arguments


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", metavar="assignment",
                        help="the assignments to report on (default: every one in the gradebook)")
    add_course_arguments(parser)
    parser.add_argument("--out", type=Path, help="where the pages and CSVs go (default: <course>/reports)")
    parser.add_argument("--formgrader-url", help="the formgrader's address (e.g. /user/ada/formgrader): "
                        "students link to their formgrader pages instead of their feedback files")
    args = parser.parse_args(argv)
    from instructor.class_report.report import write_reports

    index = write_reports(args.course, args.assignments or None, db_url=args.db_url, out=args.out,
                          formgrader_url=args.formgrader_url)
    print(f"Class report: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
