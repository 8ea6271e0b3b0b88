"""Tests for mnist_course.data: the data itself, where it is found, checksums, downloads."""

import contextlib
import functools
import gzip
import itertools
import socket
import tempfile
import threading
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mnist_course import (
    MnistChecksumError,
    MnistNotFoundError,
    find_mnist_dir,
    load_mnist,
)
from mnist_course import data

FILE_NAMES = list(data.MNIST_FILES)
PUBLIC_MIRRORS = list(data.MIRRORS)  # read before the autouse fixture replaces them
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

# File-touching property tests: few examples, no deadline (disk speed varies), and
# derandomised so that a run is reproducible.
file_settings = settings(max_examples=20, deadline=None, derandomize=True)


def _closed_port_url() -> str:
    """A URL on 127.0.0.1 that refuses connections at once: an offline mirror."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No test sees the developer's MNIST settings or cache, or reaches the internet."""
    monkeypatch.delenv(data.ENV_MNIST_DIR, raising=False)
    monkeypatch.delenv(data.ENV_COURSE_DATA_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(data, "MIRRORS", [_closed_port_url()])


def _independent_load(split, mnist_dir):
    # Cloned again so that these references stay right even if the loader's own
    # cloning broke (then test_returned_tensors_are_clones must fail, not compare
    # the cache with itself).
    images, labels = load_mnist(split, data_dir=mnist_dir)
    return images.clone(), labels.clone()


@pytest.fixture(scope="session")
def train_split(mnist_dir):
    return _independent_load("train", mnist_dir)


@pytest.fixture(scope="session")
def test_split(mnist_dir):
    return _independent_load("test", mnist_dir)


def link_files(source: Path, target: Path, names=FILE_NAMES) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        (target / name).symlink_to(source / name)
    return target


# ---------------------------------------------------------------- the data


@pytest.mark.parametrize(
    "split_fixture, count", [("train_split", 60_000), ("test_split", 10_000)]
)
def test_shapes_dtypes_counts(split_fixture, count, request):
    images, labels = request.getfixturevalue(split_fixture)
    assert images.shape == (count, 784) and images.dtype == torch.uint8
    assert labels.shape == (count,) and labels.dtype == torch.int64


def test_unflattened_images_are_28_by_28(mnist_dir):
    images, labels = load_mnist("test", data_dir=mnist_dir, flatten=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10_000,)


def test_flattening_is_a_row_major_reshape(mnist_dir, test_split):
    images, _ = load_mnist("test", data_dir=mnist_dir, flatten=False)
    assert torch.equal(images.reshape(10_000, 784), test_split[0])


def test_label_counts(train_split, test_split):
    assert torch.bincount(train_split[1]).tolist() == TRAIN_LABEL_COUNTS
    assert torch.bincount(test_split[1]).tolist() == TEST_LABEL_COUNTS


def test_pixel_statistics(train_split, test_split):
    assert train_split[0].double().mean().item() == pytest.approx(33.318, abs=1e-3)
    assert test_split[0].double().mean().item() == pytest.approx(33.791, abs=1e-3)
    # Background is black (0) and strokes saturate: the full uint8 range is used.
    assert train_split[0].min().item() == 0 and train_split[0].max().item() == 255


@given(
    row=st.integers(0, 9_999),
    pixel=st.integers(0, 783),
    value=st.integers(0, 255),
    label=st.integers(-5, 20),
)
@file_settings
def test_returned_tensors_are_clones(mnist_dir, test_split, row, pixel, value, label):
    images, labels = load_mnist("test", data_dir=mnist_dir)
    images[row, pixel] = value
    labels[row] = label
    images.mul_(0)  # in-place normalisation is what students will do
    again_images, again_labels = load_mnist("test", data_dir=mnist_dir)
    assert torch.equal(again_images, test_split[0])
    assert torch.equal(again_labels, test_split[1])


def test_repeated_loads_use_the_parsed_cache(mnist_dir, test_split):
    hits_before = data._load_split_tensors.cache_info().hits
    load_mnist("test", data_dir=mnist_dir)
    assert data._load_split_tensors.cache_info().hits == hits_before + 1


@given(split=st.text(max_size=8).filter(lambda s: s not in data.SPLITS))
@settings(max_examples=30, derandomize=True)
def test_unknown_split_names_the_allowed_ones(split):
    with pytest.raises(ValueError) as excinfo:
        load_mnist(split)
    message = str(excinfo.value)
    assert "'train'" in message and "'test'" in message and repr(split) in message


def test_mnist_dir_environment_variable_is_used_by_default(mnist_dir, monkeypatch, test_split):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    images, labels = load_mnist("test", download=False)
    assert torch.equal(images, test_split[0]) and torch.equal(labels, test_split[1])


# ---------------------------------------------------------------- search order

PRIORITY = ("data_dir", "MNIST_DIR", "course", "cache")  # highest first
ALL_SUBSETS = [
    subset for size in range(len(PRIORITY) + 1) for subset in itertools.combinations(PRIORITY, size)
]


def _make_locations(root: Path, complete: set[str], mnist_dir: Path, monkeypatch) -> dict:
    """One directory per location: all four files if complete, else three of them."""
    locations = {
        "data_dir": root / "explicit",
        "MNIST_DIR": root / "env",
        "course": root / "course",
        "cache": root / "xdg" / "mnist_course" / "mnist",
    }
    for name, directory in locations.items():
        link_files(mnist_dir, directory, FILE_NAMES if name in complete else FILE_NAMES[:3])
    monkeypatch.setenv("MNIST_DIR", str(locations["MNIST_DIR"]))
    monkeypatch.setenv("MNIST_COURSE_DATA_DIR", str(locations["course"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "xdg"))
    return locations


@pytest.mark.parametrize("complete", ALL_SUBSETS, ids=lambda s: "+".join(s) or "none")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_first_complete_directory_in_priority_order_wins(complete, tmp_path, mnist_dir, monkeypatch):
    """Law: data_dir > MNIST_DIR > course directory > user cache, and only complete ones count."""
    locations = _make_locations(tmp_path, set(complete), mnist_dir, monkeypatch)
    if complete:
        found = find_mnist_dir(locations["data_dir"], download=False)
        assert found == locations[complete[0]]
    else:
        with pytest.raises(MnistNotFoundError):
            find_mnist_dir(locations["data_dir"], download=False)


def test_skipping_a_directory_the_user_named_warns(tmp_path, mnist_dir, monkeypatch):
    locations = _make_locations(tmp_path, {"cache"}, mnist_dir, monkeypatch)
    with pytest.warns(UserWarning, match="t10k-labels-idx1-ubyte.gz") as record:
        found = find_mnist_dir(locations["data_dir"], download=False)
    assert found == locations["cache"]
    message = str(record[0].message)
    assert str(locations["data_dir"]) in message and str(locations["MNIST_DIR"]) in message


def test_no_warning_when_the_named_directory_is_complete(tmp_path, mnist_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_mnist_dir(link_files(mnist_dir, tmp_path / "d"), download=False) == tmp_path / "d"


def test_user_cache_honours_xdg_cache_home_and_defaults_to_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.user_cache_dir() == tmp_path / "xdg" / "mnist_course" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.user_cache_dir() == tmp_path / "home" / ".cache" / "mnist_course" / "mnist"


def test_nothing_found_without_download_lists_every_searched_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("MNIST_COURSE_DATA_DIR", str(tmp_path / "course"))
    with pytest.raises(MnistNotFoundError) as excinfo:
        load_mnist(data_dir=tmp_path / "explicit", download=False)
    message = str(excinfo.value)
    for name in FILE_NAMES:
        assert name in message
    for directory in ("explicit", "env", "course", "xdg-cache"):
        assert str(tmp_path / directory) in message
    assert "download=False" in message and "MNIST_DIR" in message
    assert isinstance(excinfo.value, FileNotFoundError)


# ---------------------------------------------------------------- checksums


def _copy_with_one_file_replaced(mnist_dir: Path, target: Path, name: str, content: bytes) -> Path:
    link_files(mnist_dir, target, [n for n in FILE_NAMES if n != name])
    (target / name).write_bytes(content)
    return target


def _assert_names_file_and_checksums(message: str, path: Path):
    expected_sha = data.MNIST_FILES[path.name][0]
    assert str(path) in message
    assert expected_sha in message
    assert data._sha256_of_file(path) in message
    assert "Delete" in message


def test_truncated_file_is_rejected(tmp_path, mnist_dir):
    name = "train-labels-idx1-ubyte.gz"
    original = (mnist_dir / name).read_bytes()
    directory = _copy_with_one_file_replaced(mnist_dir, tmp_path / "d", name, original[:10_000])
    with pytest.raises(MnistChecksumError) as excinfo:
        load_mnist("train", data_dir=directory, download=False)
    _assert_names_file_and_checksums(str(excinfo.value), directory / name)
    assert "truncated" in str(excinfo.value)


@given(position=st.integers(0, 4_541), flip=st.integers(1, 255))
@file_settings
def test_any_changed_byte_is_rejected(mnist_dir, position, flip):
    name = "t10k-labels-idx1-ubyte.gz"
    content = bytearray((mnist_dir / name).read_bytes())
    content[position] ^= flip
    with tempfile.TemporaryDirectory() as tmp:
        directory = _copy_with_one_file_replaced(mnist_dir, Path(tmp), name, bytes(content))
        with pytest.raises(MnistChecksumError) as excinfo:
            find_mnist_dir(directory, download=False)
        _assert_names_file_and_checksums(str(excinfo.value), directory / name)


def test_a_corrupted_file_is_an_error_not_a_reason_to_look_elsewhere(tmp_path, mnist_dir, monkeypatch):
    """A bad copy in MNIST_DIR must be reported, even though the cache holds a good one."""
    name = "t10k-images-idx3-ubyte.gz"
    env_dir = _copy_with_one_file_replaced(mnist_dir, tmp_path / "env", name, b"not mnist")
    link_files(mnist_dir, tmp_path / "xdg-cache" / "mnist_course" / "mnist")
    monkeypatch.setenv("MNIST_DIR", str(env_dir))
    with pytest.raises(MnistChecksumError, match=name):
        load_mnist("test", download=False)


def test_a_replaced_file_is_hashed_again(tmp_path, mnist_dir):
    directory = link_files(mnist_dir, tmp_path / "d")
    assert find_mnist_dir(directory, download=False) == directory
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\0" * 4_542)
    with pytest.raises(MnistChecksumError):
        find_mnist_dir(directory, download=False)


# ---------------------------------------------------------------- IDX parsing


def write_idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return path


idx_arrays = hnp.arrays(
    dtype=np.uint8, shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6)
)


@given(array=idx_arrays)
@file_settings
def test_idx_round_trip(array):
    with tempfile.TemporaryDirectory() as tmp:
        parsed = data.read_idx(write_idx(Path(tmp) / "a.gz", array), 0x0800 + array.ndim)
    assert parsed.shape == array.shape and np.array_equal(parsed, array)


@given(array=idx_arrays.filter(lambda a: a.size > 0), data_=st.data())
@file_settings
def test_idx_data_shorter_than_its_header_says_is_rejected(array, data_):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_idx(Path(tmp) / "a.gz", array)
        raw = gzip.decompress(path.read_bytes())
        cut = data_.draw(st.integers(1, array.size), label="bytes cut")
        path.write_bytes(gzip.compress(raw[:-cut]))
        with pytest.raises(MnistChecksumError) as excinfo:
            data.read_idx(path, 0x0800 + array.ndim)
    message = str(excinfo.value)
    assert str(path) in message and str(array.shape) in message


def test_wrong_idx_magic_is_rejected(mnist_dir):
    path = mnist_dir / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(MnistChecksumError) as excinfo:
        data.read_idx(path, data.IDX_MAGIC_IMAGES)
    message = str(excinfo.value)
    assert str(path) in message and "2049" in message and "expected 2051" in message


def test_a_file_that_is_not_gzip_is_rejected(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"\0\0\x08\x01\0\0\0\x01\x07")
    with pytest.raises(MnistChecksumError, match="gzip"):
        data.read_idx(path, data.IDX_MAGIC_LABELS)


# ---------------------------------------------------------------- download


@contextlib.contextmanager
def serve_directory(directory: Path):
    """An HTTP mirror on 127.0.0.1 serving ``directory``; yields (base URL, requested paths)."""
    requested = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path.lstrip("/"))
            super().do_GET()

        def log_message(self, format, *args):  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def bad_mirror_dir(tmp_path, mnist_dir):
    """Wrong bytes for every file: images with one byte changed, labels with bytes appended."""
    directory = tmp_path / "bad-mirror"
    directory.mkdir()
    for name in FILE_NAMES:
        content = bytearray((mnist_dir / name).read_bytes())
        if "images" in name:
            content[-100] ^= 0xFF
        else:
            content += b"extra"
        (directory / name).write_bytes(bytes(content))
    return directory


@pytest.fixture
def good_mirror_dir(tmp_path, mnist_dir):
    return link_files(mnist_dir, tmp_path / "good-mirror")


def _cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "xdg-cache" / "mnist_course" / "mnist"


def test_download_rejects_bad_mirrors_and_uses_the_next(
    tmp_path, monkeypatch, capsys, bad_mirror_dir, good_mirror_dir, test_split
):
    empty = tmp_path / "empty-mirror"  # answers 404 for everything
    empty.mkdir()
    with serve_directory(bad_mirror_dir) as (bad_url, bad_requests), serve_directory(
        empty
    ) as (empty_url, empty_requests), serve_directory(good_mirror_dir) as (good_url, good_requests):
        monkeypatch.setattr(data, "MIRRORS", [bad_url, empty_url, good_url])
        images, labels = load_mnist("test")

    assert torch.equal(images, test_split[0]) and torch.equal(labels, test_split[1])
    for requests in (bad_requests, empty_requests, good_requests):
        assert sorted(requests) == sorted(FILE_NAMES)
    cache = _cache_dir(tmp_path)
    assert sorted(p.name for p in cache.iterdir()) == sorted(FILE_NAMES)  # no .part files left
    for name in FILE_NAMES:
        data.verify_file(cache / name)
    progress_output = capsys.readouterr().err
    assert all(name in progress_output for name in FILE_NAMES)


def test_download_fetches_only_what_the_cache_lacks(tmp_path, monkeypatch, mnist_dir, good_mirror_dir):
    cache = link_files(mnist_dir, _cache_dir(tmp_path), FILE_NAMES[:3])
    with serve_directory(good_mirror_dir) as (url, requests):
        monkeypatch.setattr(data, "MIRRORS", [url])
        assert find_mnist_dir() == cache
    assert requests == [FILE_NAMES[3]]


def test_download_failing_on_every_mirror_is_one_clear_error(
    tmp_path, monkeypatch, bad_mirror_dir
):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    with serve_directory(bad_mirror_dir) as (bad_url, _), serve_directory(empty) as (empty_url, _):
        monkeypatch.setattr(data, "MIRRORS", [bad_url, empty_url])
        with pytest.raises(MnistNotFoundError) as excinfo:
            load_mnist("test")
    message = str(excinfo.value)
    assert "failed on every mirror" in message
    assert bad_url in message and empty_url in message and "404" in message
    assert str(_cache_dir(tmp_path)) in message and "MNIST_DIR" in message
    assert list(_cache_dir(tmp_path).iterdir()) == []  # nothing half-downloaded left behind


def test_offline_is_one_clear_error(tmp_path):
    # The autouse fixture points MIRRORS at a port on which nothing listens.
    with pytest.raises(MnistNotFoundError) as excinfo:
        load_mnist("train")
    message = str(excinfo.value)
    for name in FILE_NAMES:
        assert name in message
    assert str(_cache_dir(tmp_path)) in message
    assert "Put the four files in one of these directories" in message


def test_downloads_have_a_timeout():
    assert 0 < data.DOWNLOAD_TIMEOUT_S <= 60


def test_mirrors_are_the_public_ones_in_order():
    assert PUBLIC_MIRRORS == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
