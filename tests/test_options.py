"""The estimate's options: one typed object, built from the CLI's flags or the API's keywords, whose
every bad value is a one-line UsageError naming the flag the user typed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.core.errors import UsageError
from planner.plan.options import EstimateOptions, OutputOptions

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
