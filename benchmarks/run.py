"""Run every batchplan benchmark and print one table of ratios (the figures the README records).

    .venv/bin/python benchmarks/run.py              # ~50 MB counting file, ~200 MB sampling file
    .venv/bin/python benchmarks/run.py --big-mb 500 # the issue's 500 MB case

Rows:
- counting: batchplan's exact counting vs a plain single-process tiktoken loop (benchmarks/count.py)
- sample vs exact: `estimate --sample K` time as a share of the exact `estimate` on a large file, and
  whether the exact total falls inside the sample's 95% interval
- peak memory: the exact `estimate` on the counting file and on the large file: all its processes
  together (proportional set size, sampled), and its largest process (ru_maxrss)
- two models: `estimate` with a GPT and a Claude model (one encoding) against one model, same file
- Claude vs OpenAI: `estimate -m claude-haiku-4-5` (ctok on a calibration sample) against `-m gpt-4o-mini`
  on a ~26 MB file (the target is at most 3x); skipped when ctok is not installed
- price tables: loading every table in force today, in a fresh process
- table commands: `check MODEL`, `models --json` and `prices list`, whole processes start to finish
- start-up: `batchplan --help` against `python -c pass`
Every command runs in a fresh process; timings are wall-clock, best of N.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
MODEL = "gpt-4o-mini"


def timed(cmd: list[str], repeat: int = 1) -> tuple[float, str]:
    """Best wall time of `repeat` runs, and the stdout of the last."""
    best = float("inf")
    out = ""
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        best = min(best, time.perf_counter() - start)
    return best, out


def peak_memory_mb(cmd: list[str]) -> tuple[float, float]:
    """(peak proportional set size of the whole process tree, peak RSS of its largest process), MB.

    PSS splits pages the forked workers share with the parent (the BPE tables) between them, so the
    tree's PSS is what the machine really spends; it is sampled every 20 ms from /proc."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    peak_pss = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # wait4: this command's own rusage
        if pid:
            break
        peak_pss = max(peak_pss, sum(_pss_kb(p) for p in _tree(proc.pid)))
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return peak_pss / 1024, usage.ru_maxrss / 1024


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(child) for child in children)
    return pids


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def batchplan() -> list[str]:
    exe = shutil.which("batchplan", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "planner"]


