"""`batchplan report DATA --model M … -o FILE`: the estimate as a report; FILE's suffix picks the form.

.html (self-contained, printable, inline SVG charts), .md (tables), .json (the estimate's data) or .csv
(one row per model). The command takes every `estimate` option: its signature is `estimate`'s own,
read with `inspect.signature`, plus `-o/--output` and `--force`, so the two never drift apart.
`--json` prints what was written as one JSON object instead of a sentence.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.commands import estimate as estimate_cmd
from planner.cli.commands._common import handle_errors, print_json
from planner.core.errors import UsageError

FORMS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".json": "json", ".csv": "csv"}

OutputOption = Annotated[
    Path,
    typer.Option(
        "--output", "-o", metavar="FILE", help="Report file: .html, .md, .json or .csv (the suffix picks the form).",
        dir_okay=False,
    ),
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


@handle_errors
def _run(params: dict[str, Any]) -> None:
    from planner.io.atomic import check_destination, write_text

    output: Path = params["output"]
    force: bool = params["force"]
    json_output: bool = params["json_output"]
    form = form_of(output)
    options = estimate_cmd.build_options(**{name: params[name] for name in estimate_cmd.OPTION_NAMES})
    check_destination(output, force=force)  # fail before counting a large dataset, not after
    result = estimate_cmd.run_estimate(params["data"], params["model"], options, show_progress=not json_output)
    generated = datetime.now(UTC).replace(microsecond=0)
    text = render(result, form, generated)
    write_text(output, text, force=force)
    size = output.stat().st_size
    if json_output:
        print_json({"path": str(output), "form": form, "bytes": size, "models": len(result.estimates)})
    else:
        print(f"batchplan: wrote {form} report {output} ({size:,} bytes, {len(result.estimates)} model(s))")
    estimate_cmd.report_skipped(result)


def report_command(**options: Any) -> None:
    """Write the estimate for DATA as a report: .html (charts, printable), .md, .json or .csv."""
    _run(options)


def _signature() -> inspect.Signature:
    base = inspect.signature(estimate_cmd.estimate_command, eval_str=True)
    params = [p for name, p in base.parameters.items() if name not in ("json_output", "verbose")]
    extra = {"output": OutputOption, "force": ForceOption, "json_output": ReportJsonOption}
    # `output` has no default, so it must come before the defaulted options (Python's rule; Typer's order).
    first_default = next(i for i, p in enumerate(params) if p.default is not inspect.Parameter.empty)
    params.insert(first_default, inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, annotation=OutputOption))
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
    params.append(inspect.Parameter("force", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=ForceOption))
    params.append(
        inspect.Parameter("json_output", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=ReportJsonOption)
    )
    assert all(name in {p.name for p in params} for name in extra)
    return base.replace(parameters=params, return_annotation=None)


report_command.__signature__ = _signature()  # type: ignore[attr-defined]
report_command.__annotations__ = {p.name: p.annotation for p in report_command.__signature__.parameters.values()}  # type: ignore[attr-defined]
report_command.__annotations__["return"] = None


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
