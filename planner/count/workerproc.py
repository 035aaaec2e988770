"""What a counting worker process does first, wherever it was forked (planner.count.counting's pool, or
planner.count.prewarm's head start): nothing here imports more than the standard library, so a process can
detach itself before it imports or builds anything."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

#: The signals that stop the parent; a parent blocks them while it forks (see planner.count.counting._Pool).
INTERRUPTS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}


def die_with_parent(parent_pid: int, keep: int | set[int]) -> None:
    """A worker's set-up: ignore Ctrl-C (the parent handles it and stops us), die with the parent, and
    hold /dev/null instead of the parent's stdin/stdout/stderr and none of its other descriptors (only
    `keep`, the worker's pipe), so a pipeline reading the parent's output, or a pipe the caller is
    writing, ends when the parent is done with it."""
    kept = {keep} if isinstance(keep, int) else keep
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: killed when the parent dies
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(0)
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
    if sys.platform.startswith("linux"):  # forked: every descriptor of the parent was inherited
        with contextlib.suppress(OSError):
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                if fd > 2 and fd not in kept:
                    with contextlib.suppress(OSError):
                        os.close(fd)
