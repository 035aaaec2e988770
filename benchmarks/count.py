"""Benchmark batchplan's exact counting against the plain single-process tiktoken loop on the same file.

    python benchmarks/count.py                              # 26 MB of unique-text chat JSONL (generated)
    python benchmarks/count.py --format csv                 # 26 MB of CSV, --text-column text
    python benchmarks/count.py --file my.jsonl --rounds 9

Both sides do the full job: read the file, parse every record, count each request with the
openai-cookbook accounting under o200k_base. The baseline is the obvious loop (benchmarks/_plain.py:
json.loads or csv.reader, then encode_ordinary per text); batchplan goes through
`planner.count.counting.count_file`, the engine `estimate` runs (workers read, parse and count their own
blocks; CSV blocks cut where the quotes pair up). Each side runs in a fresh process and is timed from
the moment its code is imported and o200k_base loaded: that start-up does not grow with the file (the
"small file" row of run.py measures it). The two totals must agree exactly, or the benchmark fails.

Shared cores change speed by tens of percent within seconds, so the benchmark runs rounds: each times
both sides back to back (in alternating order), then two plain loops at once, one per core. It prints
the ratio of the fastest runs (timeit's convention: slower runs measure the neighbours), the minimum
and median of the rounds' ratios, and the "ceiling": how much faster two plain loops get through two
files than one through one, the most any two-process counter can get from the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"


def o200k_rule() -> Any:
    """The counting rule of a model on o200k_base with the cookbook's overheads (gpt-4o-mini's)."""
    from planner.prices.pricing import Tokenizer

    return Tokenizer(encoding="o200k_base", method="exact")


def run_batchplan(path: str, fmt: str, workers: int | None, tok: Any) -> tuple[int, int]:
    """The engine `batchplan estimate` runs: workers decode, parse, validate and count."""
    from planner.count.counting import count_file
    from planner.read.datasets import ReadOptions, open_dataset

    options = ReadOptions(text_column="text" if fmt == "csv" else None)
    rows = tokens = 0
    detected, src = open_dataset(path, options)
    with src:
        for counted, errors in count_file(src, detected, options, [tok], workers=workers):
            if errors:
                raise SystemExit(f"{path}:{errors[0][0]}: {errors[0][1]}")
            rows += len(counted)
            tokens += sum(counted.tokens[0])
    return rows, tokens


def child(which: str, path: str, fmt: str, workers: int | None) -> None:
    """Run one side and print its numbers as JSON (called in a fresh process)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    from _plain import csv_loop, jsonl_loop

    from planner.count.encodings import get_encoding

    encode = get_encoding("o200k_base").encode_ordinary  # loading the BPE table is start-up, not counting
    if which == "batchplan":  # so are importing the package and validating the counting rule (pydantic)
        import planner.count.counting
        import planner.read.datasets  # noqa: F401

        tok = o200k_rule()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    if which == "batchplan":
        rows, tokens = run_batchplan(path, fmt, workers, tok)
    elif fmt == "csv":
        rows, tokens = csv_loop(path, encode)
    else:
        rows, tokens = jsonl_loop(path, encode)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime - cpu0
    print(json.dumps({"rows": rows, "tokens": tokens, "seconds": seconds, "cpu": cpu}))


def _command(which: str, path: str, fmt: str, workers: int | None) -> list[str]:
    cmd = [sys.executable, __file__, "--child", which, "--file", path, "--format", fmt]
    return [*cmd, "--workers", str(workers)] if workers is not None else cmd


