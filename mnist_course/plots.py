"""Small matplotlib helpers for looking at digits, losses and class probabilities.

pyplot is imported inside each function: importing the package stays cheap, and
matplotlib chooses its backend only when something is drawn (Agg when headless).

Each function returns what it drew on (Axes for ``show_image``, Figure for the
rest) so that code and tests can inspect it. In a notebook, a returned Figure on a
cell's last line is shown a second time; end that line with ``;`` to avoid it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_NCOLS = 8
_HIGHLIGHT_COLOR = "tab:orange"
_BAR_COLOR = "tab:blue"


def _to_numpy(values: Any) -> np.ndarray:
    """A numpy copy of a tensor (any device, with or without grad), array or nested list."""
    if hasattr(values, "detach"):  # torch.Tensor, without importing torch here
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _as_image(img: Any) -> np.ndarray:
    """One image as a 2-D (H, W) array, or (H, W, 3|4) colour.

    A flat vector of a square length (784 for MNIST) is folded into a square,
    and a single channel axis, first or last, is dropped.
    """
    array = _to_numpy(img)
    if array.ndim == 1:
        side = math.isqrt(array.size)
        if side * side != array.size or side == 0:
            raise ValueError(
                f"a flat image must have a square number of pixels (784 for 28 x 28); "
                f"got shape {tuple(array.shape)}"
            )
        return array.reshape(side, side)
    if array.ndim == 3 and array.shape[0] == 1:
        return array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        return array[..., 0]
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4)):
        return array
    raise ValueError(
        f"expected one image shaped (784,), (28, 28), (H, W) or (H, W, 3); "
        f"got shape {tuple(array.shape)}"
    )


def _text_style(title: Any) -> tuple[str, dict]:
    """A title is text, or (text, colour) to colour it, e.g. a wrong prediction in red.

    Returns the text and keyword arguments for matplotlib, which rejects color=None.
    """
    if isinstance(title, tuple):
        if len(title) != 2:
            raise ValueError(f"a coloured title is (text, colour); got {title!r}")
        text, color = title
        return str(text), {"color": color}
    return str(title), {}


def show_image(img: Any, title: Any = None, ax: Any = None):
    """Draw one greyscale image without axis ticks; returns the Axes drawn on.

    img: a tensor or array shaped (784,), (28, 28) or (H, W).
    title: text above the image, or (text, colour).
    ax: the Axes to draw on; a new figure when None.
    """
    import matplotlib.pyplot as plt

    image = _as_image(img)
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(image, cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        text, style = _text_style(title)
        ax.set_title(text, **style)
    return ax


def show_images(
    imgs: Any,
    titles: Sequence[Any] | None = None,
    ncols: int = DEFAULT_NCOLS,
    figsize: tuple[float, float] | None = None,
):
    """Draw images in a grid, each with an optional caption underneath; returns the Figure.

    imgs: a stack shaped (N, 784), (N, 28, 28) or (N, H, W), or a sequence of images.
    titles: N captions (e.g. predictions); a caption may be (text, "red").
    The figure has exactly N axes: cells of an incomplete last row are removed.
    """
    import matplotlib.pyplot as plt

    images = [_as_image(img) for img in imgs]
    if not images:
        raise ValueError("show_images needs at least one image; got none")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"expected one title per image ({len(images)}); got {len(titles)} titles")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1; got {ncols}")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    if figsize is None:
        figsize = (1.3 * ncols, 1.5 * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    flat_axes = list(axes.flat)
    for i, ax in enumerate(flat_axes):
        if i >= len(images):
            fig.delaxes(ax)
            continue
        show_image(images[i], ax=ax)
        if titles is not None:
            text, style = _text_style(titles[i])
            # xlabel sits under the image, and stays visible because only ticks are removed.
            ax.set_xlabel(text, **style)
    fig.tight_layout()
    return fig


def plot_losses(losses: Any, xlabel: str = "batch", title: str | None = None):
    """Line plot of a loss per step (batch or epoch); returns the Figure.

    losses: a sequence of numbers or 0-d tensors, or a 1-D tensor/array.
    """
    import matplotlib.pyplot as plt

    values = np.array([float(_to_numpy(v)) for v in losses], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(len(values)), values)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def plot_bars(values: Any, labels: Sequence[Any] | None = None, title: str | None = None):
    """Bar chart of one value per class (e.g. 10 softmax probabilities); returns the Figure.

    The largest bar is highlighted: for probabilities, that is the prediction.
    labels: one per value; default 0, 1, 2, ...
    """
    import matplotlib.pyplot as plt

    heights = _to_numpy(values).astype(float)
    if heights.ndim != 1 or heights.size == 0:
        raise ValueError(
            f"plot_bars expects a non-empty 1-D sequence of values; got shape {tuple(heights.shape)}"
        )
    if labels is None:
        labels = [str(i) for i in range(heights.size)]
    elif len(labels) != heights.size:
        raise ValueError(f"expected one label per value ({heights.size}); got {len(labels)} labels")
    colors = [_BAR_COLOR] * heights.size
    colors[int(np.argmax(heights))] = _HIGHLIGHT_COLOR
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * heights.size), 3))
    positions = np.arange(heights.size)
    ax.bar(positions, heights, color=colors)
    ax.set_xticks(positions, [str(label) for label in labels])
    if title is not None:
        ax.set_title(title)
    fig.tight_layout()
    return fig
