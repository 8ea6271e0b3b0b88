"""The worker's own limits, set inside the sandbox before any student code runs (the sandbox
itself is built by the judge: ``judge/sandbox.py``)."""
from __future__ import annotations

import resource

from autograder.engine.shared.limits import Limits


def confine_worker(limits: Limits) -> list[str]:
    """Set the worker's resource limits (soft = hard, so student code cannot raise
    them). Returns what does not hold, for the grading log."""
    values = {
        resource.RLIMIT_AS: limits.memory_bytes,
        resource.RLIMIT_FSIZE: limits.file_bytes,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
    }
    if limits.sandbox:  # counted per user namespace: the worker's own processes only
        values[resource.RLIMIT_NPROC] = limits.processes
    for kind, value in values.items():
        resource.setrlimit(kind, (value, value))
    if limits.sandbox:
        return []
    return ["UNSANDBOXED: student code ran without a sandbox (allowed by course_config.py): it could "
            "read and write whatever the grading user can, reach the network and outlive grading"]


# Taken at import, before any student code: a cell that replaces ``resource.setrlimit`` must
# not lift the CPU limit of the calls after it.
_getrusage, _getrlimit, _setrlimit = resource.getrusage, resource.getrlimit, resource.setrlimit
_RUSAGE_SELF, _RLIMIT_CPU = resource.RUSAGE_SELF, resource.RLIMIT_CPU


def limit_cpu_seconds(seconds: float) -> None:
    """Allow this process ``seconds`` more CPU time from now (SIGXCPU after)."""
    usage = _getrusage(_RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(used + seconds) + 1
    _, hard = _getrlimit(_RLIMIT_CPU)
    _setrlimit(_RLIMIT_CPU, (soft, hard))
