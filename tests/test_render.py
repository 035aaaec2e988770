"""What people see: the estimate (and every other table) on a terminal at 80 and 120 columns and piped.

The issue's scenario (tests/_reviews.py: 10,000 reviews, four models, `--deadline 12h --budget 300`) is
rendered through Rich's console capture at each width and through the CLI with stdout piped. Every model
id, money cell and verdict must appear whole on one line, no line may be wider than the terminal, nothing
is ellipsised, and piped output carries no box drawing and no escape codes. The answer comes first.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from _reviews import MODELS, args, write_reviews
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from planner.cli.main import app
from planner.core.money import usd_display
from planner.plan.estimate import Estimate, estimate
from planner.render import cells
from planner.render.layout import Col, Grid, print_grid
from planner.render.terminal import render_estimate

runner = CliRunner()
BOX = re.compile(r"[─━│┃┌┐└┘├┤┬┴┼╭╮╯╰═║╇╈┡┩]")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ACME = str(Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml")


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_reviews(tmp_path_factory.mktemp("reviews") / "reviews.jsonl")


@pytest.fixture(scope="module")
def scenario(reviews: Path, tmp_path_factory: pytest.TempPathFactory) -> Estimate:
    """The scenario through the API, as `estimate` computes it for the CLI."""
    return estimate(
        reviews, MODELS, output_tokens=200, deadline="12h", budget="300", as_of=date(2026, 12, 1), use_history=False
    )


def rendered(result: Estimate, width: int | None, *, verbose: bool = False) -> str:
    """The estimate as a terminal of `width` columns shows it (None: piped to a file)."""
    buf = io.StringIO()
    if width is None:
        console = Console(file=buf, force_terminal=False, soft_wrap=True, highlight=False)
    else:
        console = Console(file=buf, width=width, force_terminal=True, color_system=None, highlight=False)
    render_estimate(result, console, verbose=verbose)
    return buf.getvalue()


def decision_cells(result: Estimate) -> list[str]:
    """Every cell a decision needs: model ids, realtime/batch/saved money, verdicts."""
    rec = cells.recommendation_of(result)
    out = []
    for e, v in zip(result.estimates, rec.verdicts, strict=True):
        out += [cells.name_of(e), cells.realtime_cell(e), cells.batch_cell(e), cells.saved_cell(e)]
        out.append(cells.verdict_word(v))
    return [c for c in out if c != "—"]


def whole_on_a_line(text: str, cell: str) -> bool:
    return any(cell in line for line in text.splitlines())


@pytest.mark.parametrize("width", [80, 120, None], ids=["80-columns", "120-columns", "piped"])
def test_nothing_a_decision_needs_is_cut(scenario: Estimate, width: int | None) -> None:
    text = rendered(scenario, width)
    assert "…" not in text
    for cell in decision_cells(scenario):
        assert whole_on_a_line(text, cell), (width, cell)
    if width is not None:
        too_wide = [line for line in text.splitlines() if cell_len(line) > width]
        assert too_wide == [], too_wide
    else:
        assert not BOX.search(text) and not ANSI.search(text)
        table = text.split("\nModel ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
        # piped: one full row per model, every cell of it on that row
        for e, line in zip(scenario.estimates, table, strict=True):
            assert line.startswith(cells.name_of(e))
            assert cells.realtime_cell(e) in line and cells.batch_cell(e) in line and f"{e.input_tokens:,}" in line


def test_the_answer_comes_first_and_agrees_with_the_plan(scenario: Estimate) -> None:
    text = rendered(scenario, 80)
    rec = scenario.recommendation
    assert rec is not None and rec.status == "fits"
    first = text.split("Model", 1)[0]
    # the headline and one verdict per model come before the table and the assumptions
    assert "Cheapest that meets the 12 h deadline and the $300.00 budget" in " ".join(first.split())
    for v in rec.verdicts:
        assert v.name in first
    assert text.index("Assumptions") > text.index("Model")
    # the pick is the cheapest plan that the per-model plans say meets both limits
    planned = [(e.plan.cost_usd, e) for e in scenario.estimates
               if e.plan is not None and e.plan.choice in ("batch", "realtime", "split") and e.plan.within_budget]
    cost, best = min(planned, key=lambda x: x[0])
    assert rec.name == cells.name_of(best) and rec.choice is not None and rec.choice.cost_usd == cost
    assert rec.choice.plan == best.plan.choice if best.plan else False


def test_approximate_costs_carry_their_band_and_counts_are_in_full(scenario: Estimate) -> None:
    text = rendered(scenario, 120)
    # Claude is counted with ctok where it is installed (calibrated on this file): take a model counted
    # by the table's approximation
    claude = next(e for e in scenario.estimates if e.token_method == "approximate")
    assert re.search(r"≈\$[\d,.]+ ±\d+%", cells.realtime_cell(claude))
    assert cells.realtime_cell(claude) in text
    assert f"{claude.input_tokens:,}" in text  # 1,004,355, never 1.0M or 1,000.0K
    assert not re.search(r"\d[KMB]\b", text)


def test_sources_are_footnotes_and_verbose_has_everything(scenario: Estimate) -> None:
    short = rendered(scenario, None)
    full = rendered(scenario, None, verbose=True)
    assumptions = short.split("Assumptions", 1)[1].split("Sources", 1)[0]
    assert "https://" not in assumptions and "[1]" in assumptions
    assert re.search(r"^  \[1\] https://", short, re.M)
    assert len(short.splitlines()) < len(full.splitlines())
    assert "batch turnaround figures:" in full and "batch turnaround figures:" not in short


def test_nothing_fits_says_so_and_names_the_closest(reviews: Path) -> None:
    result = estimate(reviews, MODELS, output_tokens=200, deadline="12h", budget="300", rows=2_000_000,
                      as_of=date(2026, 12, 1), use_history=False)
    rec = result.recommendation
    assert rec is not None and rec.status in ("nothing_fits", "unknown")
    assert rec.headline.startswith("Nothing is known to meet the 12 h deadline and the $300.00 budget. Closest:")
    assert rec.choice is not None and rec.choice.late_by_hours is not None and rec.choice.late_by_hours > 0
    assert f"{rec.choice.late_by_hours:.1f}".removesuffix(".0") + " h late" in rec.headline
    text = rendered(result, 80)
    assert "Cheapest" not in text  # nothing is recommended as if it fitted


def test_a_model_that_cannot_run_is_never_recommended(reviews: Path) -> None:
    # claude-2 is retired: cheaper than nothing, it must not be offered even realtime
    result = estimate(reviews, ["claude-2"], output_tokens=200, as_of=date(2026, 12, 1), use_history=False)
    rec = result.recommendation
    assert rec is not None and rec.status == "nothing_runs" and rec.choice is None
    assert "retired on" in rec.headline
    e = result.estimates[0]
    assert e.cannot_run and cells.realtime_cell(e) == "—" and cells.batch_cell(e) == "—"
    text = rendered(result, 80)
    assert "cannot run" in text and "Savings with batch" not in text


def test_json_carries_the_recommendation(reviews: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["estimate", *args(reviews), "--json"], env={"BATCHPLAN_HOME": str(tmp_path)})
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    rec = doc["recommendation"]
    assert rec["status"] == "fits" and rec["name"] == "openai/gpt-4o-mini" and rec["choice"]["plan"] == "batch"
    assert isinstance(rec["choice"]["cost_usd"], str) and [v["model"] for v in rec["verdicts"]] == list(MODELS)
    assert rec["budget_usd"] == "300.000000" and rec["deadline_hours"] == pytest.approx(12)


def test_cli_piped_puts_notes_on_stderr_and_quiet_silences_them(reviews: Path, tmp_path: Path) -> None:
    env = {"BATCHPLAN_HOME": str(tmp_path)}
    res = runner.invoke(app, ["estimate", *args(reviews)], env=env)
    assert res.exit_code == 0, res.stderr
    assert "batchplan: warning:" in res.stderr and "batchplan: note:" in res.stderr
    assert "batchplan:" not in res.stdout
    assert not BOX.search(res.stdout) and not ANSI.search(res.stdout)
    quiet = runner.invoke(app, ["estimate", *args(reviews), "--quiet"], env=env)
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == res.stdout
    before = runner.invoke(app, ["-q", "estimate", *args(reviews)], env=env)
    assert before.exit_code == 0 and before.stderr == ""


@pytest.mark.parametrize("width", [80, 120])
def test_cli_on_a_terminal_fits_the_width(reviews: Path, tmp_path: Path, width: int) -> None:
    # FORCE_COLOR makes Rich treat the captured stdout as a terminal of COLUMNS columns
    env = {"BATCHPLAN_HOME": str(tmp_path), "FORCE_COLOR": "1", "COLUMNS": str(width), "NO_COLOR": "1"}
    res = runner.invoke(app, ["estimate", *args(reviews)], env=env)
    assert res.exit_code == 0, res.stderr
    text = ANSI.sub("", res.stdout)
    assert BOX.search(text)  # a terminal gets Rich tables
    assert max(cell_len(line) for line in text.splitlines()) <= width
    for m in ("openai/gpt-4o-mini", "anthropic/claude-sonnet-5-5", "google/gemini-2.5-flash", "openai/gpt-6-sol"):
        assert whole_on_a_line(text, m)
    assert not re.search(r"\x1b\[3\dm", res.stdout)  # NO_COLOR: no colours (bold may stay)
    colour = runner.invoke(app, ["estimate", *args(reviews)], env=env | {"NO_COLOR": ""})
    assert re.search(r"\x1b\[[0-9;]*3\dm", colour.stdout)
    plain = runner.invoke(app, ["--no-color", "estimate", *args(reviews)], env=env | {"NO_COLOR": ""})
    assert not re.search(r"\x1b\[[0-9;]*3\dm", plain.stdout)


# --- the fitter itself ------------------------------------------------------------------------


def _grid() -> Grid:
    grid = Grid([Col("Model", key=True), Col("Realtime", "right"), Col("Batch", "right"), Col("Verdict"),
                 Col("Context", "right", drop=True)], title="t")
    grid.add("bedrock/regional.anthropic.claude-sonnet-4-5-20250929-v1:0", "≈$12,345.67 ±15%", "$6,172.84", "✓ batch",
             "200,000")
    grid.add("openai/gpt-4o-mini", "$1.30", "$0.6525", "✗ over budget", "128,000")
    return grid


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_grid_stacks_drops_or_blocks_but_never_cuts(width: int) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, color_system=None)
    print_grid(console, _grid())
    text = buf.getvalue()
    for row in _grid().rows:
        for cell in row[:4]:
            assert whole_on_a_line(text, str(cell)) or cell_len(str(cell)) + 2 > width, (width, cell)
    assert "…" not in text
    if width >= 100:
        assert "Context" in text
    if width == 80:
        assert "Not shown at 80 columns: Context" in text


def test_grid_piped_is_plain_full_rows() -> None:
    buf = io.StringIO()
    print_grid(Console(file=buf, force_terminal=False, soft_wrap=True), _grid())
    lines = buf.getvalue().splitlines()
    assert lines[1].split() == ["Model", "Realtime", "Batch", "Verdict", "Context"]
    assert lines[2].startswith("bedrock/regional.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert "≈$12,345.67 ±15%" in lines[2] and lines[2].endswith("200,000")
    assert not BOX.search(buf.getvalue())


# --- every other command's tables --------------------------------------------------------------


def _terminal(argv: list[str], width: int, tmp_path: Path) -> str:
    env = {"BATCHPLAN_HOME": str(tmp_path), "FORCE_COLOR": "1", "COLUMNS": str(width), "NO_COLOR": "1"}
    res = runner.invoke(app, argv, env=env)
    assert res.exit_code in (0, 1), (argv, res.stderr)
    return ANSI.sub("", res.stdout)


@pytest.mark.parametrize("width", [80, 120, None], ids=["80-columns", "120-columns", "piped"])
@pytest.mark.parametrize(
    ("argv", "ids"),
    [
        (["models", "--provider", "bedrock", "--as-of", "2026-12-01"], "bedrock-models"),
        (["models", "--provider", "google", "--as-of", "2026-12-01"], "google-models"),
        (["prices", "show", "anthropic", "--as-of", "2026-12-01"], "anthropic-table"),
        (["prices", "list"], "providers"),
    ],
    ids=["models-bedrock", "models-google", "prices-show", "prices-list"],
)
def test_listings_never_cut_an_id(argv: list[str], ids: str, width: int | None, tmp_path: Path) -> None:
    if width is None:
        res = runner.invoke(app, argv, env={"BATCHPLAN_HOME": str(tmp_path)})
        assert res.exit_code == 0, res.stderr
        text = res.stdout
        assert not BOX.search(text) and not ANSI.search(text)
    else:
        text = _terminal(argv, width, tmp_path)
        assert max(cell_len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    if argv[0] == "models":
        doc = json.loads(runner.invoke(app, [*argv, "--json"]).stdout)
        for m in doc["models"]:
            assert re.search(rf"(^|\s){re.escape(m['model'])}(\s|$)", text, re.M), (width, m["model"])
    elif argv[1] == "show":
        doc = json.loads(runner.invoke(app, [*argv, "--json"]).stdout)
        for m in doc["models"]:
            assert re.search(rf"(^|\s){re.escape(m['id'])}(\s|$)", text, re.M), (width, m["id"])
    else:
        for provider in json.loads(runner.invoke(app, [*argv, "--json"]).stdout):
            assert re.search(rf"^{provider}\s", text, re.M)


@pytest.mark.parametrize("width", [80, None])
def test_prepare_validate_and_history_tables(
    width: int | None, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": f"hello {i}"}], "max_tokens": 20} for i in range(5)])
    out = tmp_path / "out"
    prepare = ["prepare", str(data), "-m", "acme-small", "--vendor", "openai", "-o", str(out), "--prices", ACME,
               "--as-of", "2026-03-01", "--max-requests", "2"]
    validate = ["validate", str(out / "batch-0001.jsonl", ), "--prices", ACME, "--as-of", "2026-03-01"]
    for argv in ([*prepare, "--force"], validate):
        if width is None:
            res = runner.invoke(app, argv, env={"BATCHPLAN_HOME": str(tmp_path)})
            assert res.exit_code == 0, res.stderr
            text = res.stdout
            assert not BOX.search(text)
        else:
            text = _terminal(argv, width, tmp_path)
            assert max(cell_len(line) for line in text.splitlines()) <= width
        assert "…" not in text
    assert "batch-0003.jsonl" in text or "no problems found" in text


def test_history_import_of_a_wrong_file_is_summarised(tmp_path: Path) -> None:
    wrong = tmp_path / "reviews.jsonl"
    write_reviews(wrong, n=2_000)
    res = runner.invoke(app, ["history", "import", str(wrong)], env={"BATCHPLAN_HOME": str(tmp_path)})
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) <= 11, len(lines)
    assert re.search(r"… and 1,990 more skipped", lines[-1])
    assert "2000 skipped" in res.stdout or "2,000 skipped" in res.stdout


# --- a real terminal: tmux at 80 columns ------------------------------------------------------------

TMUX = shutil.which("tmux")


@pytest.mark.skipif(TMUX is None and not os.environ.get("CI"), reason="tmux not installed")
def test_real_terminal_at_80_columns(reviews: Path, tmp_path: Path) -> None:
    """`batchplan estimate` in a real 80-column terminal (a tmux pane): every decision cell whole."""
    assert TMUX is not None, "tmux is missing in CI: install Debian's tmux package"
    exe = Path(sys.executable).parent / "batchplan"
    cmd = " ".join(shlex.quote(a) for a in [str(exe), "estimate", *args(reviews)])
    socket = f"batchplan-test-{os.getpid()}"
    env = f"env -i PATH=/usr/bin:/bin HOME={shlex.quote(str(tmp_path))} BATCHPLAN_HOME={shlex.quote(str(tmp_path))}"
    tmux = [TMUX, "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-s", "t", "-x", "80", "-y", "400",
                    f"{env} TERM=xterm-256color {cmd} 2>/dev/null; echo __DONE__; sleep 120"], check=True)
    try:
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline:
            text = subprocess.run([*tmux, "capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-"],
                                  capture_output=True, text=True, check=True).stdout
            if "__DONE__" in text:
                break
            time.sleep(0.3)
        assert "__DONE__" in text, text[-2000:]
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    text = text.split("__DONE__", 1)[0]
    assert "Model" in text and "Assumptions" in text, text
    assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= 80
    result = estimate(reviews, MODELS, output_tokens=200, deadline="12h", budget="300", as_of=date(2026, 12, 1),
                      use_history=False)
    for cell in decision_cells(result):
        assert whole_on_a_line(text, cell), cell
    assert "…" not in text


def test_validate_lists_the_first_problems_then_counts(tmp_path: Path) -> None:
    bad = tmp_path / "batch.jsonl"
    bad.write_text("".join('{"method": "POST", "url": "/v1/chat/completions", "body": {}}\n' for _ in range(300)))
    res = runner.invoke(app, ["validate", str(bad), "--vendor", "openai"], env={"BATCHPLAN_HOME": str(tmp_path)})
    assert res.exit_code == 1
    problems = [line for line in res.stdout.splitlines() if line.startswith("✗ ")]
    assert 1 <= len(problems) <= 20
    assert re.search(r"^… and [\d,]+ more problem\(s\) \(-v or --json lists every one\)$", res.stdout, re.M)
    doc = json.loads(runner.invoke(app, ["validate", str(bad), "--vendor", "openai", "--json"]).stdout)
    assert len(doc["problems"]) >= 300


# --- processing modes (#25) and one story per saving (#28) ------------------------------------------

MODECO = Path(__file__).parent / "fixtures" / "pricing" / "modeco" / "2026-01-01.yaml"
TICKETS = str(Path(__file__).resolve().parents[1] / "examples" / "tickets.jsonl")


@pytest.fixture(scope="module")
def four_modes() -> Estimate:
    """A model sold in all four modes, one without flex or priority, and gpt-4o-mini (standard and batch):
    against 6 h, flex wins because batch's p90 (8 h) misses."""
    return estimate(TICKETS, ["modeco-one", "modeco-lite", "gpt-4o-mini"], output_tokens=150, rows=200_000,
                    deadline="6h", as_of="2026-12-01", prices=[MODECO], use_history=False)


