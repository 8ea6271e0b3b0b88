"""Runs inside the sandbox, with the student's code: ``serve`` (the worker's loop, answering
the judge's requests), ``guard`` (refuses forbidden built-ins), ``confine`` (the worker's own
limits) and ``zygote`` (forks workers). Everything here is hostile ground: nothing it sends is
trusted by the judge (``shared/protocol.py`` parses it). The sandbox holds only this package
and ``shared``."""
