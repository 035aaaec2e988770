"""`batchplan prepare DATA …` writes vendor batch files + manifest; `batchplan validate FILE` checks one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.commands._common import (
    ENDPOINT_HELP,
    FIRST_PROBLEMS,
    VENDOR_ALIASES,
    VENDOR_HELP,
    AliasOption,
    AsOfOption,
    JsonOption,
    PricesOption,
    VerboseOption,
    handle_errors,
    note,
    parse_date,
    print_json,
    stdout_console,
)
from planner.cli.commands.estimate import (
    DataArgument,
    FormatOption,
    IdColumnOption,
    OutputRatioOption,
    OutputTokensOption,
    SkipBadOption,
    SystemOption,
    TextColumnOption,
)
from planner.core import jsonsafe
from planner.core.errors import EXIT_CHECK_FAILED, UsageError

if TYPE_CHECKING:
    from planner.batch.manifest import Eta, Manifest
    from planner.batch.validate import Validation

#: A template is one prompt, not a dataset: reading stops (with an error) past this size.
TEMPLATE_MAX_BYTES = 1024 * 1024


def vendor_name(value: str | None) -> str | None:
    """The vendor's canonical name (its provider id, e.g. google), accepting the aliases (gemini)."""
    if value is None:
        return None
    key = value.strip().lower()
    return VENDOR_ALIASES.get(key, key)


def _line_vendor(value: str | None) -> str | None:
    """The name planner.vendors knows the vendor's line format by (`google` → `gemini`)."""
    from planner.batch.pricing import PROVIDER_VENDOR

    name = vendor_name(value)
    return PROVIDER_VENDOR.get(name, name) if name is not None else None


def _shown(vendor: str) -> str:
    """A vendor as the output names it: its price table's provider id (`gemini` → `google`)."""
    from planner.vendors import get_vendor

    return get_vendor(vendor).provider