def _mode_rows(result: Estimate) -> list[tuple[str, str, list[str]]]:
    rec = cells.recommendation_of(result)
    return [(cells.name_of(e), name, [cells.mode_cost_cell(m), cells.mode_time_cell(m),
                                      cells.mode_verdict_cell(m, rec.deadline_hours, rec.budget_usd)])
            for e in result.estimates for name, m in e.modes.items()]


@pytest.mark.parametrize("width", [80, 120, None], ids=["80-columns", "120-columns", "piped"])
def test_every_mode_of_every_model_is_shown_whole(four_modes: Estimate, width: int | None) -> None:
    text = rendered(four_modes, width)
    modes = text.split("Processing modes", 1)[1].split("Assumptions", 1)[0]
    assert "…" not in text
    if width is not None:
        assert [line for line in text.splitlines() if cell_len(line) > width] == []
    lines = modes.splitlines()
    for name, mode, row in _mode_rows(four_modes):
        # each mode on one line with its cost (and band), its time and its verdict, whole; at 80 columns
        # the columns may stack into a further part, which names the mode again on each of its lines
        mine = [line for line in lines if re.match(rf"\s*{mode}\s", line.removeprefix(name))]
        if width == 80:
            assert all(any(c in line for line in mine) for c in row), (name, mode, row)
        else:
            assert any(all(c in line for c in row) for line in mine), (width, name, mode, row)
    # the model's name once (in each stacked part), on its first mode
    parts = sum(line.startswith("Model ") for line in lines)
    for e in four_modes.estimates:
        assert sum(line.startswith(cells.name_of(e) + " ") for line in lines) == parts
    assert "✓ flex" in text and "≈$" in modes and "✗ late" in modes
    assert "not offered for lite models" in modes or "not offered" in modes
    if width is None:
        assert not BOX.search(text) and not ANSI.search(text)
        assert "Time judged on" in modes and "p90 of 1 wave(s)" in modes  # piped: every column, full rows


