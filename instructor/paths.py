"""Where things are, in one place."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"
AUTOGRADER = ROOT / "autograder"
HIDDEN_TESTS = AUTOGRADER / "hidden"
# What a course folder needs to generate and grade assignments.
COURSE_FILES = ("course_config.py", "nbgrader_config.py", "source", "autograder", "mnist_course")


def assignments() -> list[str]:
    """Assignment ids, in course order: the folders of ``source/``."""
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and not p.name.startswith("."))


def notebook_of(assignment: str, root: Path = ROOT) -> Path:
    """The one notebook of an assignment's source folder."""
    found = sorted((root / "source" / assignment).glob("*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"expected one notebook in source/{assignment}, found {len(found)}")
    return found[0]


def add_course_arguments(parser) -> None:
    """``--course`` (the course's root folder, default here) and ``--db-url`` (its gradebook),
    as every command that reads a course's grades takes them."""
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="the course's root folder, holding nbgrader_config.py (default: here)")
    parser.add_argument("--db-url", help="the gradebook, as nbgrader's --db / c.CourseDirectory.db_url "
                        "(default: the course's configuration, else its gradebook.db)")
