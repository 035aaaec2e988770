"""Claude estimates with ctok: exact on small files, calibrated on a sample for large ones, and the measured
coverage of the calibrated band on a skewed dataset (tests/_skew.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from _skew import skewed_rows
from test_claude_tokens import need_ctok

from planner.count import calibration, claude_tokens
from planner.count.tokens import count_requests
from planner.plan.estimate import estimate
from planner.prices.pricing import load_pricebook
from planner.read.datasets import ReadOptions, read_requests

AS_OF = date(2026, 11, 30)


def test_ratio_estimate_is_exact_when_the_sample_is_the_population() -> None:
    ratio, band = calibration.ratio_estimate([12, 24, 36], [10, 20, 30], population=3)
    assert ratio == pytest.approx(1.2) and band == 0.0
    ratio, band = calibration.ratio_estimate([11, 30, 33], [10, 20, 30], population=1000)
    assert ratio == pytest.approx(74 / 60) and band > 0.05


def test_calibrated_band_covers_the_exact_total_on_a_skewed_dataset(write_jsonl: Callable[..., Path]) -> None:
    """Coverage measured over 60 seeds: the exact (ctok) total of the whole file must fall inside the
    reported 95% band in at least 90% of them (measured: 56/60 here, 187/200 = 93.5% over 200 seeds; mean
    band ±1.1%, median error 0.39%)."""
    need_ctok()
    path = write_jsonl(skewed_rows(), "skewed.jsonl")
    r = load_pricebook(AS_OF).resolve("claude-haiku-4-5")
    _, stream = read_requests(str(path), ReadOptions())
    requests = list(stream)
    counter = claude_tokens.counter(r.tokenizer, r.model.id)
    assert counter is not None
    exact_total = sum(counter.count(q).tokens for q in requests)
    approx = count_requests(requests, r.tokenizer)
    covered, errors = 0, []
    for seed in range(60):
        over = calibration.claude_override(r, approx, path=str(path), reader=ReadOptions(), sample=None, seed=seed,
                                           skip_bad=False, exact_tokens=False, text_chars=None)
        assert over is not None and over.method == "calibrated"
        total = sum(over.inputs)
        errors.append(abs(total - exact_total) / exact_total)
        covered += abs(total - exact_total) <= float(over.band) * total
    assert covered >= 54, f"band covered the exact total in {covered}/60 seeds"
    assert sorted(errors)[len(errors) // 2] < 0.006  # median error of the calibrated total
    # the table's approximation alone is off by far more on this data
    assert abs(sum(approx) - exact_total) / exact_total > 0.05


def test_small_file_is_exact_and_large_file_calibrated(write_jsonl: Callable[..., Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    need_ctok()
    rows = skewed_rows(n_short=300, n_md=40, n_code=10)
    path = write_jsonl(rows, "d.jsonl")
    exact = estimate(path, ["claude-haiku-4-5"], output_tokens=10, as_of=AS_OF).estimates[0]
    assert exact.token_method == "exact" and exact.token_band == 0
    monkeypatch.setattr(calibration, "EXACT_MAX_CHARS", 1000)  # the same file, treated as large
    monkeypatch.setattr(calibration, "SAMPLE_CHARS", 80_000)
    cal = estimate(path, ["claude-haiku-4-5"], output_tokens=10, as_of=AS_OF).estimates[0]
    assert cal.token_method == "calibrated" and 0 < cal.token_band < 0.1
    assert abs(cal.input_tokens - exact.input_tokens) <= float(cal.token_band) * cal.input_tokens
    assert "calibrated" in cal.token_method_label and any("sampled" in a for a in cal.assumptions)
    # one band in every field: the interval is the calibrated count ± its band, and holds the exact total
    low, high = cal.input_tokens_ci95
    assert low < cal.input_tokens < high
    assert high - cal.input_tokens == pytest.approx(float(cal.token_band) * cal.input_tokens, abs=1)
    assert low <= exact.input_tokens <= high
    forced = estimate(path, ["claude-haiku-4-5"], output_tokens=10, as_of=AS_OF, exact_tokens=True).estimates[0]
    assert forced.input_tokens == exact.input_tokens and forced.token_method == "exact"


def test_a_sampled_estimate_counts_its_sample_exactly(write_jsonl: Callable[..., Path]) -> None:
    need_ctok()
    path = write_jsonl(skewed_rows(n_short=400, n_md=20, n_code=5), "d.jsonl")
    e = estimate(path, ["claude-haiku-4-5"], output_tokens=0, as_of=AS_OF, sample=50, seed=3).estimates[0]
    assert e.token_method == "exact"
    assert e.input_tokens_ci95[0] < e.input_tokens < e.input_tokens_ci95[1]


def test_requests_in_memory_are_calibrated_like_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare/validate/reconcile: a large batch in memory is calibrated on a sample, not ctok'd in full."""
    need_ctok()
    r = load_pricebook(AS_OF).resolve("claude-haiku-4-5")
    from planner.vendors import get_vendor

    requests = []
    for i, row in enumerate(skewed_rows(n_short=400, n_md=30, n_code=6), 1):
        parsed = get_vendor("anthropic").parse_line(row, i)
        assert parsed.request is not None
        requests.append(parsed.request)
    exact = calibration.in_memory_override(r, requests)
    assert exact is not None and exact.method == "exact"
    monkeypatch.setattr(calibration, "EXACT_MAX_CHARS", 10_000)
    monkeypatch.setattr(calibration, "SAMPLE_CHARS", 60_000)
    cal = calibration.in_memory_override(r, requests)
    assert cal is not None and cal.method == "calibrated" and 0 < cal.band < 0.1
    total, true = sum(cal.inputs), sum(exact.inputs)
    assert abs(total - true) <= float(cal.band) * total