OutputDirOption = Annotated[
    Path | None, typer.Option("--output", "-o", metavar="DIR", help="Directory for batch-NNNN.jsonl and manifest.json.")
]
LineVendorOption = Annotated[
    str | None, typer.Option("--vendor", metavar="VENDOR", help=f"Line format: {VENDOR_HELP}.")
]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint", metavar="ENDPOINT", help=f"OpenAI/Azure: {ENDPOINT_HELP}; default chat.")
]
DeploymentOption = Annotated[
    str | None,
    typer.Option("--deployment", metavar="NAME", help="Azure: your Global-Batch deployment name (body.model)."),
]
TemplateOption = Annotated[
    Path | None,
    typer.Option("--template", metavar="FILE", help="Prompt template file; {column} is filled from each row."),
]
MaxTokensOption = Annotated[
    int | None, typer.Option("--max-tokens", metavar="N", help="Output token cap on every request.")
]
TemperatureOption = Annotated[float | None, typer.Option("--temperature", metavar="T", help="Sampling temperature.")]
BodyOption = Annotated[
    str | None,
    typer.Option("--body", metavar="JSON", help='Extra request-body fields as a JSON object, e.g. \'{"top_p": 0.9}\'.'),
]
MaxRequestsOption = Annotated[
    int | None,
    typer.Option("--max-requests", metavar="N", help="Split into files of at most N requests (≤ vendor limit)."),
]
MaxBytesOption = Annotated[
    int | None,
    typer.Option("--max-bytes", metavar="N", help="Split into files of at most N bytes (≤ vendor limit)."),
]
TierOption = Annotated[
    str | None, typer.Option("--tier", metavar="TIER", help="Your usage tier, for the ETA (queue waves).")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace batch files and manifest already in --output.")]
OldOutOption = Annotated[Path | None, typer.Option("--out", hidden=True, help="Old name of --output.")]


def prepare_command(
    data: DataArgument,
    model: Annotated[str, typer.Option("--model", "-m", metavar="MODEL", help="The model the batch runs on.")],
    output: OutputDirOption = None,
    vendor: LineVendorOption = None,
    endpoint: EndpointOption = None,
    deployment: DeploymentOption = None,
    system: SystemOption = None,
    template: TemplateOption = None,
    max_tokens: MaxTokensOption = None,
    temperature: TemperatureOption = None,
    body: BodyOption = None,
    format: FormatOption = None,
    text_column: TextColumnOption = None,
    id_column: IdColumnOption = None,
    output_tokens: OutputTokensOption = None,
    output_ratio: OutputRatioOption = None,
    max_requests: MaxRequestsOption = None,
    max_bytes: MaxBytesOption = None,
    tier: TierOption = None,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    skip_bad: SkipBadOption = False,
    force: ForceOption = False,
    json_output: JsonOption = False,
    out: OldOutOption = None,
    alias: AliasOption = None,
) -> None:
    """Write DATA as a vendor's batch input (split under its limits) plus manifest.json with cost and ETA.

    Exit 1 when the model cannot run them as a batch (retired, no batch API: the ✗ lines say why).
    """
    _prepare(**locals())


def _declare_inputs(kw: dict[str, Any]) -> None:
    """The files prepare reads, known before the work: none of them may be replaced or removed in -o
    (a `--prices` table kept there and named like a batch file), `--force` or not."""
    from planner.io.inputs import declare_inputs
    from planner.store.config import config_path, configured_price_tables

    declare_inputs([kw["data"], kw["template"], *(kw["prices"] or ()), config_path(), *configured_price_tables()])


@handle_errors
def _prepare(**kw: Any) -> None:
    from planner.batch.prepare import prepare
    from planner.plan.options import PrepareOptions

    if kw["output"] is not None and kw["out"] is not None and kw["output"] != kw["out"]:
        raise UsageError("give the directory once: -o/--output DIR")
    outdir = kw["output"] or kw["out"]
    if outdir is None:
        raise UsageError("say where to write the batch files: -o/--output DIR")
    options = PrepareOptions.of(
        vendor=_line_vendor(kw["vendor"]), endpoint=kw["endpoint"], deployment=kw["deployment"],
        system=kw["system"], template=_template_text(kw["template"]), template_path=kw["template"],
        max_tokens=kw["max_tokens"], temperature=kw["temperature"], extra_body=_json_object(kw["body"]),
        format=kw["format"], text_column=kw["text_column"], output_tokens=kw["output_tokens"],
        output_ratio=kw["output_ratio"], as_of=parse_date(kw["as_of"]), prices=kw["prices"] or [], tier=kw["tier"],
        max_requests=kw["max_requests"], max_bytes=kw["max_bytes"], skip_bad=kw["skip_bad"], force=kw["force"],
        id_column=kw["id_column"],
    )
    _declare_inputs(kw)
    manifest = prepare(kw["data"], kw["model"], outdir, options)
    if kw["json_output"]:
        print_json(manifest.model_dump(mode="json"))
    else:
        _show_manifest(manifest, outdir)
    if manifest.reasons:  # written, but the model cannot run them as a batch (✗ says why): as `check`
        raise typer.Exit(EXIT_CHECK_FAILED)


def _money(value: str | None) -> str:
    from decimal import Decimal

    from planner.core.money import usd_display

    return "—" if value is None else usd_display(Decimal(value))


def _eta(e: Eta | None) -> str:
    from planner.core.units import duration

    if e is None or e.p50_hours is None:
        return "unknown"
    worst = "no expiry" if e.worst_hours is None else duration(e.worst_hours)
    return f"{duration(e.p50_hours)} / {duration(e.p90_hours)} / {worst}"


def _show_manifest(manifest: Manifest, outdir: Path) -> None:
    """The human form: one row per file and the total, then the assumptions, reasons and notes."""
    from rich.text import Text

    from planner.core.units import count
    from planner.render.layout import Col, Grid, print_grid

    grid = Grid(
        [
            Col("File", key=True), Col("Requests", "right"), Col("Bytes", "right"), Col("Input tokens", "right"),
            Col("Realtime", "right"), Col("Batch", "right"), Col("ETA p50 / p90 / worst", "right"),
        ],
        title=f"{_shown(manifest.vendor)} batch files for {manifest.model} in {outdir}",
    )
    for f in manifest.files:
        grid.add(f.name, count(f.requests), count(f.bytes), count(f.input_tokens), _money(f.realtime_cost_usd),
                 _money(f.batch_cost_usd), _eta(f.eta))
    t = manifest.totals
    grid.add(Text("total", style="bold"), count(t.requests), count(t.bytes), count(t.input_tokens),
             _money(t.realtime_cost_usd), _money(t.batch_cost_usd), _eta(t.eta))
    console = stdout_console()
    print_grid(console, grid)
    console.print(Text(f"Output tokens: {manifest.output_assumption['description']}."))
    console.print(Text(f"Prices: {manifest.price_table} ({manifest.resolved_model}), as of {manifest.as_of}."))
    for reason in manifest.reasons:
        console.print(Text(f"✗ {reason}", style="red"))
    for n in manifest.notes:
        note(n)


def _template_text(path: Path | None) -> str | None:
    if path is None:
        return None
    from planner.io.inputs import read_small

    raw = read_small(path, "prompt template", limit=TEMPLATE_MAX_BYTES, error=UsageError)  # once, bounded
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--template {path} is not UTF-8 text") from None


def _json_object(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = jsonsafe.loads(text)
    except jsonsafe.NumberError as exc:
        raise UsageError(f"--body: {exc}; vendors reject such numbers") from None
    except (ValueError, RecursionError) as exc:
        why = exc if isinstance(exc, ValueError) else "nested too deeply"
        raise UsageError(f"--body is not valid JSON: {why}") from None
    if not isinstance(value, dict):
        raise UsageError("--body must be a JSON object of extra request-body fields")
    return value


def validate_command(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A batch input file (JSONL) to check.")],
    vendor: Annotated[
        str | None,
        typer.Option("--vendor", metavar="VENDOR", help=f"Whose rules: {VENDOR_HELP}. Default: from the lines' shape."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", metavar="MODEL",
                     help="Price/check this model (default: the model in the lines)."),
    ] = None,
    output_tokens: OutputTokensOption = None,
    output_ratio: OutputRatioOption = None,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    alias: AliasOption = None,
) -> None:
    """Check a batch file against the vendor's rules; list every problem by line; estimate the valid lines.

    Exit 0 when clean, 1 when problems were found, 2 when the file cannot be read.
    """
    _validate(**locals())


@handle_errors
def _validate(**kw: Any) -> None:
    from planner.batch.validate import validate

    result = validate(
        kw["file"], vendor=_line_vendor(kw["vendor"]), model=kw["model"], output_tokens=kw["output_tokens"],
        output_ratio=kw["output_ratio"], as_of=parse_date(kw["as_of"]), prices=kw["prices"] or [],
    )
    if kw["json_output"]:
        print_json(result.model_dump(mode="json") | {"ok": result.ok})
    else:
        _show_validation(result, verbose=kw["verbose"])
    if not result.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _show_validation(result: Validation, *, verbose: bool = False) -> None:
    """The human form: the file, its first problems by line (every one with -v), the verdict, the
    estimate (and, with -v, what its output tokens assume) and the notes."""
    from rich.text import Text

    console = stdout_console()
    vendor = _shown(result.vendor)
    console.print(Text(f"{result.path}: {vendor} batch file, {result.requests:,} request(s), {result.bytes:,} bytes"))
    shown = result.problems if verbose else result.problems[: FIRST_PROBLEMS * 2]
    for p in shown:
        where = f"{result.path}:{p.line}" if p.line is not None else result.path
        console.print(Text(f"✗ {where}: {p.message}", style="red"), soft_wrap=not console.is_terminal)
    if len(result.problems) > len(shown):
        more = len(result.problems) - len(shown)
        console.print(Text(f"… and {more:,} more problem(s) (-v or --json lists every one)"))
    if result.ok:
        console.print(Text("✓ no problems found", style="green"))
    else:
        console.print(Text(f"{len(result.problems):,} problem(s); {result.valid_requests:,} valid request(s)"))
    e = result.estimate
    if e is not None:
        console.print(Text(
            f"Estimate of the {e['requests']:,} valid request(s) on {e['resolved_model']} ({e['price_table']}): "
            f"{e['input_tokens']:,} input + {e['output_tokens']:,} output tokens; realtime "
            f"{_money(e['realtime_cost_usd'])}, batch {_money(e['batch_cost_usd'])}."
        ))
        if verbose:
            console.print(Text(f"  output tokens: {e['output_assumption']['description']}"))
    for n in result.notes:
        note(n)


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare_command)
    app.command("validate")(validate_command)
