"""Counting workers started before the command line is even parsed, so the encoding loads meanwhile.

`batchplan estimate FILE` spends ~0.3 s importing typer, pydantic and the price schema and reading the
tables before it knows what to count; building o200k_base (the encoding of nearly every model, exact
or approximate) takes another ~0.3 s, and until now came after. On Linux the entry point
(planner.cli.launch) forks one process first (`start`) for the commands that count. That process imports
only the counting engine (no pydantic, no typer), builds o200k_base on the other core, and waits.

When the engine needs workers (`planner.count.counting`), it hands them over (`take`): the tokenizers travel
as plain copies of their fields (`plain`), the process builds any other encoding they name, forks the
workers (they share every encoding it built, copy-on-write) and exits. The caller is a child subreaper
until then, so the workers become its own children: it waits for them, reads their exit status and
stops them as it stops workers it forked itself (planner.count.counting's lifecycle). A command that ends
up counting nothing stops and reaps it on its way out (`release`, at exit), and a command killed
outright takes it along (PR_SET_PDEATHSIG).

Nothing here is needed for correctness: every failure (no fork, no subreaper, an encoding that will
not build, a process that died) means the engine starts its workers itself, as without this module.
`BATCHPLAN_PREWARM=0` turns it off; it is off on other platforms and for commands that count nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import pickle
import select
import signal
import socket
import struct
import sys
import time
from types import SimpleNamespace
from typing import Any

from planner.cli.launch import COUNTING_COMMANDS
from planner.count.workerproc import INTERRUPTS, die_with_parent

#: Built before anything is known: the encoding of the OpenAI models of 2024-2026 and of the
#: approximations for Claude, Gemini and the open models (every shipped table but gpt-4/3.5's).
HEAD_START = "o200k_base"
#: How long `take` waits for the process to build further encodings and fork (a build takes ~0.3 s).
TAKE_TIMEOUT = 60.0

_PR_SET_CHILD_SUBREAPER = 36
_LENGTH = struct.Struct("!Q")


@dataclasses.dataclass
class _Started:
    pid: int
    ctl: socket.socket
    prctl: Any


_started: _Started | None = None


def enabled() -> bool:
    """Whether workers may be started ahead here: Linux (fork, subreapers, fd passing), not turned off."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "send_fds"):
        return False
    return os.environ.get("BATCHPLAN_PREWARM", "1").strip().lower() not in ("0", "off", "no", "false")


def start(command: str | None) -> bool:
    """Fork the head-start process if `command` counts; True when it runs."""
    global _started
    if _started is not None or command not in COUNTING_COMMANDS or not enabled():
        return False
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        if prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    try:
        ours, theirs = socket.socketpair()
    except OSError:  # out of descriptors, say: the engine forks its own workers later
        prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        return False
    parent = os.getpid()
    held = INTERRUPTS if hasattr(signal, "pthread_sigmask") else set()
    if held:  # a Ctrl-C during the fork is raised after it, in the caller only
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        pid = os.fork()
    except OSError:
        pid = -1
    if pid == 0:
        try:
            ours.close()
            _head_start(theirs, parent, held)
        finally:
            os._exit(0)
    if held:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    theirs.close()
    if pid < 0:
        ours.close()
        prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        return False
    _started = _Started(pid, ours, prctl)
    atexit.register(release)  # stopped and reaped on the way out; PR_SET_PDEATHSIG covers a hard kill
    return True


def running() -> bool:
    return _started is not None


def take(config: Any, workers: int) -> list[tuple[Any, int]] | None:
    """`workers` worker processes serving `config` (planner.count.counting's `_Config`), as (connection, pid)
    pairs of the caller's own children; None when there is no head start (the caller forks its own)."""
    global _started
    s, _started = _started, None
    if s is None or workers < 1:
        if s is not None:
            _stop(s)
        return None
    from multiprocessing.connection import Connection

    pairs: list[tuple[socket.socket, socket.socket]] = []
    pids: list[int] = []
    try:
        payload = pickle.dumps(dataclasses.replace(config, toks=[plain(t) for t in config.toks]))
        pairs = [socket.socketpair() for _ in range(workers)]
        socket.send_fds(s.ctl, [_LENGTH.pack(len(payload))], [theirs.fileno() for _, theirs in pairs])
        s.ctl.sendall(payload)
        for _, theirs in pairs:
            theirs.close()
        pids = _receive_pids(s.ctl)
        _reap(s.pid)  # it exits once it has forked: the workers are ours now (we are the subreaper)
        if len(pids) != workers:
            raise OSError("the head-start process forked fewer workers than asked")
    except BaseException:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        for ours, _ in pairs:
            ours.close()
        _stop(s)
        if not isinstance(sys.exc_info()[1], Exception):
            raise  # Ctrl-C and the like: the caller handles them
        return None
    s.ctl.close()
    s.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    return [(Connection(ours.detach()), pid) for (ours, _), pid in zip(pairs, pids, strict=True)]


