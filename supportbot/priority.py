"""Generation yields the CPU to acks: threads that generate run at a lower priority.

On Linux a thread's niceness is its own (``setpriority`` on its native id), and the threads a
thread starts inherit it: torch's OpenMP workers, started by the first parallel region a thread
runs, are niced with it. The scheduler then hands a core to a request thread the moment it has
work, and generation takes what is left. Elsewhere (macOS, Windows) this does nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

GENERATION_NICENESS = 10  # CFS weight 110 against a request thread's 1024: ~10% while both want a core


def lower_this_thread(niceness: int = GENERATION_NICENESS) -> bool:
    """Lower the calling thread's CPU priority by ``niceness`` (it can never be raised back
    without privileges). False where threads have no priority of their own."""
    if not hasattr(os, "setpriority") or sys.platform != "linux":
        return False
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))
    except OSError as exc:
        log.debug("could not lower the priority of thread %d: %s", thread, exc)
        return False
    return True


def niceness_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
