"""One lifecycle for the tool and its worker processes: whatever stops the parent (Ctrl-C, SIGTERM,
SIGHUP, SIGKILL), no worker survives it, nothing is left half-written, and a pipeline reading its output
ends; a worker that dies mid-run is one clear error line.

No fixed sleeps: every test feeds the tool standard input that it keeps open (so the count cannot end
on its own, however fast the machine) and acts once it observes the worker processes running."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import COMMON, batchplan

WORDS = ["order", "refund", "shipping", "invoice", "warranty", "account", "password", "delivery", "package"]
BLOCK = "".join(
    json.dumps({"messages": [{"role": "user", "content": " ".join(WORDS[(i + k) % 9] + str(i) for k in range(20))}]})
    + "\n"
    for i in range(4_000)
).encode()

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def children(pid: int) -> list[int]:
    """The running children of `pid` (a zombie waiting to be reaped is not a worker)."""
    try:
        found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [p for p in found if alive(p)]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def until(condition: object, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)  # polling an event, not waiting for time to pass
    return False


def _default_signals() -> None:
    """In the child before exec: the signals this test sends start at their defaults, whatever the test run
    inherited (batchplan respects an inherited SIG_IGN, as `nohup batchplan …` needs)."""
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


class Running:
    """`batchplan report -` counting standard input that this test keeps feeding (it never ends)."""

    def __init__(self, tmp: Path) -> None:
        self.report = tmp / "report.html"
        self.proc = subprocess.Popen(
            [*batchplan(), "report", "-", "-m", "acme-small", "--output-tokens", "5", "-o", str(self.report), *COMMON],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "100"},
            preexec_fn=_default_signals,  # a run under nohup would hand its SIG_IGN on, and batchplan keeps it
        )
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()
        # the event: the tool has started its worker processes (it is counting, and cannot finish)
        assert until(lambda: len(children(self.proc.pid)) >= 2), "the tool never started its workers"
        self.workers = children(self.proc.pid)

    def _feed(self) -> None:
        assert self.proc.stdin is not None
        fd = self.proc.stdin.fileno()  # raw writes: no buffer lock for the rest of the test to wait on
        try:
            while True:
                view = memoryview(BLOCK)
                while view:
                    view = view[os.write(fd, view) :]
        except (BrokenPipeError, OSError, ValueError):
            return

    def finish(self) -> tuple[int, str]:
        """Exit status and stderr, once stdout and stderr have reached their end: no process (the tool
        or a worker it left behind) holds them, so `batchplan … | cat` would end too."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        err = bytearray()
        open_fds = {self.proc.stdout.fileno(): bytearray(), self.proc.stderr.fileno(): err}
        deadline = time.monotonic() + 60
        while open_fds and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_fds), [], [], 0.5)
            for fd in ready:
                data = os.read(fd, 1 << 16)
                if data:
                    open_fds[fd] += data
                else:
                    del open_fds[fd]
        if open_fds:
            state = [f"{pid}: {Path(f'/proc/{pid}/wchan').read_text() if alive(pid) else 'gone'}"
                     for pid in [self.proc.pid, *self.workers]]
            self.kill_all()
            raise AssertionError(f"the pipeline hung: something still holds the tool's output; {state}; "
                                 f"stderr so far: {err.decode()!r}")
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill_all()
            raise AssertionError("the tool did not exit") from None
        return code, err.decode()

    def kill_all(self) -> None:
        for pid in [self.proc.pid, *self.workers]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    run = Running(tmp_path)
    yield run
    run.kill_all()  # whatever a failed test left running (the tool, workers it orphaned)
    run.proc.wait()


EXPECTED = {
    signal.SIGINT: (130, "batchplan: interrupted"),
    signal.SIGTERM: (143, "batchplan: interrupted (SIGTERM)"),
    signal.SIGHUP: (129, "batchplan: interrupted (SIGHUP)"),
    signal.SIGKILL: (-9, None),
}


@pytest.mark.parametrize("sig", list(EXPECTED), ids=lambda s: signal.Signals(s).name)
def test_killing_the_parent_mid_count_leaves_no_worker_no_file_and_no_hang(
    tmp_path: Path, running: Running, sig: int
) -> None:
    running.proc.send_signal(sig)
    code, err = running.finish()  # stdout reaches EOF: `batchplan … | cat` would end too
    expected_code, expected_line = EXPECTED[sig]
    assert code == expected_code, err
    assert "Traceback" not in err
    if expected_line is not None:
        assert err.strip().splitlines() == [expected_line]
    assert until(lambda: not any(alive(pid) for pid in running.workers), timeout=30), (
        f"workers still running after the parent died of {signal.Signals(sig).name}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no report, no temporary file


def test_ctrl_c_again_and_again_is_one_line_and_exit_130(tmp_path: Path, running: Running) -> None:
    """A user pressing Ctrl-C three times (or more): the presses that land while the tool is already
    cleaning up (stopping workers, exiting) must not break the clean-up off with a traceback. Signals
    keep coming until the tool has exited, so some land in every phase of its exit."""
    sent = 0
    while running.proc.poll() is None and sent < 2000:
        with contextlib.suppress(ProcessLookupError):
            running.proc.send_signal(signal.SIGINT)
        sent += 1
        time.sleep(0.002)  # pacing the presses, not waiting for anything
    assert sent >= 3
    code, err = running.finish()
    assert code == 130, err
    assert err.strip().splitlines() == ["batchplan: interrupted"]
    assert until(lambda: not any(alive(pid) for pid in running.workers), timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_worker_killed_mid_run_is_one_error_line(tmp_path: Path, running: Running) -> None:
    os.kill(running.workers[0], signal.SIGKILL)
    code, err = running.finish()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("batchplan: error: a token-counting worker process died mid-run (killed by SIGKILL")
    assert until(lambda: not any(alive(pid) for pid in running.workers), timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
