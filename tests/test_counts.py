"""Pricing counts computed elsewhere (planner.count.counts): a counts file gives the estimate counting would give."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from planner.core.errors import InputError, UsageError
from planner.count.counts import input_column, tokenizer_label
from planner.count.distributed import counter
from planner.plan.estimate import estimate
from planner.prices.pricing import load_pricebook

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "examples" / "tickets.jsonl"
MODELS = ["gpt-4o-mini", "claude-haiku-4-5"]


def write_counts(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return path


def comparable(result: Any) -> list[dict[str, Any]]:
    """What a user reads from an estimate, per model (a relative --deadline's instant moves with the clock;
    `assumptions` name where the counts came from)."""
    out = [e.model_dump(mode="json", exclude={"assumptions"}) for e in result.estimates]
    for e in out:
        if e.get("plan"):
            e["plan"].pop("deadline")
    return out


def test_a_counts_file_prices_exactly_like_counting_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # counts computed elsewhere use the tables' rules: count the data the same way (no ctok recount of Claude)
    monkeypatch.setattr("planner.count.claude_tokens.available", lambda: False)
    rows = counter(MODELS).lines(TICKETS.read_text(encoding="utf-8").splitlines())
    counts = write_counts(tmp_path / "counts.csv", rows)
    kw: dict[str, Any] = {"tier": "tier-3", "deadline": "12h", "rows": 50_000, "output_tokens": 120}
    direct = estimate(TICKETS, MODELS, **kw)
    priced = estimate(counts, MODELS, **kw)
    assert priced.dataset.format == "counts"
    assert comparable(priced) == comparable(direct)  # costs, CIs, turnaround, plan, eligibility, histogram
    assert any("counted elsewhere" in n for n in priced.notes)
    # Claude on its table's approximation, as here without ctok; and the note says how to count it exactly
    assert any("no ctok counts" in a for a in priced.estimates[1].assumptions)


def test_counts_file_outputs_are_used_unless_an_output_option_is_given(tmp_path: Path) -> None:
    c = counter(["gpt-4o-mini"], output_column="output", text_column="instruction")
    records = [json.loads(line) for line in (ROOT / "tests/fixtures/shapes/alpaca.jsonl").read_text().splitlines()]
    counts = write_counts(tmp_path / "counts.csv", c.records(records))
    direct = estimate(ROOT / "tests/fixtures/shapes/alpaca.jsonl", ["gpt-4o-mini"], output_column="output")
    priced = estimate(counts, ["gpt-4o-mini"])
    assert priced.output_assumption.mode == "column" and "counted elsewhere" in priced.output_assumption.description
    assert priced.estimates[0].output_tokens == direct.estimates[0].output_tokens
    fixed = estimate(counts, ["gpt-4o-mini"], output_tokens=10)
    assert fixed.estimates[0].output_tokens == 10 * len(records)


def test_a_generic_input_tokens_column_is_used_for_every_model_and_said_so(tmp_path: Path) -> None:
    counts = write_counts(tmp_path / "c.csv", [{"id": "a", "input_tokens": 100}, {"id": "b", "input_tokens": 300}])
    result = estimate(counts, MODELS, output_tokens=10)
    assert [e.input_tokens for e in result.estimates] == [400, 400]
    assert any("cannot check" in n for n in result.notes)


def test_a_missing_tokenizer_column_names_the_column_the_model_needs(tmp_path: Path) -> None:
    gpt = load_pricebook().resolve("gpt-4o-mini").tokenizer
    counts = write_counts(tmp_path / "c.csv", [{"id": "a", input_column(gpt): 5}])
    assert estimate(counts, ["gpt-4o-mini"], output_tokens=1).estimates[0].input_tokens == 5
    with pytest.raises(InputError) as info:
        estimate(counts, ["gpt-4o-mini", "claude-haiku-4-5"], output_tokens=1)
    claude = load_pricebook().resolve("claude-haiku-4-5").tokenizer
    assert f"input_tokens_{tokenizer_label(claude)}" in info.value.message and "claude-haiku-4-5" in info.value.message


def test_bad_counts_and_unreadable_records_are_named_by_line(tmp_path: Path) -> None:
    gpt = load_pricebook().resolve("gpt-4o-mini").tokenizer
    col = input_column(gpt)
    bad = write_counts(tmp_path / "bad.csv", [{"id": "a", col: 5}, {"id": "b", col: "-3"}])
    with pytest.raises(InputError) as info:
        estimate(bad, ["gpt-4o-mini"], output_tokens=1)
    assert info.value.line == 3 and "whole number" in info.value.message
    rows = counter(["gpt-4o-mini"]).lines(['{"messages": [{"role": "user", "content": "hi"}]}', "{oops"])
    assert rows[1]["error"].startswith("malformed JSON")
    counts = write_counts(tmp_path / "err.csv", rows)
    with pytest.raises(InputError, match="malformed JSON"):
        estimate(counts, ["gpt-4o-mini"], output_tokens=1)
    skipped = estimate(counts, ["gpt-4o-mini"], output_tokens=1, skip_bad=True)
    assert skipped.dataset.counted_requests == 1 and skipped.dataset.skipped.first_lines == [3]


def test_options_that_need_the_requests_are_refused(tmp_path: Path) -> None:
    counts = write_counts(tmp_path / "c.csv", [{"id": "a", "input_tokens": 100}])
    for kw in ({"sample": 1}, {"cache_prefix": "auto"}, {"output_column": "x"}):
        with pytest.raises(UsageError, match="counts file"):
            estimate(counts, ["gpt-4o-mini"], output_tokens=1, **kw) if "output_column" not in kw else estimate(
                counts, ["gpt-4o-mini"], **kw
            )


def test_counts_parquet_and_csv_agree(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = counter(MODELS).lines(TICKETS.read_text(encoding="utf-8").splitlines())
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "counts.parquet", row_group_size=70)
    csv_path = write_counts(tmp_path / "counts.csv", rows)
    parquet = estimate(tmp_path / "counts.parquet", MODELS, output_tokens=100)
    assert comparable(parquet) == comparable(estimate(csv_path, MODELS, output_tokens=100))


def test_a_counts_file_on_a_pipe_is_refused_in_one_line() -> None:
    """A counts file is read twice (its header, then its rows): from a pipe the second read would find
    nothing, so it must be a file, and the error says so instead of a malformed-JSON error on line 1."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "planner", "estimate", "-", "-m", "gpt-4o-mini", "--format", "counts"],
                         input="request_id,o200k_base\nr1,12\n", capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "batchplan: error: --format counts: a counts file is read more than once, so it must be a file, not "
        "standard input; save it to a file first"]


def test_a_counts_file_says_which_parts_were_approximated_as_counting_the_data_does(tmp_path: Path) -> None:
    """#26: a request's structured-output schema is counted by no published rule, so an estimate of it is
    'exact except structured-output schemas'. Counted elsewhere (Spark, Dask), the counts file carries those
    parts' tokens, so the estimate from it says the same, with the same band, instead of 'exact'."""
    fixture = ROOT / "tests/fixtures/real/openai_structured.jsonl"
    real = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines()]
    bodies = [r["body"] for r in real if r.get("api") == "chat"]
    data = tmp_path / "structured.jsonl"
    data.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    rows = counter(["gpt-5-nano"]).lines(data.read_text(encoding="utf-8").splitlines())
    assert any(row["approximated_schema_tokens"] for row in rows)
    counts = write_counts(tmp_path / "counts.csv", rows)
    direct = estimate(data, ["gpt-5-nano"], output_tokens=10).estimates[0]
    priced = estimate(counts, ["gpt-5-nano"], output_tokens=10).estimates[0]
    assert direct.token_method == "approximate" and "structured-output schemas" in direct.token_method_label
    assert (priced.token_method, priced.token_method_label, priced.token_band) == (
        direct.token_method, direct.token_method_label, direct.token_band)
