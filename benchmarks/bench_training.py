"""How fast is the training loop of 06_simple_mnist? The notebook's ``fit`` against the
same network trained the usual way, with ``torch.utils.data.DataLoader``.

    python benchmarks/bench_training.py [--epochs 1] [--batch-size 64]

The functions come from the notebook itself: the setup and answer cells of
``source/06_simple_mnist/simple_mnist.ipynb`` (our solution, markers stripped) are
executed here. Both loops train ``SimpleMnist`` from the same initial weights with Adam
(lr 1e-3) and cross-entropy on the 60,000 MNIST training images, normalised with their
mean and standard deviation, batches of 64, on CUDA when present, else the CPU. Printed:
seconds per epoch and test accuracy (10,000 images) of each, and the ratio of their times.

The difference is in how a batch is made. ``fit`` indexes the whole tensor with a slice of
a random permutation: one gather per batch. A ``DataLoader`` over a ``TensorDataset``
fetches the 64 examples one by one and stacks them with its collate function: 64 Python
calls per batch.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from autograder import cell_conventions  # noqa: E402
from mnist_course import load_mnist  # noqa: E402

NOTEBOOK = ROOT / "source" / "06_simple_mnist" / "simple_mnist.ipynb"


def notebook_functions(path: Path = NOTEBOOK) -> dict:
    """The namespace of the notebook's setup and answer cells, run with our solutions."""
    nb = nbformat.read(str(path), as_version=4)
    namespace = {"__name__": "simple_mnist_notebook"}
    for cell in nb.cells:
        if cell_conventions.is_setup(cell) or cell_conventions.is_answer(cell):
            source = cell_conventions.solution_source(cell.source)
            exec(compile(source, f"<{cell_conventions.grade_id(cell)}>", "exec"), namespace)
    return namespace


def mnist():
    x_train, y_train = load_mnist("train")
    x_test, y_test = load_mnist("test")
    x_train = x_train.float()
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test.float() - mean) / std, y_test


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fit_with_dataloader(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    """The same training as the notebook's fit, with batches from a DataLoader."""
    device = next(model.parameters()).device
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        total, batches = 0.0, 0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb.to(device)), yb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        losses.append(total / batches)
    return losses


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    nb = notebook_functions()
    device = nb["get_device"]()
    x_train, y_train, x_test, y_test = mnist()

    torch.manual_seed(0)
    initial = nb["SimpleMnist"]().to(device)
    # Warm up (CUDA context, kernels, allocator) so neither loop pays for it.
    nb["fit"](copy.deepcopy(initial), x_train[:640], y_train[:640], epochs=1, batch_size=args.batch_size)

    where = f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else \
        f"{device} ({torch.get_num_threads()} threads)"
    print(f"device: {where}; {args.epochs} epoch(s) of {len(x_train):,} images, batch size {args.batch_size}; "
          f"torch {torch.__version__}")
    results = {}
    for name, train in [("notebook fit (randperm slices)", nb["fit"]),
                        ("DataLoader(TensorDataset, shuffle=True)", fit_with_dataloader)]:
        model = copy.deepcopy(initial)
        torch.manual_seed(1)
        sync(device)
        start = time.perf_counter()
        losses = train(model, x_train, y_train, epochs=args.epochs, batch_size=args.batch_size)
        sync(device)
        seconds = (time.perf_counter() - start) / args.epochs
        accuracy = (nb["predict"](model, x_test).cpu() == y_test).float().mean().item()
        results[name] = seconds
        print(f"  {name:42} {seconds:8.2f} s/epoch   final loss {losses[-1]:.4f}   test accuracy {accuracy:.2%}")
    (fit_name, fit_seconds), (dl_name, dl_seconds) = results.items()
    print(f"ratio DataLoader / notebook fit: {dl_seconds / fit_seconds:.2f}x the time per epoch")


if __name__ == "__main__":
    main()
