"""`batchplan prepare DATA …` writes vendor batch files + manifest; `batchplan validate FILE` checks one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from planner import jsonsafe
from planner.commands._common import (
    AsOfOption,
    JsonOption,
    PricesOption,
    handle_errors,
    parse_date,
    print_json,
)
from planner.commands.estimate import (
    DataArgument,
    FormatOption,
    IdColumnOption,
    OutputRatioOption,
    OutputTokensOption,
    SkipBadOption,
    SystemOption,
    TextColumnOption,
)
from planner.errors import EXIT_CHECK_FAILED, UsageError

#: A template is one prompt, not a dataset: reading stops (with an error) past this size.
TEMPLATE_MAX_BYTES = 1024 * 1024
VENDOR_HELP = "openai|azure|anthropic|gemini|vertex|bedrock|mistral|groq|together|fireworks|xai"


def prepare_command(
    data: DataArgument,
    model: Annotated[str, typer.Option("--model", "-m", help="The model the batch runs on.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for batch-NNNN.jsonl and manifest.json.")],
    vendor: Annotated[str | None, typer.Option("--vendor", help=f"Line format: {VENDOR_HELP}.")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="OpenAI/Azure: chat (default), responses or embeddings.")
    ] = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", help="Azure: your Global-Batch deployment name (body.model).")
    ] = None,
    system: SystemOption = None,
    template: Annotated[
        Path | None, typer.Option("--template", help="Prompt template file; {column} is filled from each row.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Output token cap on every request.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
    body: Annotated[
        str | None, typer.Option("--body", help='Extra request-body fields as a JSON object, e.g. \'{"top_p": 0.9}\'.')
    ] = None,
    format: FormatOption = None,
    text_column: TextColumnOption = None,
    id_column: IdColumnOption = None,
    output_tokens: OutputTokensOption = None,
    output_ratio: OutputRatioOption = None,
    max_requests: Annotated[
        int | None, typer.Option("--max-requests", help="Split into files of at most N requests (≤ vendor limit).")
    ] = None,
    max_bytes: Annotated[
        int | None, typer.Option("--max-bytes", help="Split into files of at most N bytes (≤ vendor limit).")
    ] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Your usage tier, for the ETA (queue waves).")] = None,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    skip_bad: SkipBadOption = False,
    force: Annotated[bool, typer.Option("--force", help="Replace batch files and manifest already in --out.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Write DATA as a vendor's batch input (split under its limits) plus manifest.json with cost and ETA."""
    _prepare(**locals())


