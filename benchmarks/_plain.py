"""The plain loops batchplan is measured against: what a user would write with tiktoken alone.

    python benchmarks/_plain.py jsonl FILE      # json.loads + encode_ordinary, cookbook chat accounting
    python benchmarks/_plain.py csv FILE COLUMN # csv.reader + encode_ordinary of each row's column
    python benchmarks/_plain.py jsonl FILE --also cl100k_base   # holding that encoding too (memory rows)

Run as a script, the whole process is the measurement (start-up included): it imports tiktoken, gets
o200k_base the usual way (`tiktoken.get_encoding`, from a warm cache: benchmarks/run.py fills it with
the encoding batchplan ships) and prints `{"rows", "tokens", "seconds"}` (seconds after the encoding
loaded). batchplan must reach exactly the same totals.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable

Encode = Callable[[str], list[int]]


def jsonl_loop(path: str, encode: Encode) -> tuple[int, int]:
    """Chat JSONL or OpenAI batch lines: 3 per message + role + content (+ name + 1), + 3 priming."""
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


def csv_loop(path: str, encode: Encode, column: str = "text") -> tuple[int, int]:
    """Each row's column as one user message: 3 + 3 + len("user") + the text's tokens."""
    rows = tokens = 0
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        at = next(reader).index(column)
        role = len(encode("user"))
        for row in reader:
            if not row:
                continue
            rows += 1
            tokens += 3 + 3 + role + len(encode(row[at]))
    return rows, tokens


def main() -> None:
    import tiktoken

    args = sys.argv[1:]
    held = []  # further encodings held, as a program counting models of several encodings would
    while "--also" in args:
        at = args.index("--also")
        held.append(tiktoken.get_encoding(args[at + 1]))
        del args[at : at + 2]
    encode = tiktoken.get_encoding("o200k_base").encode_ordinary
    start = time.perf_counter()
    if args[0] == "jsonl":
        rows, tokens = jsonl_loop(args[1], encode)
    else:
        rows, tokens = csv_loop(args[1], encode, args[2] if len(args) > 2 else "text")
    print(json.dumps({"rows": rows, "tokens": tokens, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
