"""Build the student bundle: the released notebooks, the helper package, the pinned
requirements and instructions for the data. Nothing else.

    python -m instructor.bundle [--out build/student_bundle.zip]
"""
from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from instructor.paths import RELEASE, ROOT, assignments

STUDENT_README = """\
# MNIST linear algebra: student bundle

One notebook per assignment, in `release/<assignment>/`. Work them in the order of
their names ({order}).

## Set up (once)
    python3 -m venv .venv
    .venv/bin/pip install -r requirements.txt
    .venv/bin/pip install --no-deps -e .
    .venv/bin/jupyter lab

## The data
The notebooks load MNIST with `mnist_course.load_mnist`. It looks for the four
original files (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
`t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`) in `$MNIST_DIR`, then
in `~/.cache/mnist_course/mnist`, and otherwise downloads them there from the
public mirrors (with a progress bar) and checks their checksums. Offline, put the
four files in one of those folders.

## Working and submitting
Write your code only in the cells marked `# YOUR CODE HERE`. The check cells under
each exercise run small tests you can use yourself; when you submit, hidden tests
check many more inputs and your feedback shows, for each property that failed,
the smallest input on which your function was wrong.
"""

# What a student gets, relative to the repository root; everything else stays home.
INCLUDED = ("release", "mnist_course", "requirements.txt", "pyproject.toml")
EXCLUDED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def bundle_files() -> list[Path]:
    files = []
    for name in INCLUDED:
        path = ROOT / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [p for p in candidates if p.is_file() and not EXCLUDED_PARTS & set(p.parts)]
    return files


def student_readme() -> str:
    """The bundle's README; the order of the assignments is that of source/."""
    return STUDENT_README.format(order=", ".join(a.split("_", 1)[0] for a in assignments()))


def build(out: Path) -> Path:
    if not RELEASE.exists():
        raise SystemExit("release/ is missing: run `python -m instructor.release` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.md", student_readme())
        for path in bundle_files():
            z.write(path, path.relative_to(ROOT).as_posix())
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student_bundle.zip")
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"student bundle: {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
