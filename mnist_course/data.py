"""MNIST from the four original IDX files, found locally or downloaded, always checksum-verified.

Where the files are looked for, first complete directory wins (all four files together):

1. the ``data_dir`` argument, when given;
2. the environment variable ``MNIST_DIR``, when set;
3. the course's configured data directory, the environment variable
   ``MNIST_COURSE_DATA_DIR`` (``course_config.py`` sets it);
4. the user cache, ``$XDG_CACHE_HOME/mnist_course/mnist`` (default ``~/.cache/...``);
5. a download into the user cache from the public mirrors in ``MIRRORS``.

Every file is checked against its known SHA-256 before it is parsed, so whatever
directory the bytes come from, ``load_mnist`` returns the same data.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch

# name -> (SHA-256, size in bytes) of the original gzip'd IDX files.
MNIST_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9_912_422,
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        28_881,
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        1_648_877,
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        4_542,
    ),
}

# split -> (images file, labels file, number of examples)
SPLITS: dict[str, tuple[str, str, int]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}

IMAGE_SIDE = 28
IDX_MAGIC_IMAGES = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_MAGIC_LABELS = 2049  # 0x00000801: unsigned bytes, 1 dimension

# Tried in order; a module constant so tests (and users behind a proxy) can replace it.
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
# Seconds per blocking socket operation. Bounded so that a machine whose network
# silently drops packets fails in under a minute instead of hanging a notebook.
DOWNLOAD_TIMEOUT_S = 20.0
_DOWNLOAD_CHUNK_BYTES = 1 << 16

ENV_MNIST_DIR = "MNIST_DIR"
ENV_COURSE_DATA_DIR = "MNIST_COURSE_DATA_DIR"


class MnistNotFoundError(FileNotFoundError):
    """No directory holds the four MNIST files, and they could not be downloaded."""


class MnistChecksumError(ValueError):
    """A data file's bytes are not the original MNIST file's.

    Raised for a wrong SHA-256 (corrupted or truncated file) and for a file that
    does not parse as the expected IDX array. The remedy is the same: delete the
    file and let the loader find or download a good copy.
    """


# ---------------------------------------------------------------- where to look


def course_data_dir() -> Path | None:
    """The course's configured data directory, read from the environment at call time.

    Read at call time, not import time, so that ``course_config.py`` may set the
    variable after this module was imported.
    """
    value = os.environ.get(ENV_COURSE_DATA_DIR)
    return Path(value).expanduser() if value else None


def user_cache_dir() -> Path:
    """Where downloads go: ``$XDG_CACHE_HOME/mnist_course/mnist``, default ``~/.cache/...``."""
    cache_root = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache_root).expanduser() / "mnist_course" / "mnist"


def _candidate_dirs(data_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """(directory, where it came from) in search order; unset sources are left out."""
    candidates = []
    if data_dir is not None:
        candidates.append((Path(data_dir).expanduser(), "data_dir argument"))
    env_dir = os.environ.get(ENV_MNIST_DIR)
    if env_dir:
        candidates.append((Path(env_dir).expanduser(), f"${ENV_MNIST_DIR}"))
    configured = course_data_dir()
    if configured is not None:
        candidates.append((configured, f"course data directory, ${ENV_COURSE_DATA_DIR}"))
    candidates.append((user_cache_dir(), "user cache"))
    return candidates


def _missing_files(directory: Path) -> list[str]:
    return [name for name in MNIST_FILES if not (directory / name).is_file()]


def _describe_contents(directory: Path) -> str:
    if not directory.exists():
        return "does not exist"
    if not directory.is_dir():
        return "is not a directory"
    missing = _missing_files(directory)
    if len(missing) == len(MNIST_FILES):
        return "holds none of the four files"
    return "missing " + ", ".join(missing)


# ---------------------------------------------------------------- verification

# (real path, device, inode, size, mtime_ns) -> SHA-256 hex digest. Hashing 11 MB on
# every load would cost more than the in-memory cache saves; the stat key notices a
# file that was replaced or rewritten since it was hashed.
_sha256_by_file_state: dict[tuple, str] = {}


def _file_state(path: Path) -> tuple:
    real = os.path.realpath(path)
    st = os.stat(real)
    return (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _sha256_of_file(path: Path) -> str:
    state = _file_state(path)
    digest = _sha256_by_file_state.get(state)
    if digest is None:
        hasher = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        _sha256_by_file_state[state] = digest
    return digest


def verify_file(path: str | os.PathLike) -> None:
    """Raise MnistChecksumError unless ``path`` is byte for byte the original MNIST file of its name."""
    path = Path(path)
    if path.name not in MNIST_FILES:
        raise ValueError(
            f"{path} is not one of the MNIST files; expected one of {', '.join(MNIST_FILES)}"
        )
    expected_sha, expected_size = MNIST_FILES[path.name]
    actual_sha = _sha256_of_file(path)
    if actual_sha != expected_sha:
        actual_size = path.stat().st_size
        if actual_size < expected_size:
            hint = f"it is {actual_size:,} bytes, the original {expected_size:,}: probably a truncated download"
        elif actual_size > expected_size:
            hint = f"it is {actual_size:,} bytes, the original {expected_size:,}"
        else:
            hint = "it has the right size, so some bytes were changed"
        raise MnistChecksumError(
            f"MNIST file {path} is corrupted or incomplete ({hint}).\n"
            f"  expected SHA-256: {expected_sha}\n"
            f"  actual SHA-256:   {actual_sha}\n"
            f"Delete {path} (or replace it with a good copy) and run again; "
            f"without it the loader looks in the next directory or downloads a fresh copy "
            f"into {user_cache_dir()}."
        )


# ---------------------------------------------------------------- download


def _download_file(name: str, dest_dir: Path) -> None:
    """Fetch one file from the first mirror whose copy verifies; it appears in dest_dir only then.

    The bytes go to a temporary file in dest_dir and are renamed into place after
    the SHA-256 matches, so an interrupted or corrupted download never looks like
    a good file (and a concurrent process never reads half a file).
    """
    from tqdm import tqdm  # only needed when downloading

    expected_sha, expected_size = MNIST_FILES[name]
    failures = []
    for mirror in MIRRORS:
        url = f"{mirror.rstrip('/')}/{name}"
        tmp = tempfile.NamedTemporaryFile(
            dir=dest_dir, prefix=f".{name}.", suffix=".part", delete=False
        )
        try:
            hasher = hashlib.sha256()
            received = 0
            request = urllib.request.Request(url, headers={"User-Agent": "mnist_course"})
            with tmp, urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
                total = int(response.headers.get("Content-Length") or expected_size)
                with tqdm(
                    total=total, desc=name, unit="B", unit_scale=True,
                    unit_divisor=1024, leave=True,
                ) as progress:
                    while chunk := response.read(_DOWNLOAD_CHUNK_BYTES):
                        received += len(chunk)
                        if received > expected_size:  # a wrong or endless answer
                            break
                        hasher.update(chunk)
                        tmp.write(chunk)
                        progress.update(len(chunk))
            actual_sha = hasher.hexdigest()
            if received > expected_size:
                failures.append(f"{url}: more than the expected {expected_size:,} bytes")
            elif actual_sha != expected_sha:
                failures.append(
                    f"{url}: got {received:,} bytes with SHA-256 {actual_sha}, "
                    f"expected {expected_size:,} bytes with SHA-256 {expected_sha}"
                )
            else:
                target = dest_dir / name
                os.replace(tmp.name, target)
                _sha256_by_file_state[_file_state(target)] = actual_sha
                return
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            failures.append(f"{url}: {error}")
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
    raise _DownloadFailed(name, failures)


class _DownloadFailed(Exception):
    def __init__(self, name: str, failures: list[str]):
        super().__init__(name)
        self.name = name
        self.failures = failures


# ---------------------------------------------------------------- search


def _not_found_error(searched: list[tuple[Path, str]], download_note: str) -> MnistNotFoundError:
    files = "\n".join(f"  {name}" for name in MNIST_FILES)
    places = "\n".join(
        f"  {directory}  ({origin}: {_describe_contents(directory)})"
        for directory, origin in searched
    )
    return MnistNotFoundError(
        "MNIST data not found. The loader needs these four files, together in one directory:\n"
        f"{files}\n"
        f"It searched:\n{places}\n"
        f"{download_note}\n"
        f"Put the four files in one of these directories, or set the environment "
        f"variable {ENV_MNIST_DIR} to the directory that holds them."
    )


def find_mnist_dir(data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The first directory, in search order, that holds all four MNIST files, verified.

    Downloads the missing files into the user cache when no directory is complete
    and ``download`` is true. Raises MnistChecksumError when the directory found
    holds a corrupted file, MnistNotFoundError when nothing is found.
    """
    candidates = _candidate_dirs(data_dir)
    found = next(((d, origin) for d, origin in candidates if not _missing_files(d)), None)

    if found is None:
        if not download:
            raise _not_found_error(candidates, "Download was turned off (download=False).")
        cache = user_cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
            for name in _missing_files(cache):
                _download_file(name, cache)
        except _DownloadFailed as failed:
            note = f"Downloading {failed.name} into {cache} failed on every mirror:\n" + "\n".join(
                f"  {failure}" for failure in failed.failures
            )
            raise _not_found_error(candidates, note) from None
        except OSError as error:  # e.g. the cache directory cannot be created
            raise _not_found_error(candidates, f"Downloading into {cache} failed: {error}") from None
        found = (cache, "user cache")

    directory, origin = found
    # A directory the user named on purpose but that lacks the files is most likely a
    # typo; reading another copy silently would hide it.
    named_on_purpose = ("data_dir argument", f"${ENV_MNIST_DIR}")
    skipped = [
        f"{d} ({o}) {_describe_contents(d)}"
        for d, o in candidates[: candidates.index(found)]
        if o in named_on_purpose
    ]
    if skipped:
        warnings.warn(
            f"Using MNIST from {directory} ({origin}) because " + "; ".join(skipped),
            stacklevel=2,
        )
    for name in MNIST_FILES:
        verify_file(directory / name)
    return directory