def test_flex_refusals_and_vendor_targets_are_stated(four_modes: Estimate) -> None:
    text = " ".join(rendered(four_modes, 80).split())
    assert ("Flex: 20% of requests assumed refused at peak and re-sent at standard (--flex-refused)") in text
    assert "the vendor's latency target (up to 15 min per request) is a target, not a promise" in text
    assert "† the vendor's target" in text and "8 h †" in text  # batch's p90 rests on the vendor's window
    full = rendered(four_modes, None, verbose=True)
    assert 'modeco/modeco-one: flex (service_tier: "flex"): price derived: 50% off standard' in full
    assert "modeco/modeco-lite: flex: not offered for lite models" in full


def test_models_sold_only_standard_and_batch_read_as_before(reviews: Path) -> None:
    # Claude Haiku 4.5 has no fast mode and Anthropic no flex: its output is what it was before modes
    plain = estimate(reviews, ["claude-haiku-4-5"], output_tokens=200, deadline="12h", as_of=date(2026, 12, 1),
                     use_history=False)
    assert not cells.shows_modes(plain)
    text = rendered(plain, 80)
    assert "Processing modes" not in text and "Flex:" not in text
    narrowed = estimate(reviews, ["gpt-4o-mini"], output_tokens=200, as_of=date(2026, 12, 1), use_history=False,
                        mode=("standard", "batch"))
    assert cells.shows_modes(narrowed)  # --mode asks for the modes table, even of these two
    listed = rendered(narrowed, None).split("Processing modes", 1)[1].split("† the vendor", 1)[0]
    assert "standard" in listed and "batch" in listed and "flex" not in listed
    asked = estimate(TICKETS, ["modeco-one"], output_tokens=150, rows=1000, as_of="2026-12-01", prices=[MODECO],
                     use_history=False, mode=("flex", "batch"))
    text = rendered(asked, None)
    assert "Processing modes" in text and "priority" not in text.split("Processing modes", 1)[1].split("†")[0]


