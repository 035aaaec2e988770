"""Sample mode: a seeded random sample estimates the whole file, and the exact total lands in its interval."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from planner.core.errors import UsageError
from planner.plan.estimate import estimate
from planner.prices.pricing import PriceBook
from planner.read.datasets import ReadOptions, count_lines, sample_requests

WORDS = ["the", "order", "shipped", "late", "and", "refund", "never", "arrived", "please", "help", "my", "account"]


def make_file(path: Path, rows: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            n = int(rng.lognormvariate(3.5, 0.8)) + 1
            text = " ".join(rng.choice(WORDS) for _ in range(n))
            f.write(json.dumps({"id": f"r{i}", "messages": [{"role": "user", "content": text}]}) + "\n")
    return path


def test_count_lines_handles_missing_final_newline(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_bytes(b"a\nb\nc")
    assert count_lines(str(p)) == 3
    p.write_bytes(b"a\nb\n")
    assert count_lines(str(p)) == 2
    g = tmp_path / "a.txt.gz"
    g.write_bytes(gzip.compress(b"x\n" * 1000))
    assert count_lines(str(g)) == 1000


def test_sample_is_seeded_and_sized(tmp_path: Path) -> None:
    path = str(make_file(tmp_path / "d.jsonl", 2000))
    fmt, total, reqs = sample_requests(path, 100, seed=3, options=ReadOptions())
    first = [r.id for r in reqs]
    _, _, again = sample_requests(path, 100, seed=3, options=ReadOptions())
    _, _, other = sample_requests(path, 100, seed=4, options=ReadOptions())
    assert fmt == "chat" and total == 2000 and len(first) == 100
    assert first == [r.id for r in again]
    assert first != [r.id for r in other]


def test_exact_total_falls_inside_sample_interval(tmp_path: Path, book: PriceBook) -> None:
    path = make_file(tmp_path / "d.jsonl", 20000)
    exact = estimate(path, ["acme-small"], output_tokens=50, pricebook=book).estimates[0]
    covered = cost_covered = 0
    seeds = range(100)
    for seed in seeds:
        result = estimate(path, ["acme-small"], output_tokens=50, sample=400, seed=seed, pricebook=book)
        e = result.estimates[0]
        assert result.dataset.requests == 20000 and result.dataset.counted_requests == 400
        assert "random sample of 400" in result.scaling
        low, high = e.input_tokens_ci95
        covered += low <= exact.input_tokens <= high
        cost_covered += e.realtime_cost_ci95[0] <= exact.realtime_cost_usd <= e.realtime_cost_ci95[1]
        # the interval is informative: narrower than ±15% of the total
        assert (high - low) / 2 < exact.input_tokens * 0.15
    # A 95% normal-approximation interval on right-skewed request sizes covers a little less than 95%
    # (90 of these 100 seeds, measured); fewer than 85 would mean the interval is too narrow to trust.
    assert covered >= 85 and cost_covered >= 85, (covered, cost_covered)


def test_sample_larger_than_file_is_exact(tmp_path: Path, book: PriceBook) -> None:
    path = make_file(tmp_path / "d.jsonl", 50)
    exact = estimate(path, ["acme-small"], output_tokens=5, pricebook=book).estimates[0]
    sampled = estimate(path, ["acme-small"], output_tokens=5, sample=500, pricebook=book).estimates[0]
    assert sampled.input_tokens == exact.input_tokens
    assert sampled.input_tokens_ci95 == (exact.input_tokens, exact.input_tokens)


def test_csv_sample_uses_records_not_lines(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    rows = "".join(f'{i},"line one\nline two {i}"\n' for i in range(300))
    p.write_text("id,text\n" + rows, encoding="utf-8")
    fmt, total, reqs = sample_requests(str(p), 20, seed=1, options=ReadOptions(text_column="text"))
    got = list(reqs)
    assert fmt == "csv" and total == 300 and len(got) == 20
    assert all(r.body["messages"][0]["content"].startswith("line one\nline two") for r in got)


def test_sample_rejects_zero() -> None:
    with pytest.raises(UsageError):
        sample_requests("whatever.jsonl", 0)


def test_sample_of_standard_input_reads_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input cannot be read twice (count the lines, then read the chosen ones): it is
    reservoir-sampled in one pass, and every line is in the count of rows."""
    import io
    import sys

    data = make_file(tmp_path / "d.jsonl", 500).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    fmt, total, stream = sample_requests("-", 40, seed=3)
    sampled = list(stream)
    assert (fmt, total, len(sampled)) == ("chat", 500, 40)
    assert sorted({r.line for r in sampled}) == [r.line for r in sampled]  # 40 distinct lines, in file order
    assert all(r.id == f"r{r.line - 1}" for r in sampled)