# ---------------------------------------------------------------- parsing


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Parse one gzip'd IDX file of unsigned bytes into an array of the shape its header gives.

    IDX header: a big-endian 32-bit magic number (0x0000, type 0x08 = unsigned
    byte, number of dimensions), then one big-endian 32-bit size per dimension.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise MnistChecksumError(f"{path} is not a readable gzip file: {error}") from error
    if len(raw) < 4:
        raise MnistChecksumError(
            f"{path} holds {len(raw)} bytes after gunzip; an IDX file starts with a 4-byte magic number"
        )
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise MnistChecksumError(
            f"{path} has IDX magic number {magic}, expected {expected_magic} "
            f"({IDX_MAGIC_IMAGES} for images, {IDX_MAGIC_LABELS} for labels)"
        )
    ndim = raw[3]
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise MnistChecksumError(
            f"{path} ends inside its IDX header: {len(raw)} bytes, the header needs {header_bytes}"
        )
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected_data = int(np.prod(shape, dtype=np.int64))
    actual_data = len(raw) - header_bytes
    if actual_data != expected_data:
        raise MnistChecksumError(
            f"{path}: its IDX header says shape {shape}, that is {expected_data:,} bytes of data, "
            f"but the file holds {actual_data:,}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_bytes).reshape(shape)


@functools.lru_cache(maxsize=4)
def _load_split_tensors(directory: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Parsed (images (N, 28, 28) uint8, labels (N,) int64); callers must clone before handing out."""
    images_name, labels_name, count = SPLITS[split]
    images_path, labels_path = Path(directory) / images_name, Path(directory) / labels_name
    images = read_idx(images_path, IDX_MAGIC_IMAGES)
    labels = read_idx(labels_path, IDX_MAGIC_LABELS)
    if images.shape != (count, IMAGE_SIDE, IMAGE_SIDE):
        raise MnistChecksumError(
            f"{images_path} holds images of shape {images.shape}, "
            f"expected {(count, IMAGE_SIDE, IMAGE_SIDE)}"
        )
    if labels.shape != (count,):
        raise MnistChecksumError(f"{labels_path} holds {labels.shape} labels, expected ({count},)")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def load_mnist(
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    flatten: bool = True,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images and labels of one split, as fresh tensors the caller may modify.

    split: "train" (60,000 examples) or "test" (10,000).
    Returns (images, labels): images uint8, shaped (N, 784) when ``flatten`` else
    (N, 28, 28), pixel values 0 (background) to 255; labels int64 (N,), digits 0-9.
    See the module docstring for where the files are looked for.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}")
    directory = find_mnist_dir(data_dir, download=download)
    images, labels = _load_split_tensors(str(directory.resolve()), split)
    # Clones, so a caller normalising in place cannot change what the next call returns.
    images = images.clone()
    if flatten:
        images = images.reshape(len(images), IMAGE_SIDE * IMAGE_SIDE)
    return images, labels.clone()
