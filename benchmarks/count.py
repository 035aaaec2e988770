"""Benchmark batchplan's exact token counting against a plain single-process tiktoken loop.

    .venv/bin/python benchmarks/count.py                 # generates ~50 MB of chat JSONL (seeded)
    .venv/bin/python benchmarks/count.py --size-mb 200 --workers 2
    .venv/bin/python benchmarks/count.py --file my.jsonl

Both sides do the full job on the same file: read it, parse every line, count each chat request with
the openai-cookbook accounting (3 per message + role + content [+ name + 1], + 3 priming) using
o200k_base `encode_ordinary`. The baseline is the obvious loop (json.loads + encode per text); batchplan
goes through `planner.counting.count_file`, the engine `estimate` runs on JSONL (workers parse and count). Each side
runs in a fresh child process so its peak RSS (ru_maxrss, including worker processes) is its own, and is
timed from the moment its code is imported and o200k_base is loaded: that start-up (~0.3 s for batchplan,
mostly pydantic) does not grow with the file, and counting is what is measured.
The two totals must agree exactly, or the benchmark fails.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"


def run_baseline(path: str) -> tuple[int, int]:
    from planner.encodings import get_encoding

    encode = get_encoding("o200k_base").encode_ordinary
    rows = tokens = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            obj = json.loads(line)
            body = obj.get("body", obj)
            n = 3
            for message in body["messages"]:
                n += 3
                for key, value in message.items():
                    if isinstance(value, str):
                        n += len(encode(value))
                        if key == "name":
                            n += 1
            rows += 1
            tokens += n
    return rows, tokens


def run_batchplan(path: str, workers: int | None, chunk: int) -> tuple[int, int]:
    """The engine `batchplan estimate` runs on a JSONL file: workers decode, parse, validate and count."""
    from planner.counting import count_file
    from planner.datasets import ReadOptions, detect_file_format, open_binary
    from planner.pricing import Tokenizer

    tok = Tokenizer(encoding="o200k_base", method="exact")
    options = ReadOptions()
    fmt = detect_file_format(path, options)
    rows = tokens = 0
    with open_binary(path) as raw:
        for counted, errors in count_file(
            raw, path, fmt, options, [tok], workers=workers, chunk_size=chunk, path=path
        ):
            if errors:
                raise SystemExit(f"{path}:{errors[0][0]}: {errors[0][1]}")
            rows += len(counted)
            tokens += sum(counted.tokens[0])
    return rows, tokens


def child(which: str, path: str, workers: int | None, chunk: int) -> None:
    """Run one side and print its numbers as JSON (called in a fresh process)."""
    sys.path.insert(0, str(ROOT))
    from planner.encodings import get_encoding

    get_encoding("o200k_base")  # loading the BPE table is start-up, not counting
    if which == "batchplan":  # so is importing the package (~0.3 s, mostly pydantic for the price schema)
        import planner.counting  # noqa: F401
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    rows, tokens = run_baseline(path) if which == "baseline" else run_batchplan(path, workers, chunk)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime - cpu0
    print(
        json.dumps(
            {
                "rows": rows,
                "tokens": tokens,
                "seconds": seconds,
                "cpu": cpu,
                "rss_kb": own.ru_maxrss,
                "child_rss_kb": kids.ru_maxrss,
            }
        )
    )


def measure(which: str, path: str, workers: int | None, chunk: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", which, "--file", path, "--chunk", str(chunk)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=50.0, help="size of the generated dataset")
    parser.add_argument("--file", help="count this JSONL file (chat bodies or OpenAI batch lines)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1000, help="requests per chunk sent to a worker")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best is reported")
    parser.add_argument("--child", choices=["baseline", "batchplan"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        child(args.child, args.file, args.workers, args.chunk)
        return
    if args.file:
        path = args.file
    else:
        sys.path.insert(0, str(HERE))
        from _gen import generate

        target = DATA / f"chat-{args.size_mb:g}mb-seed{args.seed}.jsonl"
        if not target.exists():
            print(f"generating {target} ...", flush=True)
            generate(target, args.size_mb, args.seed)
        path = str(target)
    size = Path(path).stat().st_size
    print(f"file: {path} ({size / 1e6:.1f} MB)")

    best: dict[str, dict[str, float]] = {}
    pair_ratios: list[float] = []
    for _ in range(args.repeat):
        # back-to-back pairs: on a shared machine the speed of the cores drifts over minutes
        pair = {}
        for which in ("baseline", "batchplan"):
            r = pair[which] = measure(which, path, args.workers, args.chunk)
            if which not in best or r["seconds"] < best[which]["seconds"]:
                best[which] = r
        pair_ratios.append(pair["baseline"]["seconds"] / pair["batchplan"]["seconds"])
    base, ours = best["baseline"], best["batchplan"]
    if (base["rows"], base["tokens"]) != (ours["rows"], ours["tokens"]):
        sys.exit(f"MISMATCH: baseline {base['rows']} rows/{base['tokens']} tokens, batchplan {ours}")
    print(f"{'':10} {'seconds':>8} {'CPU s':>6} {'rows/s':>10} {'tokens/s':>12} {'MB/s':>7} {'peak RSS MB':>12}")
    for name, r in (("baseline", base), ("batchplan", ours)):
        peak = (r["rss_kb"] + r["child_rss_kb"]) / 1024
        print(
            f"{name:10} {r['seconds']:8.2f} {r['cpu']:6.2f} {r['rows'] / r['seconds']:10,.0f} "
            f"{r['tokens'] / r['seconds']:12,.0f} {size / 1e6 / r['seconds']:7.1f} {peak:12.0f}"
        )
    print("peak RSS = the counting process + its largest worker (ru_maxrss); CPU s includes workers")
    print(f"rows {int(ours['rows']):,}, tokens {int(ours['tokens']):,} (identical on both sides)")
    print(
        f"speed-up: {base['seconds'] / ours['seconds']:.2f}x (best of {args.repeat} each); "
        f"median of back-to-back pairs {statistics.median(pair_ratios):.2f}x "
        f"(pairs: {', '.join(f'{r:.2f}' for r in pair_ratios)})"
    )
    with open("/proc/loadavg") if Path("/proc/loadavg").exists() else open(os.devnull) as handle:
        load = handle.read().split()[:3]
    if load:
        print(f"load average after the runs: {' '.join(load)} (other processes on the cores skew the ratio)")


if __name__ == "__main__":
    main()
