"""Deadlines and budgets: parsing, batch/realtime fit, the cheapest plan (incl. a split), CLI blocks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from test_turnaround import make_table, run
from typer.testing import CliRunner

from planner.cli.main import app
from planner.core.errors import UsageError
from planner.plan.deadline import parse_budget, parse_deadline
from planner.plan.modes import plan_for
from planner.plan.timing import tier_for

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.mark.parametrize(("text", "hours"), [("12h", 12), ("90m", 1.5), ("2d", 48), ("1.5 hours", 1.5), ("1w", 168)])
def test_parse_durations(text: str, hours: float) -> None:
    d = parse_deadline(text, now=NOW)
    assert d.hours == pytest.approx(hours)
    assert d.at == NOW + timedelta(hours=hours)


def test_parse_iso() -> None:
    assert parse_deadline("2026-11-26T12:00Z", now=NOW).hours == pytest.approx(24)
    assert parse_deadline("2026-11-25T18:00:00+00:00", now=NOW).hours == pytest.approx(6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "neither a duration"),
        ("12x", "neither a duration"),
        ("0h", "future"),
        ("2026-11-01T00:00Z", "in the past"),
    ],
)
def test_parse_deadline_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as exc:
        parse_deadline(text, now=NOW)
    assert "\n" not in str(exc.value)


def test_parse_budget() -> None:
    assert parse_budget("$1,200.50") == Decimal("1200.50")
    for bad in ("abc", "0", "-5", "nan"):
        with pytest.raises(UsageError):
            parse_budget(bad)


def test_tier_for() -> None:
    assert tier_for("openai", ["anthropic=build", "tier-2"]) == "tier-2"
    assert tier_for("anthropic", ["anthropic=build", "tier-2"]) == "build"
    assert tier_for("x", None) is None


RT, BATCH = Decimal("100"), Decimal("50")


def test_loose_deadline_picks_all_batch() -> None:
    t = run(make_table(), tier="tier-3")  # 2 waves: p90 12 h; realtime 1.5 h
    p = plan_for(t, realtime_cost=RT, batch_cost=BATCH, deadline=parse_deadline("2d", now=NOW))
    assert (p.batch_fits, p.realtime_fits, p.choice) == (True, True, "batch")
    assert p.cost_usd == BATCH and p.batch_share == 1.0


def test_tight_deadline_picks_realtime() -> None:
    t = run(make_table(), tier="tier-3")
    p = plan_for(t, realtime_cost=RT, batch_cost=BATCH, deadline=parse_deadline("4h", now=NOW))
    assert (p.batch_fits, p.realtime_fits, p.choice) == (False, True, "realtime")
    assert p.cost_usd == RT


def test_split_when_part_of_the_batch_fits() -> None:
    # tier-1: 100 waves of p90 6 h (+3 min to create 100 batches); realtime 6 h. Within 24 h: 3 waves
    # of batch (18 h), the other 97% realtime (5.8 h).
    t = run(make_table(), tier="tier-1")
    p = plan_for(t, realtime_cost=RT, batch_cost=BATCH, deadline=parse_deadline("24h", now=NOW))
    assert p.batch_fits is False and p.realtime_fits is True
    assert p.choice == "split"
    assert p.batch_share == pytest.approx(0.03)
    assert p.cost_usd == Decimal("0.03") * BATCH + Decimal("0.97") * RT
    assert isinstance(p.cost_usd, Decimal)
    assert "split: 3% batch" in p.summary


def test_nothing_fits() -> None:
    t = run(make_table(), tier="tier-1")
    p = plan_for(t, realtime_cost=RT, batch_cost=BATCH, deadline=parse_deadline("2h", now=NOW))
    assert p.choice == "none" and p.cost_usd is None
    assert "nothing" in p.summary


def test_unknown_limits_are_not_a_yes() -> None:
    t = run(make_table(), tier="enterprise")
    p = plan_for(t, realtime_cost=RT, batch_cost=BATCH, deadline=parse_deadline("30h", now=NOW))
    assert p.realtime_fits is None
    assert p.choice == "batch"  # one wave of p90 6 h is known to fit


def test_budget_only() -> None:
    t = run(make_table(), tier="tier-3")
    p = plan_for(t, realtime_cost=RT, batch_cost=BATCH, budget=Decimal("60"))
    assert p.choice == "batch" and p.within_budget is True
    p = plan_for(t, realtime_cost=RT, batch_cost=None, budget=Decimal("60"))
    assert p.choice == "realtime" and p.within_budget is False
    assert "over the $60.00 budget" in p.summary


# ---------------------------------------------------------------------------------------------
# Through the CLI, on a user table with tiers and turnaround figures.


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    data = make_table("acme").model_dump(mode="json", exclude_none=True)
    data["models"][0]["id"] = "acme-small"
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def chat(i: int) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": f"hello number {i}"}], "max_tokens": 300}


def test_cli_150m_tokens_at_tier1_shows_waves_and_batch_slower(
    table_file: Path, write_jsonl: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    # 10 requests of ~1,500 input tokens, scaled to 100,000 requests (150M input tokens).
    path = write_jsonl([{"messages": [{"role": "user", "content": "word " * 1490}], "max_tokens": 300}] * 10)
    args = [
        "estimate",
        str(path),
        "-m",
        "acme-small",
        "--prices",
        str(table_file),
        "--as-of",
        "2026-03-01",
        "--rows",
        "100000",
        "--tier",
        "tier-1",
        "--deadline",
        "24h",
        "--budget",
        "900",
    ]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.stderr
    e = json.loads(res.stdout)["estimates"][0]
    batch, realtime = e["turnaround"]["batch"], e["turnaround"]["realtime"]
    for key in ("files", "waves", "p50_hours", "p90_hours", "worst_hours"):
        assert key in batch
    assert 95 <= batch["waves"] <= 105
    assert realtime["bound_by"] == "tpm" and realtime["hours"] < batch["p50_hours"]
    assert e["plan"]["choice"] in ("split", "realtime", "none")
    assert isinstance(e["plan"]["cost_usd"], (str, type(None)))
    human = runner.invoke(app, args)
    assert human.exit_code == 0, human.stderr
    # the warning goes to stderr; the answer (headline, verdict) and the tables to stdout
    assert "wave(s)" in human.stderr and "slower than realtime" in human.stderr
    turnaround = human.stdout.split("Turnaround", 1)[1].split("Assumptions", 1)[0]
    assert re.search(r"acme/acme-small .* tpm$", turnaround, re.M)
    verdict = {"split": "split", "realtime": "realtime", "none": "misses"}[e["plan"]["choice"]]
    assert verdict in human.stdout.split("Model", 1)[0]
    assert "flat" not in human.stdout


def test_cli_bad_deadline_is_one_line(table_file: Path, write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([chat(1)])
    res = runner.invoke(
        app,
        [
            "estimate",
            str(path),
            "-m",
            "acme-small",
            "--prices",
            str(table_file),
            "--as-of",
            "2026-03-01",
            "--deadline",
            "tomorrow-ish",
        ],
    )
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "--deadline" in res.stderr


def test_api_budget_filters_models(
    book: object, write_jsonl: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.plan.estimate import estimate

    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    path = write_jsonl([chat(i) for i in range(20)])
    result = estimate(
        path,
        ["acme-small", "claudeco-1"],
        pricebook=book,
        budget="0.01",  # type: ignore[arg-type]
        rows=1000,
    )
    plans = {e.resolved_model: e.plan for e in result.estimates}
    assert all(p is not None for p in plans.values())
    fits = {m for m, p in plans.items() if p is not None and p.within_budget}
    assert "claudeco-1" not in fits
    # the fixture tables have no tiers: realtime time is unknown and said so
    e = result.estimates[0]
    assert e.turnaround is not None and e.turnaround.realtime.bound_by == "unknown tier limits"
