"""`batchplan report DATA --model M … -o FILE`: the estimate as a report; FILE's suffix picks the form.

.html (self-contained, printable, inline SVG charts), .md (tables), .json (the estimate's data) or .csv
(one row per model). The command takes every `estimate` option: both commands' signatures get the one
declaration of the estimate flags (planner.cli.commands.estimate.with_estimate_flags), so they never drift apart.
`--json` prints what was written as one JSON object instead of a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.commands import estimate as estimate_cmd
from planner.cli.commands._common import AliasOption, handle_errors, print_json
from planner.core.errors import UsageError

FORMS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".json": "json", ".csv": "csv"}

OutputOption = Annotated[
    Path,
    typer.Option(
        "--output", "-o", metavar="FILE", help="Report file: .html, .md, .json or .csv (the suffix picks the form).",
    ),  # (a directory is refused by planner.io.atomic in one line, not by click's usage block)
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")]
ReportJsonOption = Annotated[
    bool, typer.Option("--json", help="Print what was written (path, form, bytes) as JSON instead of a sentence.")
]


def form_of(path: Path) -> str:
    form = FORMS.get(path.suffix.lower())
    if form is None:
        known = ", ".join(sorted({s for s in FORMS if s not in (".htm", ".markdown")}))
        raise UsageError(f"can't tell the report form from '{path.name}': use a file ending in {known}")
    return form


def render(result: Any, form: str, generated: datetime | None = None) -> str:
    """The report text in one of the forms (html, markdown, json, csv)."""
    if form == "html":
        from planner.render.html import render_html

        return render_html(result, generated=generated)
    if form == "markdown":
        from planner.render.markdown import render_markdown

        return render_markdown(result, generated=generated)
    from planner.render.tabular import to_csv, to_json

    return to_json(result) if form == "json" else to_csv(result)


def _declare_inputs(data: str, flags: Mapping[str, Any]) -> None:
    """The files this report reads (the dataset, `--prices` tables, the config and the tables it lists),
    known before the work, so that `-o` naming one of them (or a link to one) is refused at once; the
    way out (planner.io.atomic) refuses them again when it writes, with everything read by then."""
    from planner.io.inputs import declare_inputs
    from planner.store.config import config_path, configured_price_tables

    declare_inputs([data, *(flags.get("prices") or ()), config_path(), *configured_price_tables()])


@handle_errors
def _run(
    data: str, models: list[str], output: Path, force: bool, json_output: bool, flags: Mapping[str, Any]
) -> None:
    from planner.io.atomic import check_destination, write_text

    form = form_of(output)
    options = estimate_cmd.build_options(flags)
    _declare_inputs(data, flags)
    check_destination(output, force=force)  # fail before counting a large dataset, not after
    result = estimate_cmd.run_estimate(data, models, options, show_progress=not json_output)
    generated = datetime.now(UTC).replace(microsecond=0)
    text = render(result, form, generated)
    write_text(output, text, force=force)
    size = output.stat().st_size
    if json_output:
        print_json({"path": str(output), "form": form, "bytes": size, "models": len(result.estimates)})
    else:
        print(f"batchplan: wrote {form} report {output} ({size:,} bytes, {len(result.estimates)} model(s))")
    estimate_cmd.report_skipped(result)
    estimate_cmd.exit_when_nothing_runs(result)


@estimate_cmd.with_estimate_flags
def report_command(
    data: estimate_cmd.DataArgument,
    model: estimate_cmd.ModelOption,
    output: OutputOption,
    force: ForceOption = False,
    json_output: ReportJsonOption = False,
    alias: AliasOption = None,
    **flags: Any,
) -> None:
    """Write the estimate for DATA as a report: .html (charts, printable), .md, .json or .csv."""
    _run(data, model, output, force, json_output, flags)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