def release() -> None:
    """Stop the head-start process if it is still waiting (the command counts in this process, or not at
    all): it is killed and reaped at once, and this process is no longer a subreaper."""
    global _started
    s, _started = _started, None
    if s is not None:
        _stop(s)


def plain(value: Any) -> Any:
    """A record's field values as a plain object with the same attributes (nested records too): how the
    tokenizer rules reach the workers. Records unpickle without pydantic too, but would bring the price
    modules into the head start; these copies bring nothing beyond the standard library."""
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, dict):
        return SimpleNamespace(**{name: plain(getattr(value, name)) for name in fields})
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _stop(s: _Started) -> None:
    with contextlib.suppress(OSError):
        os.kill(s.pid, signal.SIGKILL)
    _reap(s.pid)
    s.ctl.close()
    with contextlib.suppress(Exception):
        s.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)


def _receive_pids(ctl: socket.socket) -> list[int]:
    data = b""
    deadline = time.monotonic() + TAKE_TIMEOUT
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([ctl], [], [], left)[0]:
            raise OSError("the head-start process did not answer")
        more = ctl.recv(4096)
        if not more:
            raise OSError("the head-start process ended early")
        data += more
    return [int(p) for p in data.split()]


def _receive_order(ctl: socket.socket) -> tuple[Any, list[int]] | None:
    """The caller's order: the workers' config and one descriptor per worker; None when it closed."""
    head, fds, _, _ = socket.recv_fds(ctl, _LENGTH.size, 64)
    if len(head) < _LENGTH.size:  # closed (or a torn header: the caller gave up)
        for fd in fds:
            os.close(fd)
        return None
    (length,) = _LENGTH.unpack(head)
    payload = bytearray()
    while len(payload) < length:
        more = ctl.recv(min(1 << 20, length - len(payload)))
        if not more:
            return None
        payload += more
    return pickle.loads(bytes(payload)), fds


def _head_start(ctl: socket.socket, parent: int, held: set[int]) -> None:
    """The forked process: builds the encoding, then forks the workers the caller asks for, and exits."""
    die_with_parent(parent, {ctl.fileno()})
    if held:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    from planner.count.encodings import token_counter

    with contextlib.suppress(Exception):  # a worker reports it, as a worker of the caller's would
        token_counter(HEAD_START)
    _give_back_freed_memory()  # before the engine's modules load into the space the build left free
    from planner.count import counting  # noqa: F401  (imported here, shared by every worker forked below)
    try:
        order = _receive_order(ctl)
    except (OSError, EOFError, pickle.UnpicklingError):
        return
    if order is None:
        return
    config, fds = order
    names = list(dict.fromkeys(tok.encoding for tok in config.toks))
    for name in names:  # the head start's own is built already (or failed: tried once more)
        with contextlib.suppress(Exception):
            token_counter(name)
    if any(name != HEAD_START for name in names):  # a second build left its parse behind too
        _give_back_freed_memory()
    me = os.getpid()
    pids: list[int] = []
    for fd in fds:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                _worker(fd, config, parent, me)
            finally:
                os._exit(0)
        pids.append(pid)
    with contextlib.suppress(OSError):
        ctl.sendall(" ".join(map(str, pids)).encode() + b"\n")


def _worker(fd: int, config: Any, parent: int, head_start: int) -> None:
    """A worker forked by the head-start process: once that has exited it is the caller's child (the
    caller is a subreaper), and only then can it tie its life to the caller's (PR_SET_PDEATHSIG)."""
    from multiprocessing.connection import Connection

    from planner.count import counting

    while (ppid := os.getppid()) != parent:
        if ppid != head_start:  # the caller died meanwhile
            os._exit(0)
        time.sleep(0.0005)
    counting._serve(Connection(fd), config, parent, set())


def _give_back_freed_memory() -> None:
    """Hand the heap the encoding builds left free (the parsed ranks, ~30 MB) back to the system before
    the workers are forked: they would otherwise each carry it (glibc keeps freed pages mapped)."""
    import gc

    gc.collect()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
