"""The exchange's ``inbound/`` folder watched by Linux's inotify: the feedback service wakes as
soon as a submission may have arrived, rather than at its next look (``poll_seconds``).

An event says only that something changed; what changed is read by the service's usual
round, through its safe reader, and the round still runs every ``poll_seconds`` whatever the
events say, so a missed event (a full queue, a folder replaced, no inotify at all) costs at
most one poll's delay, never a submission. nbgrader's submit ends by making the submission
folder world-writable (``chmod 0777``, an attribute change of an entry of ``inbound/``),
which is the event that matters; creations and moves wake it too. ``inbound/`` exists only
once an assignment is released, and may be replaced: the service arms the watch at each
round until it holds (``arm``), and a watch whose folder went away disarms itself.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import logging
import os
import select
import struct
import threading
from pathlib import Path

log = logging.getLogger("feedback-on-submit")

IN_ATTRIB, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x4, 0x8, 0x80, 0x100
IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED, IN_ONLYDIR, IN_DONT_FOLLOW = 0x400, 0x800, 0x8000, 0x01000000, 0x02000000
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then len bytes of name)
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
WATCHED = (IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
           | IN_DONT_FOLLOW)


@functools.lru_cache(maxsize=1)  # arm() tries again every round until inbound/ exists
def _libc():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.inotify_init1.argtypes, libc.inotify_add_watch.argtypes = [ctypes.c_int], [
        ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return libc


class ExchangeWatch:
    """Sets ``wake`` whenever ``folder`` (not followed if a link) sees an entry created, moved
    in, written or changed in its attributes. ``arm()`` returns False (and the service polls)
    where inotify is not available or the folder cannot be watched (yet)."""

    def __init__(self, folder: Path, wake: threading.Event):
        self.folder, self.wake = Path(folder), wake
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._told: set[str] = set()  # why arming failed, each said once

    @property
    def armed(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def arm(self) -> bool:
        """The watch set up, unless it is already; whether it now holds."""
        if self.armed:
            return True
        self._close()
        try:
            libc = _libc()
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            if fd < 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            if libc.inotify_add_watch(fd, os.fsencode(self.folder), WATCHED) < 0:
                code = ctypes.get_errno()
                os.close(fd)
                raise OSError(code, os.strerror(code))
        except (OSError, AttributeError) as error:
            if str(error) not in self._told:  # a folder not there yet is said once, not every round
                self._told.add(str(error))
                log.info("not watching %s for events (%s): looking every poll", self.folder, error)
            return False
        self._fd = fd
        self._thread = threading.Thread(target=self._run, args=(fd,), name="exchange-watch", daemon=True)
        self._thread.start()
        log.info("watching %s for events", self.folder)
        return True

    def _run(self, fd: int) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if not ready:
                    continue
                events = os.read(fd, 64 * 1024)
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EINTR):
                    continue
                log.warning("watching %s stopped (%s): looking every poll", self.folder, error)
                return
            self.wake.set()  # what changed is the round's to read, through the service's own reader
            offset = 0
            while offset + EVENT.size <= len(events):
                _, mask, _, length = EVENT.unpack_from(events, offset)
                offset += EVENT.size + length
                if mask & IN_IGNORED:  # the folder went away: armed again by a later round
                    return

    def _close(self) -> None:
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def stop(self) -> None:
        self._stop.set()
        self._close()