def counting(size_mb: float) -> tuple[str, str]:
    out = subprocess.run(
        [sys.executable, str(HERE / "count.py"), "--size-mb", str(size_mb)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    lines = out.splitlines()
    speed = next(line for line in lines if line.startswith("speed-up"))
    ceiling = next(line for line in lines if line.startswith("ceiling"))
    rows = next(line for line in lines if line.startswith("batchplan "))
    ratio = speed.split()[1]
    figures = " ".join(rows.split()[1:])
    return ratio, f"{speed}; {ceiling}; best run {figures} (s, CPU s, rows/s, tokens/s, MB/s, peak MB)"


def sample_vs_exact(path: Path, sample: int, seeds: int) -> tuple[str, str, float]:
    """Sample-mode time as a share of the exact count, and how often the exact total lands inside the
    sample's 95% interval over several seeds (one seed can be unlucky: that is what 95% means)."""
    base = [*batchplan(), "estimate", str(path), "-m", MODEL, "--output-tokens", "100", "--json"]
    exact_s, exact_out = timed(base)
    exact = json.loads(exact_out)["estimates"][0]["input_tokens"]
    inside = 0
    sample_s = float("inf")
    for seed in range(seeds):
        seconds, out = timed([*base, "--sample", str(sample), "--seed", str(seed)])
        sample_s = min(sample_s, seconds)
        low, high = json.loads(out)["estimates"][0]["input_tokens_ci95"]
        inside += low <= exact <= high
    detail = (
        f"exact {exact_s:.1f} s, sample of {sample:,} {sample_s:.2f} s; exact input {exact:,} inside the "
        f"95% interval for {inside}/{seeds} seeds"
    )
    return f"{sample_s / exact_s:.3f}", detail, exact_s


def table_load() -> tuple[str, str]:
    code = (
        "import time; t=time.perf_counter(); from planner.pricing import load_pricebook; "
        "b=load_pricebook(); print(time.perf_counter()-t, len(b.tables), sum(len(t.models) for t in b.tables.values()))"
    )
    best = float("inf")
    tables = models = "0"
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
        seconds, tables, models = out.stdout.split()
        best = min(best, float(seconds))
    return f"{best * 1000:.0f} ms", f"{tables} provider tables, {models} models (from the table cache once warm)"


def two_models(path: Path) -> tuple[str, str]:
    """`estimate` time with a GPT and a Claude model against one model: both count with o200k_base, so
    each text is encoded once for both and the second model should cost little."""
    base = [*batchplan(), "estimate", str(path), "--output-tokens", "100", "--json", "-m", MODEL]
    one, _ = timed(base, repeat=3)
    two, _ = timed([*base, "-m", "claude-haiku-4-5"], repeat=3)
    return f"{two / one:.2f}x", f"estimate with {MODEL} + claude-haiku-4-5 {two:.2f} s vs {MODEL} alone {one:.2f} s"


def claude_vs_openai(path: Path) -> tuple[str, str]:
    """`estimate` of a Claude model (ctok exact on a sample, calibrating the file) against a GPT model."""
    base = [*batchplan(), "estimate", str(path), "--output-tokens", "100", "--json", "-m"]
    gpt, _ = timed([*base, MODEL], repeat=3)
    claude, out = timed([*base, "claude-haiku-4-5"], repeat=3)
    label = json.loads(out)["estimates"][0]["token_method_label"]
    return f"{claude / gpt:.2f}x", f"claude-haiku-4-5 {claude:.2f} s ({label}) vs {MODEL} {gpt:.2f} s"


def table_commands(repeat: int = 15) -> tuple[str, str]:
    """`check MODEL`, `models --json` and `prices list` (stdout piped, warm table cache), taken in turn
    `repeat` times: fastest and median each; the result is the slowest command's fastest run."""
    commands = (["check", MODEL], ["models", "--json"], ["prices", "list"])
    for cmd in commands:
        timed([*batchplan(), *cmd])  # fills the table cache
    times: dict[str, list[float]] = {" ".join(cmd): [] for cmd in commands}
    for _ in range(repeat):
        for cmd in commands:
            times[" ".join(cmd)].append(timed([*batchplan(), *cmd])[0])
    detail = "; ".join(f"{name} {min(t) * 1000:.0f}/{statistics.median(t) * 1000:.0f} ms" for name, t in times.items())
    return f"{max(min(t) for t in times.values()) * 1000:.0f} ms", f"{detail} (fastest/median of {repeat})"


def startup() -> tuple[str, str]:
    help_s, _ = timed([*batchplan(), "--help"], repeat=7)
    pass_s, _ = timed([sys.executable, "-c", "pass"], repeat=7)
    detail = f"batchplan --help {help_s * 1000:.0f} ms vs python -c pass {pass_s * 1000:.0f} ms"
    return f"{help_s / pass_s:.1f}x", detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count-mb", type=float, default=50.0, help="size of the counting benchmark file")
    parser.add_argument("--big-mb", type=float, default=200.0, help="size of the sampling/memory benchmark file")
    parser.add_argument("--sample", type=int, default=2000, help="rows drawn in sample mode")
    parser.add_argument("--seeds", type=int, default=10, help="sample-mode seeds for the interval's coverage")
    parser.add_argument("--claude-mb", type=float, default=26.0, help="size of the Claude-vs-OpenAI file")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from _gen import generate

    big = DATA / f"chat-{args.big_mb:g}mb-seed7.jsonl"
    if not big.exists():
        print(f"generating {big} ...", file=sys.stderr, flush=True)
        generate(big, args.big_mb, 7)

    rows: list[tuple[str, str, str]] = []
    ratio, detail = counting(args.count_mb)
    rows.append(("counting vs plain tiktoken loop", ratio, detail))
    ratio, detail, _ = sample_vs_exact(big, args.sample, args.seeds)
    rows.append((f"sample vs exact time ({args.big_mb:g} MB)", ratio, detail))
    for path in (DATA / f"chat-{args.count_mb:g}mb-seed7.jsonl", big):
        cmd = [*batchplan(), "estimate", str(path), "-m", MODEL, "--output-tokens", "100", "--json"]
        pss, largest = peak_memory_mb(cmd)
        size = f"{path.stat().st_size / 1e6:.0f} MB"
        detail = f"all processes (PSS, sampled); largest single process {largest:.0f} MB (ru_maxrss)"
        rows.append((f"peak memory, exact estimate ({size})", f"{pss:.0f} MB", detail))
    rows.append(("GPT + Claude models vs one model", *two_models(DATA / f"chat-{args.count_mb:g}mb-seed7.jsonl")))
    try:
        import ctok  # noqa: F401
    except ImportError:
        print("ctok is not installed: skipping the Claude-vs-OpenAI row", file=sys.stderr)
    else:
        claude_file = DATA / f"chat-{args.claude_mb:g}mb-seed7.jsonl"
        if not claude_file.exists():
            generate(claude_file, args.claude_mb, 7)
        rows.append((f"Claude vs OpenAI estimate ({args.claude_mb:g} MB)", *claude_vs_openai(claude_file)))
    rows.append(("price-table load", *table_load()))
    rows.append(("table commands start to finish", *table_commands()))
    rows.append(("start-up (--help) vs python -c pass", *startup()))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':{width}}  {'result':>9}  detail")
    for name, result, detail in rows:
        print(f"{name:{width}}  {result:>9}  {detail}")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"machine: {resource.getpagesize()}-byte pages; load average {' '.join(load)}")


if __name__ == "__main__":
    main()
