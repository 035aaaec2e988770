"""The estimate's options: one typed object, built from the CLI's flags or the API's keywords, whose
every bad value is a one-line UsageError naming the flag the user typed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from planner.cli.commands import estimate as estimate_cmd
from planner.cli.main import app
from planner.core.errors import UsageError
from planner.plan.options import FLAT, EstimateOptions, OutputOptions

runner = CliRunner()


def test_flat_keywords_land_in_their_groups() -> None:
    o = EstimateOptions.of(output_tokens=150, rows=10_000, tier="tier-3", budget="$1,200", cache_prefix="auto")
    assert o.output.tokens == 150
    assert o.sampling.rows == 10_000
    assert o.timing.tier == ("tier-3",)
    assert o.timing.budget == Decimal("1200")
    assert o.cache.prefix == "auto"


def test_the_output_column_is_read_with_the_rows() -> None:
    o = EstimateOptions.of(output_column="answer", text_column="q")
    assert o.reader.output_column == "answer" and o.reader.text_column == "q"


@pytest.mark.parametrize(
    ("flat", "message"),
    [
        ({"rows": 0}, "--rows must be 1 or more"),
        ({"rows": 10**30}, "--rows must be at most 1,000,000,000,000,000"),
        ({"cache_hit_rate": 1.5}, "--cache-hit-rate must be at most 1"),
        ({"output_ratio": float("nan")}, "--output-ratio must be a finite number"),
        ({"output_tokens": 5, "output_ratio": 1.0}, "use only one of --output-tokens, --output-ratio"),
        ({"cache_prefix": "lots"}, "--cache-prefix 'lots' must be auto, none, or a number of tokens"),
        ({"concurrency": 0}, "--concurrency must be 1 or more"),
        ({"budget": "-5"}, "--budget '-5' must be an amount above zero"),
        ({"outptu_tokens": 5}, "unknown estimate option 'outptu_tokens'"),
    ],
)
def test_bad_values_name_the_flag(flat: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        EstimateOptions.of(**flat)
    assert message in str(info.value)


def test_one_group_validates_alone() -> None:
    with pytest.raises(UsageError, match="--output-tokens must be 0 or more"):
        OutputOptions.make(tokens=-1)


def test_the_cli_reports_a_bad_option_in_one_line_before_reading_the_data() -> None:
    result = runner.invoke(app, ["estimate", "no-such-file.jsonl", "-m", "gpt-4o-mini", "--rows", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "batchplan: error: --rows must be 1 or more"


#: Keywords of the API that no flag sets (the CLI keeps their default).
API_ONLY = {"latency_s"}

#: A value other than the default for every flag of `estimate` and `report`.
GIVEN: dict[str, list[str]] = {
    "output_tokens": ["--output-tokens", "7"],
    "output_ratio": ["--output-ratio", "0.5"],
    "output_column": ["--output-column", "answer"],
    "rows": ["--rows", "1000"],
    "sample": ["--sample", "10"],
    "seed": ["--seed", "3"],
    "cache_prefix": ["--cache-prefix", "auto"],
    "cache_hit_rate": ["--cache-hit-rate", "0.5"],
    "as_of": ["--as-of", "2026-01-01"],
    "prices": ["--prices", "mine.yaml"],
    "format": ["--format", "csv"],
    "text_column": ["--text-column", "q"],
    "id_column": ["--id-column", "key"],
    "system": ["--system", "Be brief."],
    "skip_bad": ["--skip-bad"],
    "tier": ["--tier", "tier-1"],
    "concurrency": ["--concurrency", "4"],
    "deadline": ["--deadline", "12h"],
    "budget": ["--budget", "5"],
    "mode": ["--mode", "flex,batch"],
    "sheddable": ["--no-sheddable"],
    "flex_refused": ["--flex-refused", "0.05"],
    "use_history": ["--no-history"],
    "exact_tokens": ["--exact-tokens"],
}


def test_every_flag_fills_an_option_and_every_option_has_a_flag() -> None:
    assert {p.name for p in estimate_cmd.FLAGS} == set(FLAT) - API_ONLY


@pytest.mark.parametrize("command", ["estimate", "report"])
def test_every_flag_reaches_its_own_option(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(GIVEN) == {p.name for p in estimate_cmd.FLAGS}  # a new flag needs a value here
    seen: list[EstimateOptions] = []

    def run_estimate(data: str, models: list[str], options: EstimateOptions, *, show_progress: bool = True) -> None:
        seen.append(options)
        raise typer.Exit(0)

    monkeypatch.setattr(estimate_cmd, "run_estimate", run_estimate)
    report = ["-o", str(tmp_path / "r.html")] if command == "report" else []
    base = [command, "data.jsonl", "-m", "gpt-4o-mini", *report]

    def field(options: EstimateOptions, keyword: str) -> object:
        group, name = FLAT[keyword]
        return getattr(getattr(options, group) if group else options, name)

    assert runner.invoke(app, base).exit_code == 0
    default = seen.pop()
    for keyword, args in GIVEN.items():
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 0, (keyword, result.stderr)
        assert field(seen.pop(), keyword) != field(default, keyword), keyword
