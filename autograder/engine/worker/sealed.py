"""The worker's own steps inside a guarded call, sealed so that no code of the student's runs in them.

A guarded call (``guard.forbidden``) spans everything the worker does with a request in hand,
because student code reached from any step (a replaced ``os.write``, an exception's ``__str__``)
must meet the guard. But most steps are the worker's own and reach nothing of the student's:
setting the CPU limit, seeding, encoding a reply of plain values (``wire.frame_plain``). Under the
guard they still pay its hooks on every C function they call: 90 µs of a call's 400.

A sealed step pays none of that and still lets no student code run unchecked:
- in this thread the guard's profile hook and torch's function and dispatch modes are off, and
  a tripwire hook takes their place: any Python frame that starts and is not one of the code
  objects the worker trusted at import (``trust``) is recorded, and the call fails as tampering
  (a replaced function or property, a signal handler: whatever runs Python runs a frame, but for
  audit hooks, which Python runs unprofiled: a worker refuses to add any, ``refuse_audit_hooks``);
- signals are held, the cyclic garbage collector is off (no finalizer runs), and a trace
  function a cell set is off;
- other threads stay under the guard's checks: the guarded call is still active.
What the sealed step calls must itself run no student code: C functions and methods of types no
cell can change, taken at import, and the trusted Python functions.
"""
from __future__ import annotations

import _signal  # signal's C functions: signal.pthread_sigmask turns each mask into enum members (50 µs)
import gc
import sys
import types

import torch

# Taken at import, before any student code.
_getprofile, _setprofile, _gettrace, _settrace = sys.getprofile, sys.setprofile, sys.gettrace, sys.settrace
_gc_isenabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable
_sigmask, _SIG_BLOCK, _SIG_SETMASK = _signal.pthread_sigmask, _signal.SIG_BLOCK, _signal.SIG_SETMASK
_ALL_SIGNALS = tuple(_signal.valid_signals())
_DisableTorchFunction, _DisableTorchDispatch = torch._C.DisableTorchFunction, torch._C._DisableTorchDispatch

INTRUDED_NAME = "code of its own run inside the grader's steps (a handler, a hook or a replaced function)"

_CodeType = types.CodeType
_TRUSTED_CODES: list = []        # kept alive, so that no other code object takes their ids
_TRUSTED_CODE_IDS: set = set()
_intruders: list = []            # frames the tripwire saw in the current sealed step


def trust(*functions) -> None:
    """Let these Python functions run in a sealed step (call at import, before any student code:
    it is the code objects they hold now that are trusted, whatever a cell does to them later)."""
    codes = [getattr(function, "__func__", function).__code__ for function in functions]
    while codes:  # with the code nested in theirs: a comprehension runs a frame of its own
        code = codes.pop()
        if id(code) not in _TRUSTED_CODE_IDS:
            _TRUSTED_CODES.append(code)
            _TRUSTED_CODE_IDS.add(id(code))
            codes.extend(const for const in code.co_consts if isinstance(const, _CodeType))


def _tripwire(frame, event, arg):
    if event == "call" and id(frame.f_code) not in _TRUSTED_CODE_IDS:
        _intruders.append(frame.f_code.co_name)


def _no_audit_hooks_of_the_students(event: str, args: tuple) -> None:
    if event == "sys.addaudithook":
        raise RuntimeError("no audit hooks in a grading worker")  # Python then adds none, silently


def refuse_audit_hooks() -> None:
    """From now on no audit hook can be added in this process (call before any student code).
    Python runs audit hooks with its profile and trace hooks off, so neither the guard nor a
    tripwire would see one run (``resource.setrlimit`` calls them, in a sealed step)."""
    sys.addaudithook(_no_audit_hooks_of_the_students)


class Sealed:
    """``with Sealed(refused):`` a sealed step inside a guarded call; a frame that intruded
    adds a refusal to ``refused`` (the guard's list), which fails the call.

    The tripwire is the first thing set and the last taken off, so that the step's own set-up
    runs under it rather than under the guard's costlier hook, and a signal handler that was
    already due, or is let through as the step ends, runs under it too (and fails the call)."""

    __slots__ = ("refused", "mask", "gc_was_enabled", "profile", "trace", "function_off", "dispatch_off")

    def __init__(self, refused: list):
        self.refused = refused

    def __enter__(self):
        self.profile, self.trace = _getprofile(), _gettrace()
        _intruders.clear()
        _setprofile(_tripwire)
        _settrace(None)
        self.mask = _sigmask(_SIG_BLOCK, _ALL_SIGNALS)
        self.gc_was_enabled = _gc_isenabled()
        _gc_disable()
        self.function_off, self.dispatch_off = _DisableTorchFunction(), _DisableTorchDispatch()
        self.function_off.__enter__()
        self.dispatch_off.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.dispatch_off.__exit__(None, None, None)
        self.function_off.__exit__(None, None, None)
        if self.gc_was_enabled:
            _gc_enable()
        _sigmask(_SIG_SETMASK, self.mask)  # a handler held meanwhile runs here, under the tripwire
        _settrace(self.trace)
        _setprofile(self.profile)
        if _intruders:
            self.refused.append(INTRUDED_NAME)
            _intruders.clear()
        return False


trust(Sealed.__enter__, Sealed.__exit__)
