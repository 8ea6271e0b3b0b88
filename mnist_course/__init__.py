"""Shared helpers for the MNIST linear-algebra course: data loading, plotting, and the
comparison the notebooks' check cells use."""

from mnist_course.checking import assert_close

from mnist_course.data import MnistChecksumError, MnistNotFoundError, find_mnist_dir, load_mnist
from mnist_course.plots import plot_bars, plot_losses, show_image, show_images

__all__ = [
    "assert_close",
    "load_mnist",
    "find_mnist_dir",
    "MnistNotFoundError",
    "MnistChecksumError",
    "show_image",
    "show_images",
    "plot_losses",
    "plot_bars",
]