def test_the_saving_shown_is_the_plans_and_all_batch_is_labelled(four_modes: Estimate) -> None:
    """#28: 'Saved' and the savings bars told the all-batch saving while the plan saved less."""
    rec = four_modes.recommendation
    assert rec is not None and rec.choice is not None and rec.choice.plan == "flex"
    one = four_modes.estimates[0]
    assert rec.saving_usd is not None and one.savings_usd is not None and rec.saving_usd < one.savings_usd
    plan = f"{usd_display(rec.saving_usd)} ({rec.saving_usd / one.realtime_cost_usd * 100:.0f}%)"
    for width in (80, None):
        text = rendered(four_modes, width)
        table = text.split("Savings of", 1)[0]
        assert "Plan saves" in table and "All batch saves" in table and "Saved " not in table
        row = next(line for line in table.splitlines() if line.startswith("modeco/modeco-one") and "$" in line
                   and plan in line)
        assert cells.saved_cell(one) in row or width == 80  # at 80 columns the part may stack
        bars = text.split("Savings of each model's plan, against all realtime", 1)[1].split("\n\n", 1)[0]
        assert f"{plan}, flex" in bars and f"all batch instead: {cells.saved_cell(one)}" in bars


@pytest.mark.parametrize(
    ("plan", "share", "split_with", "word"),
    [("flex", 0.0, None, "✓ flex"), ("priority", 0.0, None, "✓ priority"), ("split", 0.03, "flex", "✓ split 3% +flex"),
     ("split", 0.03, "standard", "✓ split 3%"), ("split", 0.5, None, "✓ split 50%")],
)
def test_verdict_cells_name_every_plan(plan: str, share: float, split_with: str | None, word: str) -> None:
    from decimal import Decimal

    from planner.plan.results import Choice, Verdict

    choice = Choice(plan=plan, batch_share=share, split_with=split_with, cost_usd=Decimal(1), cost_low_usd=Decimal(1),
                    cost_high_usd=Decimal(1), hours=1.0, meets_deadline=True, within_budget=None)
    v = Verdict(model="m", name="p/m", status="fits", choice=choice, reasons=[], batch_eligible=True, text="")
    assert cells.verdict_word(v) == word