@handle_errors
def _prepare(**kw: Any) -> None:
    from planner.batchfiles import prepare
    from planner.options import PrepareOptions

    options = PrepareOptions.of(
        vendor=kw["vendor"], endpoint=kw["endpoint"], deployment=kw["deployment"], system=kw["system"],
        template=_template_text(kw["template"]), template_path=kw["template"], max_tokens=kw["max_tokens"],
        temperature=kw["temperature"], extra_body=_json_object(kw["body"]), format=kw["format"],
        text_column=kw["text_column"], output_tokens=kw["output_tokens"], output_ratio=kw["output_ratio"],
        as_of=parse_date(kw["as_of"]), prices=kw["prices"] or [], tier=kw["tier"], max_requests=kw["max_requests"],
        max_bytes=kw["max_bytes"], skip_bad=kw["skip_bad"], force=kw["force"],
        id_column=kw["id_column"],
    )
    manifest = prepare(kw["data"], kw["model"], kw["out"], options)
    if kw["json_output"]:
        print_json(manifest.model_dump(mode="json"))
        return
    from rich.console import Console
    from rich.table import Table

    from planner.money import usd_display

    def money(value: str | None) -> str:
        from decimal import Decimal

        return "—" if value is None else usd_display(Decimal(value))

    def hours(eta: Any) -> str:
        if eta is None or eta.p50_hours is None:
            return "unknown"
        worst = "no expiry" if eta.worst_hours is None else f"{eta.worst_hours:g}h"
        return f"{eta.p50_hours:g}h / {eta.p90_hours:g}h / {worst}"

    table = Table(title=f"{manifest.vendor} batch files for {manifest.model} in {kw['out']}")
    for col in ("file", "requests", "bytes", "input tokens", "realtime", "batch", "ETA p50/p90/worst"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for f in manifest.files:
        table.add_row(f.name, f"{f.requests:,}", f"{f.bytes:,}", f"{f.input_tokens:,}", money(f.realtime_cost_usd),
                      money(f.batch_cost_usd), hours(f.eta))
    t = manifest.totals
    table.add_row("total", f"{t.requests:,}", f"{t.bytes:,}", f"{t.input_tokens:,}", money(t.realtime_cost_usd),
                  money(t.batch_cost_usd), hours(t.eta), style="bold")
    console = Console()
    console.print(table)
    console.print(f"Output tokens: {manifest.output_assumption['description']}.")
    console.print(f"Prices: {manifest.price_table} ({manifest.resolved_model}), as of {manifest.as_of}.")
    for reason in manifest.reasons:
        console.print(f"[red]✗[/red] {reason}")
    for note in manifest.notes:
        console.print(f"[dim]{note}[/dim]")


def _template_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(TEMPLATE_MAX_BYTES + 1)
        if len(raw) > TEMPLATE_MAX_BYTES:
            raise UsageError(f"--template {path} is over {TEMPLATE_MAX_BYTES:,} bytes; a prompt template is text")
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --template {path}: {exc}") from None


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
    file: Annotated[str, typer.Argument(help="A batch input file (JSONL) to check.")],
    vendor: Annotated[
        str | None, typer.Option("--vendor", help=f"Whose rules: {VENDOR_HELP}. Default: from the lines' shape.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Price/check this model (default: the model in the lines).")
    ] = None,
    output_tokens: OutputTokensOption = None,
    output_ratio: OutputRatioOption = None,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check a batch file against the vendor's rules; list every problem by line; estimate the valid lines.

    Exit 0 when clean, 1 when problems were found, 2 when the file cannot be read.
    """
    _validate(**locals())


@handle_errors
def _validate(**kw: Any) -> None:
    from planner.batchfiles import validate

    result = validate(
        kw["file"], vendor=kw["vendor"], model=kw["model"], output_tokens=kw["output_tokens"],
        output_ratio=kw["output_ratio"], as_of=parse_date(kw["as_of"]), prices=kw["prices"] or [],
    )
    if kw["json_output"]:
        print_json(result.model_dump(mode="json") | {"ok": result.ok})
    else:
        from decimal import Decimal

        from rich.console import Console
        from rich.markup import escape

        from planner.money import usd_display

        console = Console()
        head = f"{result.path}: {result.vendor} batch file, {result.requests:,} request(s), {result.bytes:,} bytes"
        console.print(escape(head))
        for p in result.problems:
            where = f"{result.path}:{p.line}" if p.line is not None else result.path
            console.print(f"[red]✗[/red] {escape(where)}: {escape(p.message)}")
        if result.ok:
            console.print("[green]✓[/green] no problems found")
        else:
            console.print(f"{len(result.problems):,} problem(s); {result.valid_requests:,} valid request(s)")
        e = result.estimate
        if e is not None:
            batch = usd_display(Decimal(e["batch_cost_usd"])) if e["batch_cost_usd"] is not None else "—"
            console.print(
                f"Estimate of the {e['requests']:,} valid request(s) on {e['resolved_model']} ({e['price_table']}): "
                f"{e['input_tokens']:,} input + {e['output_tokens']:,} output tokens; realtime "
                f"{usd_display(Decimal(e['realtime_cost_usd']))}, batch {batch}."
            )
        for note in result.notes:
            console.print(f"[dim]{escape(note)}[/dim]")
    if not result.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare_command)
    app.command("validate")(validate_command)
