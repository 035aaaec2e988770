"""`batchplan estimate DATA --model M …`: realtime vs batch cost, savings and eligibility per model."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.commands._common import (
    AsOfOption,
    JsonOption,
    PricesOption,
    handle_errors,
    parse_date,
    print_json,
    progress_reporter,
)
from planner.datasets import FORMATS

if TYPE_CHECKING:
    from planner.estimate import Estimate

DataArgument = Annotated[
    str, typer.Argument(metavar="DATA", help="Dataset file (.jsonl, .csv, .tsv, .txt, or .gz of those); - for stdin.")
]
ModelOption = Annotated[
    list[str],
    typer.Option(
        "--model", "-m", metavar="MODEL", help="Model to price (repeatable). Pin a provider with provider/model."
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option("--format", metavar="FORMAT", help=f"Input format, overriding detection: {', '.join(FORMATS)}."),
]
TextColumnOption = Annotated[
    str | None, typer.Option("--text-column", metavar="COL", help="CSV/TSV column holding the prompt.")
]
SystemOption = Annotated[
    str | None,
    typer.Option("--system", metavar="TEXT", help="System prompt added to every request (CSV, TSV, text, chat)."),
]
OutputTokensOption = Annotated[
    int | None, typer.Option("--output-tokens", metavar="N", help="Assume this many output tokens per request.")
]
OutputRatioOption = Annotated[
    float | None, typer.Option("--output-ratio", metavar="R", help="Assume output = R × each request's input tokens.")
]
OutputColumnOption = Annotated[
    str | None, typer.Option("--output-column", metavar="COL", help="CSV/TSV column with real sample outputs to count.")
]
RowsOption = Annotated[
    int | None,
    typer.Option("--rows", metavar="N", help="The full job has N requests: scale the sample to N, with a 95% CI."),
]
SampleOption = Annotated[
    int | None,
    typer.Option(
        "--sample", metavar="K", help="Count a seeded random sample of K rows and estimate the whole file (95% CI)."
    ),
]
SeedOption = Annotated[
    int, typer.Option("--seed", metavar="S", help="Random seed for --sample (same seed, same sample).")
]
CachePrefixOption = Annotated[
    str | None,
    typer.Option(
        "--cache-prefix",
        metavar="auto|N",
        help="Price a cached prompt prefix: 'auto' (a system prompt shared by every request) or N tokens.",
    ),
]
CacheHitRateOption = Annotated[
    float,
    typer.Option("--cache-hit-rate", metavar="R", help="Share of requests after the first that hit the cache (0-1)."),
]
TierOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tier",
        metavar="TIER",
        help="Your usage tier (rate and batch-queue limits): TIER or PROVIDER=TIER. Repeatable.",
    ),
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option("--concurrency", metavar="N", help="Parallel requests you would run realtime (bounds its duration)."),
]
DeadlineOption = Annotated[
    str | None,
    typer.Option(
        "--deadline", metavar="WHEN", help="Must finish within 12h / 90m / 2d, or by an ISO date-time: plan per model."
    ),
]
BudgetOption = Annotated[
    str | None, typer.Option("--budget", metavar="USD", help="Budget in USD: which models and plans fit.")
]
HistoryOption = Annotated[
    bool, typer.Option("--history/--no-history", help="Use observed turnaround from `batchplan history import`.")
]
SkipBadOption = Annotated[
    bool, typer.Option("--skip-bad", help="Skip malformed lines (reported) instead of stopping at the first.")
]


def estimate_command(
    data: DataArgument,
    model: ModelOption,
    output_tokens: OutputTokensOption = None,
    output_ratio: OutputRatioOption = None,
    output_column: OutputColumnOption = None,
    rows: RowsOption = None,
    sample: SampleOption = None,
    seed: SeedOption = 0,
    cache_prefix: CachePrefixOption = None,
    cache_hit_rate: CacheHitRateOption = 1.0,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    format: FormatOption = None,
    text_column: TextColumnOption = None,
    system: SystemOption = None,
    skip_bad: SkipBadOption = False,
    tier: TierOption = None,
    concurrency: ConcurrencyOption = None,
    deadline: DeadlineOption = None,
    budget: BudgetOption = None,
    history: HistoryOption = True,
    json_output: JsonOption = False,
) -> None:
    """Estimate what DATA costs per model, realtime vs batch, and whether each model qualifies for batch."""
    _run(locals())


def estimate_from_options(options: Mapping[str, Any], *, show_progress: bool = True) -> Estimate:
    """Run the estimate API on the command's option values (by parameter name); shared with `report`."""
    from planner.estimate import estimate

    o = options
    with progress_reporter("Counting tokens", enabled=show_progress) as progress:
        return estimate(
            o["data"],
            o["model"],
            output_tokens=o["output_tokens"],
            output_ratio=o["output_ratio"],
            output_column=o["output_column"],
            as_of=parse_date(o["as_of"]),
            format=o["format"],
            text_column=o["text_column"],
            system=o["system"],
            skip_bad=o["skip_bad"],
            prices=o["prices"] or [],
            rows=o["rows"],
            sample=o["sample"],
            seed=o["seed"],
            cache_prefix=o["cache_prefix"],
            cache_hit_rate=o["cache_hit_rate"],
            progress=progress,
            tier=o["tier"] or None,
            concurrency=o["concurrency"],
            deadline=o["deadline"],
            budget=o["budget"],
            use_history=o["history"],
        )


@handle_errors
def _run(options: Mapping[str, Any]) -> None:
    json_output = options["json_output"]
    result = estimate_from_options(options, show_progress=not json_output)
    if json_output:
        print_json(result.model_dump(mode="json"))
    else:
        from planner.render.terminal import render_estimate

        render_estimate(result)
    if result.dataset.skipped.count:
        lines = ", ".join(str(n) for n in result.dataset.skipped.first_lines)
        print(
            f"batchplan: skipped {result.dataset.skipped.count} bad line(s) (first: {lines}); "
            f"first problem: {result.dataset.skipped.first_reasons[0]}",
            file=sys.stderr,
        )


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_command)
