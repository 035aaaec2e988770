"""Run batchplan's benchmarks and print one table of ratios (the figures docs/benchmarks.md records).

    python benchmarks/run.py                                   # every row (data generated once)
    python benchmarks/run.py --only counting models memory     # the rows with goals
    python benchmarks/run.py --rounds 9 --count-mb 50 --big-mb 500   # the long run, for a quiet machine

Rows with goals, on unique-text data from benchmarks/_gen.py (every text unique, no repeat cache helps):
- counting: JSONL (one model) and CSV `--text-column` through the counting engine (count.py), as a share
  of the two-core ceiling of the same rounds: two plain json.loads/csv.reader + encode_ordinary loops at
  once, each on half the file. Goal ≥ 0.9.
- models: 3 models sharing one encoding vs 1 model, and 4 models on 2 encodings vs the 2 models that hold
  those encodings, whole `estimate` processes. Goal ≤ 1.1x. (These and the memory rows hide ctok, whose
  exact Claude pass has its own row: they time the engine.)
- memory: peak PSS of the whole process tree, `estimate` vs the plain loop holding the same distinct
  encodings, two file sizes. Goal ≤ 1.3x.
Rows without goals: a 5 MB file start-up included (`small`), `check` / `models --json` / `prices list`
start to finish (`tables`), `--sample` vs exact and GPT + Claude on repeated text (`sample`), ctok's
exact Claude pass (`claude`), `--help` (`help`).
Every command runs in a fresh process; rounds alternate the order of the two sides; each ratio prints
as the fastest vs fastest run and the minimum / median of the rounds (min and median are what to quote
on a shared machine). Totals are checked equal to the plain loops.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
MODEL = "gpt-4o-mini"
FOUR = ["gpt-4o-mini", "gpt-4", "claude-haiku-4-5", "gemini-2.5-flash"]  # o200k_base and cl100k_base
TWO_ENCODINGS = ["gpt-4o-mini", "gpt-4"]
ONE_ENCODING = ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"]
sys.path.insert(0, str(HERE))

Row = tuple[str, str, str, str]  # (benchmark, result, goal, detail)


def batchplan() -> list[str]:
    exe = shutil.which("batchplan", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "planner"]


def tiktoken_cache() -> dict[str, str]:
    """An environment whose tiktoken cache holds the encodings batchplan ships (under the names tiktoken
    gives their public URLs), so the plain loop loads them the way a user's warm machine would."""
    cache = DATA / "tiktoken-cache"
    for name in ("o200k_base", "cl100k_base"):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        target = cache / hashlib.sha1(url.encode()).hexdigest()
        if not target.exists():
            cache.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "planner" / "count" / "_encodings" / f"{name}.tiktoken", target)
    return {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)}