def measure(which: str, path: str, fmt: str, workers: int | None) -> dict[str, float]:
    out = subprocess.run(_command(which, path, fmt, workers), check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def two_loops_at_once(path: str, fmt: str) -> float:
    """Seconds for two plain loops run at the same time, one per core."""
    cmd = _command("baseline", path, fmt, None)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
    return max(float(json.loads(proc.communicate()[0].strip().splitlines()[-1])["seconds"]) for proc in procs)


def dataset(fmt: str, size_mb: float, seed: int = 7) -> Path:
    """The unique-text file of this size (generated once into benchmarks/.data)."""
    sys.path.insert(0, str(HERE))
    from _gen import generate, generate_csv

    if fmt == "csv":
        target = DATA / f"unique-{size_mb:g}mb-seed{seed}.csv"
        if not target.exists():
            print(f"generating {target} ...", file=sys.stderr, flush=True)
            generate_csv(target, size_mb, seed)
    else:
        target = DATA / f"unique-{size_mb:g}mb-seed{seed}.jsonl"
        if not target.exists():
            print(f"generating {target} ...", file=sys.stderr, flush=True)
            generate(target, size_mb, seed, unique=True)
    return target


def compare(path: str, fmt: str, rounds: int, workers: int | None = None) -> dict[str, object]:
    """Both sides for `rounds` rounds: the figures run.py and this script print."""
    best: dict[str, dict[str, float]] = {}
    ratios: list[float] = []
    together: list[float] = []
    for round_ in range(rounds):
        pair: dict[str, dict[str, float]] = {}
        order = ("baseline", "batchplan") if round_ % 2 == 0 else ("batchplan", "baseline")
        for which in order:
            r = pair[which] = measure(which, path, fmt, workers)
            if which not in best or r["seconds"] < best[which]["seconds"]:
                best[which] = r
        totals = {which: (pair[which]["rows"], pair[which]["tokens"]) for which in pair}
        if totals["baseline"] != totals["batchplan"]:
            sys.exit(f"MISMATCH: baseline {pair['baseline']}, batchplan {pair['batchplan']}")
        ratios.append(pair["baseline"]["seconds"] / pair["batchplan"]["seconds"])
        together.append(two_loops_at_once(path, fmt))
    base, ours = best["baseline"], best["batchplan"]
    return {
        "best": base["seconds"] / ours["seconds"],
        "min": min(ratios),
        "median": statistics.median(ratios),
        "ceiling": 2 * base["seconds"] / min(together),
        "baseline": base,
        "batchplan": ours,
        "rounds": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    parser.add_argument("--size-mb", type=float, default=26.0, help="size of the generated unique-text dataset")
    parser.add_argument("--file", help="count this file instead (JSONL chat/batch lines, or CSV with a 'text' column)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each runs both sides back to back")
    parser.add_argument("--child", choices=["baseline", "batchplan"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        child(args.child, args.file, args.format, args.workers)
        return
    path = args.file or str(dataset(args.format, args.size_mb))
    size = Path(path).stat().st_size
    print(f"file: {path} ({size / 1e6:.1f} MB, {args.format}), {os.cpu_count()} cores")
    r = compare(path, args.format, args.rounds, args.workers)
    base, ours = r["baseline"], r["batchplan"]
    assert isinstance(base, dict) and isinstance(ours, dict)
    print(f"{'':10} {'seconds':>8} {'CPU s':>6} {'rows/s':>10} {'tokens/s':>12} {'MB/s':>7}")
    for name, x in (("baseline", base), ("batchplan", ours)):
        print(
            f"{name:10} {x['seconds']:8.2f} {x['cpu']:6.2f} {x['rows'] / x['seconds']:10,.0f} "
            f"{x['tokens'] / x['seconds']:12,.0f} {size / 1e6 / x['seconds']:7.1f}"
        )
    print(f"rows {int(ours['rows']):,}, tokens {int(ours['tokens']):,} (identical on both sides)")
    print(
        f"speed-up: {r['best']:.2f}x (fastest vs fastest of {args.rounds}); rounds min {r['min']:.2f}x, "
        f"median {r['median']:.2f}x ({', '.join(f'{x:.2f}' for x in r['rounds'])})"  # type: ignore[attr-defined]
    )
    print(f"ceiling: two plain loops at once count {r['ceiling']:.2f}x as fast as one on this machine")
    print(f"load average after the runs: {' '.join(os.getloadavg()[:3].__str__().strip('()').split(', '))}")


if __name__ == "__main__":
    main()
