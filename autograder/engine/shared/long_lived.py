"""What a long-lived process of the engine (the judge, a zygote) imports once, at its start,
with Python's cyclic collector off and then frozen.

``import torch`` makes some 280,000 objects, nearly all kept for the process's life; with the
collector on, Python walks them again and again while they are made (every 700 new objects,
a full walk now and then) and once more in the ``gc.collect()`` before freezing them: 0.2-0.3
CPU-s of a judge's 1.2-1.6 and of a zygote's 0.9-1.1, on every grading process. With it off, the
imports leave some 7,000 objects of cyclic garbage (about a megabyte), frozen with the rest
rather than walked for. A collection never changes what a process computes, only when its
memory is freed; the collector is on again, with the thresholds it had, before anything else
runs (before any student code in a zygote's workers).
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def imported_for_life():
    """Import in this block what the process keeps until it ends: the collector is off while
    the block runs and what it made is frozen after (the collector never walks it again)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
