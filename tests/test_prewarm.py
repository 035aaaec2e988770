"""Workers started ahead (planner.count.prewarm): the same counts as workers the engine forks itself, the
caller never builds the encoding, the workers are the caller's own children, and no process outlives
the command however it ends. Each case runs in a fresh interpreter (a head start is a fork of the
process that starts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from _cli import batchplan

from planner.count.counting import _Counter
from planner.count.prewarm import plain
from planner.count.tokens import shape_key
from planner.prices.pricing import load_pricebook
from planner.read.datasets import read_requests

ROOT = Path(__file__).resolve().parents[1]


def _subreapers_allowed() -> bool:
    """Whether this system lets a process become a child subreaper (a sandbox may refuse it; the tool
    then forks its own workers, as these tests' CLI cases check). Asked in a throwaway process."""
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0)"
    return sys.platform.startswith("linux") and subprocess.run([sys.executable, "-c", probe]).returncode == 0


linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="head starts are Linux-only (fork)")
head_starts = pytest.mark.skipif(not _subreapers_allowed(), reason="this system refuses a child subreaper")


def jsonl(path: Path, n: int) -> Path:
    """Chat lines with system prompts, names, tool definitions and an image now and then."""
    image = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
             "AAAABJRU5ErkJggg==")  # a 1x1 PNG
    tool = {"type": "function", "function": {"name": "lookup", "description": "Find an order",
                                              "parameters": {"type": "object", "properties": {
                                                  "id": {"type": "string", "description": "order id"},
                                                  "kind": {"type": "string", "enum": ["a", "b"]}}}}}
    lines = []
    for i in range(n):
        user: dict[str, object] = {"role": "user", "content": f"ticket {i}: " + "refund shipping " * (i % 23)}
        if i % 7 == 0:
            user["content"] = [{"type": "text", "text": f"see {i}"}, {"type": "image_url", "image_url": {"url": image}}]
        if i % 5 == 0:
            user["name"] = "customer"
        body: dict[str, object] = {"model": "gpt-4o-mini", "max_tokens": 20,
                                   "messages": [{"role": "system", "content": "Classify. " * (i % 4)}, user]}
        if i % 3 == 0:
            body["tools"] = [tool]
        lines.append(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def every_shipped_tokenizer() -> list[object]:
    book = load_pricebook(date(2026, 12, 1))
    found: dict[str, object] = {}
    for table in book.providers():
        for tok in table.tokenizers.values():
            found.setdefault(tok.model_dump_json(), tok)
    return list(found.values())


def test_plain_copies_of_every_shipped_tokenizer_count_exactly_like_the_originals(tmp_path: Path) -> None:
    """What the workers get: the tokenizer's fields without pydantic. Same shape key, same count of
    every request (text, names, tools, images) under every tokenizer the tables ship."""
    toks = every_shipped_tokenizer()
    assert len(toks) >= 5  # exact and approximate, three chat formats, two encodings
    _, stream = read_requests(str(jsonl(tmp_path / "d.jsonl", 60)))
    requests = list(stream)
    for tok in toks:
        copy = plain(tok)
        assert type(copy).__module__ != "planner.prices.pricing"
        assert shape_key(copy) == shape_key(tok)  # type: ignore[arg-type]
        assert _Counter([copy]).count(requests) == _Counter([tok]).count(requests), tok  # type: ignore[list-item]


def test_the_worker_side_imports_no_pydantic_typer_or_yaml() -> None:
    """A head start builds the encoding while the CLI imports: only if it needs none of that itself."""
    probe = "import sys, planner.count.counting, planner.count.prewarm; print(sorted({m.split('.')[0] for m in sys.modules}))"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded = set(json.loads(out.replace("'", '"')))
    assert not loaded & {"pydantic", "pydantic_core", "typer", "rich", "yaml"}, loaded


ENGINE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from planner.count import counting
    from planner.count import encodings
    from planner.count import prewarm
    from planner.read.datasets import ReadOptions, open_dataset
    from planner.prices.pricing import ImageRule, Tokenizer

    counting.SMALL_BYTES = 200_000  # the pool case without a multi-megabyte file
    started = prewarm.start("estimate")
    toks = [
        Tokenizer(encoding="o200k_base", method="exact",
                  images=ImageRule(kind="tile", base_tokens=85, tile_tokens=170, max_side=2048, short_side=768)),
        Tokenizer(encoding="cl100k_base", method="exact"),
        Tokenizer(encoding="o200k_base", method="approximate", factor="1.2", band="0.1", chat_format="anthropic"),
    ]
    adopted = []
    take = prewarm.take
    def watched(config, workers):
        got = take(config, workers)
        mine = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        adopted.append({"asked": workers, "pids": [p for _, p in got or []], "children": [int(p) for p in mine]})
        return got
    prewarm.take = watched

    def count(workers):
        options = ReadOptions()
        fmt, src = open_dataset(sys.argv[1], options)
        with src:
            chunks = [c for c, _ in counting.count_file(src, fmt, options, toks, workers=workers)]
        return [[t for c in chunks for t in c.tokens[j]] for j in range(len(toks))]

    if sys.argv[3] == "kill":  # the head start dies before it is used: the engine starts its own workers
        import signal
        os.kill(prewarm._started.pid, signal.SIGKILL)
    ahead = count(int(sys.argv[2]))
    built_here = sorted(encodings._cache)
    left = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    prewarm.take = take
    own = count(1)  # no head start any more: counted in this process
    print(json.dumps({"started": started, "ahead": ahead, "own": own, "built_here": built_here,
                      "adopted": adopted, "left": left}))
    """
)


@head_starts
@pytest.mark.parametrize(("lines", "workers"), [(40, 2), (3_000, 2), (3_000, 1)], ids=["small", "pool", "one-worker"])
def test_a_head_start_counts_what_the_engine_counts_and_hands_over_its_workers(
    tmp_path: Path, lines: int, workers: int
) -> None:
    data = jsonl(tmp_path / "d.jsonl", lines)
    script = tmp_path / "engine.py"
    script.write_text(ENGINE)
    env = {**os.environ, "BATCHPLAN_PREWARM": "1", "BATCHPLAN_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, str(script), str(data), str(workers), "keep"], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["started"] is True
    assert got["ahead"] == got["own"] and len(got["ahead"][0]) == lines  # every request, every tokenizer
    assert got["built_here"] == []  # the caller never built an encoding: the head start did, both of them
    (handed,) = got["adopted"]
    assert handed["asked"] == (1 if lines < 100 else workers)  # a small input: one worker, no pool
    assert len(handed["pids"]) == handed["asked"]
    assert set(handed["pids"]) <= set(handed["children"])  # the caller's own children, waited for as such
    assert got["left"] == []  # every worker stopped and reaped once the count was done


REAPER = textwrap.dedent(
    """
    import ctypes, json, os, subprocess, sys, time
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: whatever the tool orphans comes here
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    deadline, orphans = time.monotonic() + 20, set()
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no child left at all
        if pid:
            orphans.add(pid)
        else:
            time.sleep(0.01)
    else:
        orphans.add(-1)  # still running after 20 s
    print(json.dumps({"code": done.returncode, "stderr": done.stderr, "orphans": sorted(orphans)}))
    """
)


@linux
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["estimate", "{missing}", "-m", "gpt-4o-mini"], 2),  # fails before counting anything
        (["estimate", "{data}", "-m", "no-such-model-x"], 2),  # fails after the tables are read
        (["validate", "{data}"], 0),
        (["estimate", "{data}", "-m", "gpt-4o-mini", "--json"], 0),
        (["report", "{data}", "-m", "gpt-4", "-o", "{report}"], 0),
    ],
    ids=["missing-file", "unknown-model", "validate", "estimate", "report"],
)
def test_no_process_outlives_the_command(tmp_path: Path, args: list[str], code: int) -> None:
    """The head start ends with the command whether or not it was used: the command stops and reaps it
    as it exits, so nothing is orphaned (a child subreaper running the tool inherits anything left
    behind, dead or alive)."""
    data = jsonl(tmp_path / "d.jsonl", 50)
    script = tmp_path / "reaper.py"
    script.write_text(REAPER)
    argv = [a.format(missing=tmp_path / "missing.jsonl", data=data, report=tmp_path / "r.html") for a in args]
    env = {**os.environ, "BATCHPLAN_PREWARM": "1"}
    out = subprocess.run([sys.executable, str(script), *batchplan(), *argv], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    got = json.loads(out.stdout)
    assert got["orphans"] == [], got
    assert "Traceback" not in got["stderr"]
    assert got["code"] == code, got["stderr"]


def test_estimates_are_identical_with_and_without_a_head_start(tmp_path: Path) -> None:
    """Three models on two encodings, a small file and one counted by a pool: the same JSON either way."""
    for n in (30, 6_000):
        data = jsonl(tmp_path / f"d{n}.jsonl", n)
        cmd = [*batchplan(), "estimate", str(data), "-m", "gpt-4o-mini", "-m", "gpt-4", "-m", "claude-haiku-4-5",
               "--output-tokens", "20", "--json", "--as-of", "2026-12-01", "--no-history"]
        runs = [subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120,
                               env={**os.environ, "BATCHPLAN_PREWARM": flag}) for flag in ("1", "0")]
        assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
        ahead, own = (json.loads(r.stdout) for r in runs)
        assert ahead == own
        assert ahead["dataset"]["counted_requests"] == n


@head_starts
def test_a_head_start_that_died_is_replaced_by_the_engines_own_workers(tmp_path: Path) -> None:
    """Killed before it is asked (out of memory, by hand): the count is the same, from workers the
    engine forked itself (so this process built the encodings), and nothing is left behind."""
    data = jsonl(tmp_path / "d.jsonl", 3_000)
    script = tmp_path / "engine.py"
    script.write_text(ENGINE)
    env = {**os.environ, "BATCHPLAN_PREWARM": "1", "BATCHPLAN_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, str(script), str(data), "2", "kill"], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["ahead"] == got["own"] and len(got["ahead"][0]) == 3_000
    assert got["adopted"] == [{"asked": 2, "pids": [], "children": []}]  # nothing handed over, no zombie
    assert got["built_here"] == ["cl100k_base", "o200k_base"]
    assert got["left"] == []