def engine_only() -> dict[str, str]:
    """An environment in which batchplan finds no ctok (benchmarks/_no_ctok): the rows that time the
    counting engine with a Claude model among others do not time ctok's exact Claude pass too."""
    paths = [str(HERE / "_no_ctok"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def wall(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(list(cmd), check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    return time.perf_counter() - start, out


def paired(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
    """`rounds` timings of each side, back to back in alternating order."""
    xs: list[float] = []
    ys: list[float] = []
    for i in range(rounds):
        if i % 2:
            ys.append(b())
            xs.append(a())
        else:
            xs.append(a())
            ys.append(b())
    return xs, ys


def ratio_text(ratios: Sequence[float], best: float) -> str:
    return f"{best:.2f}x (min {min(ratios):.2f}, median {statistics.median(ratios):.2f})"


# --- rows with goals ------------------------------------------------------------------------------


def counting_row(fmt: str, size_mb: float, rounds: int) -> Row:
    from count import compare, dataset

    path = dataset(fmt, size_mb)
    r = compare(str(path), fmt, rounds)
    base, ours, shares = r["baseline"], r["batchplan"], r["shares"]
    assert isinstance(base, dict) and isinstance(ours, dict) and isinstance(shares, list)
    name = "JSONL, one model: share of the two-core ceiling" if fmt == "jsonl" else (
        "CSV --text-column: share of the two-core ceiling"
    )
    detail = (
        f"{path.stat().st_size / 1e6:.0f} MB, {int(ours['rows']):,} requests, {int(ours['tokens']):,} tokens "
        f"(identical); best {ours['seconds']:.2f} s vs two plain loops on the halves {r['ceiling_seconds']:.2f} s "
        f"and one plain loop {base['seconds']:.2f} s (speed-up {r['best']:.2f}x, the ceiling's "
        f"{r['ceiling']:.2f}x); CPU {ours['cpu']:.2f} s vs {base['cpu']:.2f} s"
    )
    return name, ratio_text(shares, float(r["share_best"])).replace("x (", " (", 1), "≥ 0.9", detail  # type: ignore[arg-type]


def small_file_row(rounds: int) -> Row:
    from count import dataset

    path = dataset("jsonl", 5)
    env = tiktoken_cache()
    plain = [sys.executable, str(HERE / "_plain.py"), "jsonl", str(path)]
    ours = [*batchplan(), "estimate", str(path), "-m", MODEL, "--output-tokens", "0", "--json"]
    plain_out = json.loads(wall(plain, env)[1])
    our_out = json.loads(wall(ours)[1])["estimates"][0]
    expected = plain_out["tokens"]
    if our_out["input_tokens"] != expected:
        sys.exit(f"MISMATCH on the small file: plain {expected}, batchplan {our_out['input_tokens']}")
    xs, ys = paired(lambda: wall(plain, env)[0], lambda: wall(ours)[0], rounds)
    ratios = [x / y for x, y in zip(xs, ys, strict=True)]
    detail = (
        f"5 MB, {plain_out['rows']:,} requests, {expected:,} tokens (identical); whole processes, best "
        f"{min(xs):.2f} s (plain loop) vs {min(ys):.2f} s (batchplan estimate, tables and all)"
    )
    return "5 MB JSONL, start-up included, vs plain loop", ratio_text(ratios, min(xs) / min(ys)), "", detail


def models_row(size_mb: float, rounds: int) -> list[Row]:
    """Models sharing encodings cost what the models holding the distinct encodings cost."""
    from count import dataset

    path = dataset("jsonl", size_mb)
    base = [*batchplan(), "estimate", str(path), "--output-tokens", "0", "--json"]

    def cmd(models: Sequence[str]) -> list[str]:
        return [*base, *(arg for m in models for arg in ("-m", m))]

    env = engine_only()
    two, four = paired(lambda: wall(cmd(TWO_ENCODINGS), env)[0], lambda: wall(cmd(FOUR), env)[0], rounds)
    one, three = paired(lambda: wall(cmd([MODEL]), env)[0], lambda: wall(cmd(ONE_ENCODING), env)[0], rounds)
    r4 = [f / t for f, t in zip(four, two, strict=True)]
    r3 = [t / o for t, o in zip(three, one, strict=True)]
    return [
        (
            "3 models on one encoding vs the 1 model holding it",
            ratio_text(r3, min(three) / min(one)),
            "≤ 1.1x",
            f"{', '.join(ONE_ENCODING)} (all o200k_base, three counting rules): best {min(three):.2f} s vs "
            f"{MODEL} {min(one):.2f} s ({size_mb:g} MB)",
        ),
        (
            "4 models on 2 encodings vs the 2 models holding them",
            ratio_text(r4, min(four) / min(two)),
            "≤ 1.1x",
            f"{', '.join(FOUR)}: best {min(four):.2f} s vs {' + '.join(TWO_ENCODINGS)} {min(two):.2f} s",
        ),
    ]


def table_rows(rounds: int) -> list[Row]:
    """`check MODEL`, `models --json` and `prices list` start to finish (stdout piped, warm table cache),
    taken in turn; and loading every table in force today, in a fresh process."""
    commands = (["check", MODEL], ["models", "--json"], ["prices", "list"])

    def run(args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([*batchplan(), *args], capture_output=True, cwd=ROOT)  # check exits 1 for a "no"
        return time.perf_counter() - start

    for args in commands:
        run(args)  # fills the table cache
    times: dict[str, list[float]] = {" ".join(args): [] for args in commands}
    for _ in range(rounds):
        for args in commands:
            times[" ".join(args)].append(run(args))
    fastest = " / ".join(f"{min(t) * 1000:.0f}" for t in times.values())
    medians = " / ".join(f"{statistics.median(t) * 1000:.0f}" for t in times.values())
    code = (
        "import time; t=time.perf_counter(); from planner.prices.pricing import load_pricebook; "
        "b=load_pricebook(); print(time.perf_counter()-t, len(b.tables), sum(len(t.models) for t in b.tables.values()))"
    )
    loads = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
        seconds, tables, models = out.stdout.split()
        loads.append(float(seconds))
    return [
        (
            "`check MODEL` / `models --json` / `prices list`, start to finish",
            f"{fastest} ms",
            "",
            f"fastest of {rounds} in turn (medians {medians} ms), piped, warm table cache",
        ),
        ("price-table load", f"{min(loads) * 1000:.0f} ms", "", f"{tables} provider tables, {models} models"),
    ]


def claude_row(size_mb: float, rounds: int) -> Row | None:
    """`estimate -m claude-haiku-4-5` (ctok counts a calibration sample exactly) vs `-m gpt-4o-mini`."""
    try:
        import ctok  # noqa: F401
    except ImportError:
        print("ctok is not installed: skipping the Claude-vs-OpenAI row", file=sys.stderr)
        return None
    path = repeated(size_mb)
    base = [*batchplan(), "estimate", str(path), "--output-tokens", "100", "--json", "-m"]
    gpt, claude = paired(lambda: wall([*base, MODEL])[0], lambda: wall([*base, "claude-haiku-4-5"])[0], rounds)
    label = json.loads(wall([*base, "claude-haiku-4-5"])[1])["estimates"][0]["token_method_label"]
    ratios = [c / g for c, g in zip(claude, gpt, strict=True)]
    return (
        "`estimate -m claude-haiku-4-5` vs `-m gpt-4o-mini` (ctok)",
        ratio_text(ratios, min(claude) / min(gpt)),
        "≤ 3x",
        f"{size_mb:g} MB (repeated text): {min(claude):.2f} s ({label}) vs {min(gpt):.2f} s",
    )


def memory_rows(size_mb: float, big_mb: float) -> list[Row]:
    """The whole tree's memory against the plain loop holding the same distinct encodings."""
    from count import dataset

    small, big = dataset("jsonl", size_mb), dataset("jsonl", big_mb)
    env = tiktoken_cache()
    plain = [sys.executable, str(HERE / "_plain.py"), "jsonl", str(small)]
    plain_pss = {1: peak_memory_mb(plain, env)[0], 2: peak_memory_mb([*plain, "--also", "cl100k_base"], env)[0]}
    rows: list[Row] = []
    for path, models, encodings in ((small, [MODEL], 1), (big, [MODEL], 1), (small, FOUR, 2)):
        cmd = [*batchplan(), "estimate", str(path), "--output-tokens", "0", "--json",
               *(arg for m in models for arg in ("-m", m))]
        pss, largest = peak_memory_mb(cmd, engine_only())
        what = f"{path.stat().st_size / 1e6:.0f} MB, {len(models)} model{'s' * (len(models) > 1)}"
        held = "o200k_base" if encodings == 1 else "o200k_base and cl100k_base"
        rows.append((
            f"memory, whole tree PSS ({what}, {encodings} encoding{'s' * (encodings > 1)})",
            f"{pss:.0f} MB = {pss / plain_pss[encodings]:.2f}x",
            "≤ 1.3x, flat",
            f"plain loop holding {held} {plain_pss[encodings]:.0f} MB ({small.stat().st_size / 1e6:.0f} MB file); "
            f"largest process {largest:.0f} MB",
        ))
    return rows


def peak_memory_mb(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(peak proportional set size of the whole process tree, peak RSS of its largest process), MB.
    PSS splits the pages forked workers share with the parent (the BPE tables) between them, so the
    tree's PSS is what the machine really spends; it is sampled every 20 ms from /proc."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    peak_pss = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # wait4: this command's own rusage
        if pid:
            break
        peak_pss = max(peak_pss, sum(_pss_kb(p) for p in _tree(proc.pid)))
        time.sleep(0.02)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed")
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


# --- repeated-text rows -----------------------------------------------------------------------------


def repeated(size_mb: float) -> Path:
    from _gen import generate

    path = DATA / f"chat-{size_mb:g}mb-seed7.jsonl"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        generate(path, size_mb, 7)
    return path


def sample_row(big_mb: float, sample: int, seeds: int) -> Row:
    path = repeated(big_mb)
    base = [*batchplan(), "estimate", str(path), "-m", MODEL, "--output-tokens", "100", "--json"]
    exact_s, exact_out = wall(base)
    exact = json.loads(exact_out)["estimates"][0]["input_tokens"]
    inside = 0
    sample_s = float("inf")
    for seed in range(seeds):
        seconds, out = wall([*base, "--sample", str(sample), "--seed", str(seed)])
        sample_s = min(sample_s, seconds)
        low, high = json.loads(out)["estimates"][0]["input_tokens_ci95"]
        inside += low <= exact <= high
    detail = (
        f"{big_mb:g} MB: exact {exact_s:.1f} s, sample of {sample:,} {sample_s:.2f} s; the exact total fell "
        f"inside the 95% interval for {inside}/{seeds} seeds"
    )
    return f"`--sample {sample}` vs exact (repeated text)", f"{sample_s / exact_s:.3f} of the time", "", detail


def gpt_claude_row(size_mb: float, rounds: int) -> Row:
    path = repeated(size_mb)
    base = [*batchplan(), "estimate", str(path), "--output-tokens", "100", "--json", "-m", MODEL]
    env = engine_only()
    one, two = paired(lambda: wall(base, env)[0], lambda: wall([*base, "-m", "claude-haiku-4-5"], env)[0], rounds)
    ratios = [t / o for t, o in zip(two, one, strict=True)]
    return (
        "GPT + Claude (one encoding) vs one model (repeated text)",
        ratio_text(ratios, min(two) / min(one)),
        "",
        f"{size_mb:g} MB: best {min(two):.2f} s vs {min(one):.2f} s",
    )


def help_row(rounds: int) -> Row:
    help_s = min(wall([*batchplan(), "--help"])[0] for _ in range(rounds))
    pass_s = min(wall([sys.executable, "-c", "pass"])[0] for _ in range(rounds))
    return "`--help` start-up", f"{help_s * 1000:.0f} ms", "", f"python -c pass {pass_s * 1000:.0f} ms"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.date.today()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per speed row (alternating order)")
    parser.add_argument("--count-mb", type=float, default=26.0, help="unique-text file for the speed rows")
    parser.add_argument("--big-mb", type=float, default=100.0, help="large file: memory and sample rows")
    parser.add_argument("--sample", type=int, default=2000, help="rows drawn in sample mode")
    parser.add_argument("--seeds", type=int, default=5, help="sample-mode seeds for the interval's coverage")
    parser.add_argument("--only", nargs="+", choices=list(ROW_GROUPS), help="run only these groups of rows")
    args = parser.parse_args()

    print(f"machine: {machine()}", flush=True)
    rows: list[Row] = []
    for group in args.only or list(ROW_GROUPS):
        got = ROW_GROUPS[group](args)
        for row in got:
            rows.append(row)
            print(f"  {row[0]}: {row[1]} (goal {row[2] or '-'}); {row[3]}", file=sys.stderr, flush=True)
    print("| benchmark | result | goal | detail |")
    print("| --- | --- | --- | --- |")
    for name, result, goal, detail in rows:
        print(f"| {name} | **{result}** | {goal} | {detail} |")
    print(f"machine after the runs: {machine()}")


ROW_GROUPS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "counting": lambda a: [counting_row("jsonl", a.count_mb, a.rounds), counting_row("csv", a.count_mb, a.rounds)],
    "models": lambda a: models_row(a.count_mb, a.rounds),
    "memory": lambda a: memory_rows(a.count_mb, a.big_mb),
    "small": lambda a: [small_file_row(a.rounds + 2)],
    "tables": lambda a: table_rows(a.rounds * 3),
    "sample": lambda a: [sample_row(a.big_mb, a.sample, a.seeds), gpt_claude_row(a.count_mb, a.rounds)],
    "claude": lambda a: [row] if (row := claude_row(a.count_mb, 3)) else [],
    "help": lambda a: [help_row(a.rounds + 2)],
}


if __name__ == "__main__":
    main()
