"""`batchplan estimate DATA --model M …`: realtime vs batch cost, savings and eligibility per model."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.commands._common import (
    AliasOption,
    AsOfOption,
    JsonOption,
    PricesOption,
    VerboseOption,
    handle_errors,
    note,
    parse_date,
    print_json,
    progress_reporter,
    stdout_console,
)
from planner.read.datasets import FORMATS

if TYPE_CHECKING:
    from planner.plan.estimate import Estimate
    from planner.plan.options import EstimateOptions

DataArgument = Annotated[
    str,
    typer.Argument(
        metavar="DATA",
        help="Dataset: .jsonl, .csv, .tsv, .txt (or .gz of those), .parquet/.arrow or a directory of them, a saved "
        "Hugging Face dataset, or a counts file; - for stdin.",
    ),
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
    str | None, typer.Option("--text-column", metavar="COL", help="CSV/TSV/Parquet column holding the prompt.")
]
IdColumnOption = Annotated[
    str | None,
    typer.Option("--id-column", metavar="COL", help="Column (or JSONL field) holding each request's own id."),
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
    str | None,
    typer.Option(
        "--output-column",
        metavar="COL",
        help="Column/field of real sample outputs to count (ShareGPT: conversations).",
    ),
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
ModeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--mode",
        metavar="MODES",
        help="Processing modes to weigh: standard, flex, priority, batch (comma-separated or repeated; default: all).",
    ),
]
SheddableOption = Annotated[
    bool,
    typer.Option(
        "--sheddable/--no-sheddable",
        help="Whether the job tolerates requests refused at peak; --no-sheddable leaves flex out of every plan.",
    ),
]
FlexRefusedOption = Annotated[
    float,
    typer.Option(
        "--flex-refused",
        metavar="SHARE",
        help="Share of flex requests assumed refused at peak and sent again at the standard price (0-1).",
    ),
]
HistoryOption = Annotated[
    bool,
    typer.Option(
        "--history/--no-history",
        help="Learn from your history: observed turnaround, and the outputs and token ratios of reconciled batches.",
    ),
]
ExactTokensOption = Annotated[
    bool,
    typer.Option(
        "--exact-tokens", help="Count every request with the exact engine (ctok for Claude), not a calibrated sample."
    ),
]
SkipBadOption = Annotated[
    bool, typer.Option("--skip-bad", help="Skip malformed lines (reported) instead of stopping at the first.")
]


def estimate_flags(
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
    id_column: IdColumnOption = None,
    system: SystemOption = None,
    skip_bad: SkipBadOption = False,
    tier: TierOption = None,
    concurrency: ConcurrencyOption = None,
    deadline: DeadlineOption = None,
    budget: BudgetOption = None,
    mode: ModeOption = None,
    sheddable: SheddableOption = True,
    flex_refused: FlexRefusedOption = 0.2,
    use_history: HistoryOption = True,
    exact_tokens: ExactTokensOption = False,
) -> None:
    """The flags of `estimate` and `report` that make their EstimateOptions, declared once, as a signature
    (Typer reads a command's options from its signature). Each parameter is named after the
    EstimateOptions keyword it fills (planner.plan.options.FLAT); tests/test_options.py checks the two agree."""


#: The parameters `with_estimate_flags` adds to a command.
FLAGS = tuple(inspect.signature(estimate_flags, eval_str=True).parameters.values())


def with_estimate_flags(command: Callable[..., None]) -> Callable[..., None]:
    """`command` as Typer sees it: its own parameters, with the estimate flags where `**flags` stands.

    The flags go before the command's first parameter with a default (`estimate`: after DATA and --model;
    `report`: after -o), so that `--help` lists them in the same place for both."""
    own = inspect.signature(command, eval_str=True)
    params = [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = next(i for i, p in enumerate(params) if p.default is not inspect.Parameter.empty)
    params[at:at] = FLAGS
    command.__signature__ = own.replace(parameters=params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {**{p.name: p.annotation for p in params}, "return": None}
    return command


@with_estimate_flags
def estimate_command(
    data: DataArgument,
    model: ModelOption,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    alias: AliasOption = None,
    **flags: Any,
) -> None:
    """Estimate what DATA costs per model, realtime vs batch, and whether each model qualifies for batch.

    Opens with the answer: what to do, what it costs and by when, against --deadline and --budget.
    Exit 1 when no model asked about can run the job (e.g. retired); the answer says why.
    """
    _run(data, model, flags, json_output, verbose)


def build_options(flags: Mapping[str, Any]) -> EstimateOptions:
    """The typed options of `estimate` and `report`, from their flags; a bad value is a UsageError."""
    from planner.plan.options import EstimateOptions

    given = {p.name: flags[p.name] for p in FLAGS}
    return EstimateOptions.of(**{**given, "as_of": parse_date(given["as_of"])})


def run_estimate(data: str, models: list[str], options: EstimateOptions, *, show_progress: bool = True) -> Estimate:
    """The estimate API with a progress line on a terminal (shared with `report`)."""
    from planner.plan.estimate import estimate

    with progress_reporter("Counting tokens", enabled=show_progress) as progress:
        return estimate(data, models, options, progress=progress)


@handle_errors
def _run(data: str, models: list[str], flags: Mapping[str, Any], json_output: bool, verbose: bool = False) -> None:
    result = run_estimate(data, models, build_options(flags), show_progress=not json_output)
    if json_output:
        print_json(result.model_dump(mode="json"))
    else:
        from planner.render.terminal import estimate_notes, render_estimate

        render_estimate(result, stdout_console(), verbose=verbose)
        sys.stdout.flush()
        for kind, text in estimate_notes(result):
            note(text, kind=kind)
    report_skipped(result)
    exit_when_nothing_runs(result)


def exit_when_nothing_runs(result: Estimate) -> None:
    """Exit 1 when no model asked about can run the job (retired, not released, too long): the answer
    says why; like `check` on such a model (docs/names.md, "Retired models")."""
    from planner.core.errors import EXIT_CHECK_FAILED

    if result.recommendation is not None and result.recommendation.status == "nothing_runs":
        raise typer.Exit(EXIT_CHECK_FAILED)


def report_skipped(result: Estimate) -> None:
    """One stderr line saying how many bad lines `--skip-bad` passed over, and the first problem."""
    if result.dataset.skipped.count:
        lines = ", ".join(str(n) for n in result.dataset.skipped.first_lines)
        note(
            f"skipped {result.dataset.skipped.count} bad line(s) (first: {lines}); "
            f"first problem: {result.dataset.skipped.first_reasons[0]}",
            kind="",
        )


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_command)
