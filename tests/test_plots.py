"""Tests for mnist_course.plots, drawn headless with the Agg backend."""

import math

import matplotlib

matplotlib.use("Agg", force=True)  # before pyplot is imported anywhere: no display needed

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_rgba

from mnist_course import plot_bars, plot_losses, show_image, show_images

figure_settings = settings(max_examples=15, deadline=None, derandomize=True)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _digits(n: int) -> torch.Tensor:
    return torch.arange(n * 784, dtype=torch.float32).reshape(n, 784) % 256


# ---------------------------------------------------------------- show_image


@pytest.mark.parametrize(
    "img",
    [
        torch.rand(784),
        torch.rand(28, 28),
        np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8),
        torch.rand(1, 28, 28),
        torch.rand(784, requires_grad=True),
    ],
    ids=["flat-784", "28x28", "numpy-uint8", "channel-first", "requires-grad"],
)
def test_show_image_draws_one_grey_28x28_image_without_ticks(img):
    ax = show_image(img, title="a digit")
    [image] = ax.get_images()
    assert image.get_array().shape == (28, 28)
    assert image.get_cmap().name == "gray"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert ax.get_title() == "a digit"


def test_show_image_keeps_other_sizes():
    ax = show_image(torch.rand(5, 12))
    assert ax.get_images()[0].get_array().shape == (5, 12)


def test_show_image_draws_on_the_given_axes():
    fig, axes = plt.subplots(1, 2)
    assert show_image(torch.rand(784), ax=axes[1]) is axes[1]
    assert len(fig.axes) == 2 and len(axes[1].get_images()) == 1 and not axes[0].get_images()


def test_show_image_coloured_title():
    ax = show_image(torch.rand(28, 28), title=("7", "red"))
    assert ax.get_title() == "7" and ax.title.get_color() == "red"


@pytest.mark.parametrize("shape", [(783,), (2, 28, 28), (3, 4, 5, 6), (0,)])
def test_show_image_rejects_shapes_that_are_not_one_image(shape):
    with pytest.raises(ValueError, match=r"got shape"):
        show_image(torch.zeros(shape))


# ---------------------------------------------------------------- show_images


@given(n=st.integers(1, 12), ncols=st.integers(1, 10))
@figure_settings
def test_show_images_has_one_axes_per_image_in_a_grid(n, ncols):
    """Law: N images give exactly N axes, min(ncols, N) per row, ceil(N / ncols) rows."""
    fig = show_images(_digits(n), ncols=ncols)
    assert len(fig.axes) == n
    assert all(len(ax.get_images()) == 1 for ax in fig.axes)
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    assert cols == min(ncols, n) and rows == math.ceil(n / ncols)
    plt.close(fig)


def test_show_images_accepts_stacks_of_28x28_and_lists():
    assert len(show_images(torch.rand(5, 28, 28)).axes) == 5
    assert len(show_images([torch.rand(784), np.zeros((28, 28))]).axes) == 2


def test_show_images_captions_under_each_image_some_in_red():
    titles = ["3", ("5", "red"), "1"]
    fig = show_images(_digits(3), titles=titles)
    assert [ax.get_xlabel() for ax in fig.axes] == ["3", "5", "1"]
    assert fig.axes[1].xaxis.label.get_color() == "red"
    assert to_rgba(fig.axes[0].xaxis.label.get_color()) != to_rgba("red")


def test_show_images_figsize_is_respected():
    fig = show_images(_digits(4), figsize=(7, 2))
    assert tuple(fig.get_size_inches()) == (7, 2)


def test_show_images_rejects_a_title_count_that_does_not_match():
    with pytest.raises(ValueError, match="one title per image"):
        show_images(_digits(3), titles=["a", "b"])


def test_show_images_rejects_no_images():
    with pytest.raises(ValueError, match="at least one image"):
        show_images(torch.zeros(0, 784))


# ---------------------------------------------------------------- plot_losses


@pytest.mark.parametrize(
    "losses",
    [[2.3, 1.1, 0.7, 0.4], torch.tensor([2.3, 1.1, 0.7, 0.4]), [torch.tensor(2.3), torch.tensor(1.1)]],
    ids=["list", "tensor", "list-of-0d-tensors"],
)
def test_plot_losses_draws_one_line_with_every_loss(losses):
    fig = plot_losses(losses, xlabel="epoch", title="training")
    [ax] = fig.axes
    [line] = ax.get_lines()
    expected = [float(v) for v in losses]
    assert np.allclose(line.get_ydata(), expected)
    assert list(line.get_xdata()) == list(range(len(expected)))
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss" and ax.get_title() == "training"


def test_plot_losses_default_xlabel_is_batch():
    assert plot_losses([1.0, 0.5]).axes[0].get_xlabel() == "batch"


# ---------------------------------------------------------------- plot_bars


@given(
    values=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=12, unique=True)
)
@figure_settings
def test_plot_bars_one_bar_per_value_and_the_largest_highlighted(values):
    """Law: bar heights are the values, and exactly the argmax bar has its own colour."""
    fig = plot_bars(torch.tensor(values, dtype=torch.float64))
    [ax] = fig.axes
    bars = ax.patches
    assert [bar.get_height() for bar in bars] == pytest.approx(values)
    colours = [bar.get_facecolor() for bar in bars]
    top = int(np.argmax(values))
    assert all((c == colours[top]) == (i == top) for i, c in enumerate(colours))
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(len(values))]
    plt.close(fig)


def test_plot_bars_softmax_of_ten_classes_with_labels_and_title():
    probabilities = torch.softmax(torch.randn(10), dim=0)
    labels = [f"digit {i}" for i in range(10)]
    fig = plot_bars(probabilities, labels=labels, title="softmax")
    ax = fig.axes[0]
    assert len(ax.patches) == 10 and ax.get_title() == "softmax"
    assert [t.get_text() for t in ax.get_xticklabels()] == labels


@pytest.mark.parametrize("values", [torch.zeros(2, 5), torch.zeros(0)], ids=["2-d", "empty"])
def test_plot_bars_rejects_values_that_are_not_a_vector(values):
    with pytest.raises(ValueError, match="1-D"):
        plot_bars(values)


def test_plot_bars_rejects_a_label_count_that_does_not_match():
    with pytest.raises(ValueError, match="one label per value"):
        plot_bars([0.2, 0.8], labels=["a"])


def test_importing_the_package_does_not_import_pyplot():
    import subprocess
    import sys

    code = "import sys, mnist_course; print('matplotlib.pyplot' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
