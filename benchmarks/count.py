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
both sides back to back (in alternating order), then the "ceiling": two plain loops at once, each on
half of the file (cut at a record boundary), the most any two-process counter can get from the machine
in that round. It prints the speed-up over the plain loop and the share of the ceiling reached
(the ceiling's time over batchplan's), as the fastest runs (timeit's convention: slower runs measure
the neighbours) and the minimum and median of the rounds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
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


def two_loops_at_once(halves: tuple[str, str], fmt: str) -> tuple[float, tuple[float, float]]:
    """Seconds for two plain loops run at the same time, one per core, each on one half of the file;
    and their summed (rows, tokens)."""
    procs = [subprocess.Popen(_command("baseline", half, fmt, None), stdout=subprocess.PIPE, text=True, cwd=ROOT)
             for half in halves]
    results = [json.loads(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]
    totals = (sum(r["rows"] for r in results), sum(r["tokens"] for r in results))
    return max(float(r["seconds"]) for r in results), totals


def halves(path: str, fmt: str) -> tuple[str, str]:
    """The file cut in two at a record boundary near its middle (written once into benchmarks/.data):
    what each of the two plain loops of the ceiling counts."""
    src = Path(path)
    stat = src.stat()
    key = hashlib.sha1(f"{src.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    out = [DATA / f"{src.stem}.{key}.half{i}{src.suffix}" for i in (0, 1)]
    if not all(p.exists() for p in out):
        DATA.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            _split_csv(src, out)
        else:
            data = src.read_bytes()
            cut = data.index(b"\n", len(data) // 2) + 1
            out[0].write_bytes(data[:cut])
            out[1].write_bytes(data[cut:])
    return str(out[0]), str(out[1])


def _split_csv(src: Path, out: list[Path]) -> None:
    with open(src, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    middle = len(rows) // 2
    for target, part in zip(out, (rows[:middle], rows[middle:]), strict=True):
        with open(target, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(part)


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
    """Both sides and the ceiling for `rounds` rounds: the figures run.py and this script print."""
    best: dict[str, dict[str, float]] = {}
    ratios: list[float] = []
    shares: list[float] = []
    together: list[float] = []
    parts = halves(path, fmt)
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
        seconds, half_totals = two_loops_at_once(parts, fmt)
        if half_totals != totals["baseline"]:
            sys.exit(f"MISMATCH: the two halves count {half_totals}, the whole file {totals['baseline']}")
        together.append(seconds)
        ratios.append(pair["baseline"]["seconds"] / pair["batchplan"]["seconds"])
        shares.append(seconds / pair["batchplan"]["seconds"])
    base, ours = best["baseline"], best["batchplan"]
    return {
        "best": base["seconds"] / ours["seconds"],
        "min": min(ratios),
        "median": statistics.median(ratios),
        "ceiling": base["seconds"] / min(together),
        "ceiling_seconds": min(together),
        "share_best": min(together) / ours["seconds"],
        "shares": shares,
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
    shares = r["shares"]
    assert isinstance(shares, list)
    print(
        f"ceiling: two plain loops at once, each on half the file, {r['ceiling_seconds']:.2f} s "
        f"({r['ceiling']:.2f}x one loop); batchplan reaches {r['share_best']:.2f} of it (rounds min "
        f"{min(shares):.2f}, median {statistics.median(shares):.2f})"
    )
    print(f"load average after the runs: {' '.join(os.getloadavg()[:3].__str__().strip('()').split(', '))}")


if __name__ == "__main__":
    main()
