"""Fixtures shared by the project's tests."""

import os
from pathlib import Path

import pytest

MNIST_FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory holding the four MNIST IDX files.

    $MNIST_DIR when set, else ``shared/data/mnist`` beside the checkout (the
    repository is cloned as ``<x>/main`` with ``<x>/shared`` next to it).
    """
    from_env = os.environ.get("MNIST_DIR")
    if from_env:
        directory = Path(from_env).expanduser().resolve()
    else:
        directory = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    missing = [name for name in MNIST_FILE_NAMES if not (directory / name).is_file()]
    if missing:
        pytest.fail(
            f"MNIST test data not found: {directory} lacks {', '.join(missing)}. "
            f"Set MNIST_DIR to a directory holding the four MNIST .gz files."
        )
    return directory


# ---- spreading the suite over cores (pytest-xdist, `--dist loadgroup`, see run_tests.sh)
# Tests that share one deployment of unix users, servers and exchange run one after another.
SERIAL_TOGETHER = {"test_jupyterhub_e2e.py": "jupyterhub", "test_jupyterhub_browser.py": "jupyterhub",
                   "test_sandbox.py": "sandbox"}  # one unix user for both modes


def pytest_collection_modifyitems(config, items):
    """Group each test with the others that share its module-scoped fixtures, so that a graded
    class (or any other costly module fixture) is computed once, on one worker: the group is
    the module plus the parameters of the module-scoped fixtures the test uses. Under
    ``--dist loadgroup`` a group runs on one worker; the rest is shared freely."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        module = item.path.name
        group = SERIAL_TOGETHER.get(module)
        if group is None:
            shared = []
            for name in item.fixturenames:
                definitions = item._fixtureinfo.name2fixturedefs.get(name) or ()
                if any(d.scope in ("module", "class", "package") for d in definitions):
                    callspec = getattr(item, "callspec", None)
                    param = callspec.params.get(name) if callspec and name in callspec.params else None
                    shared.append(name if param is None else f"{name}[{param}]")
            if not shared:
                continue
            params = sorted(s for s in shared if "[" in s)
            group = module + "".join(f"::{p}" for p in params)
        item.add_marker(pytest.mark.xdist_group(group))
