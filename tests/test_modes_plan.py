"""Processing modes in the plan: each mode's cost and time, and which one the plan picks against a deadline and a
budget (flex when batch's p90 misses, batch when flex's refusals would break the budget or are not tolerated,
priority when nothing else is fast enough).

The table is tests/fixtures/pricing/modeco/2026-01-01.yaml, fictional with round figures: standard $1/$4 per 1M,
batch and flex half of it, priority $2/$8; tier t1 allows 1,000 requests a minute; a batch wave takes 8 h (p90);
flex is sheddable with a 1-15 min latency target; priority decodes 4x faster.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from planner.plan.estimate import Estimate, estimate

MODECO = Path(__file__).parent / "fixtures" / "pricing" / "modeco" / "2026-01-01.yaml"
JOB = {"output_tokens": 150, "rows": 200_000, "as_of": "2026-06-01", "prices": [MODECO], "use_history": False}


def run(model: str = "modeco-one", **options: Any) -> Estimate:
    return estimate("examples/tickets.jsonl", [model], **{**JOB, **options})


def test_every_mode_is_priced_and_timed_with_its_basis() -> None:
    e = run().estimates[0]
    std, flex, prio, batch = (e.modes[m] for m in ("standard", "flex", "priority", "batch"))
    assert list(e.modes) == ["standard", "flex", "priority", "batch"]
    assert std.cost_usd == e.realtime_cost_usd and batch.cost_usd == e.batch_cost_usd
    # flex is half of standard for every request it serves; the 20% it refuses go again at standard
    assert flex.cost_range is not None and flex.cost_range.low == batch.cost_usd
    assert flex.cost_usd == Decimal("0.8") * batch.cost_usd + Decimal("0.2") * std.cost_usd  # type: ignore[operator]
    assert flex.price_basis == "derived: 50% off standard" and prio.price_basis == "explicit"
    assert abs(prio.cost_usd - 2 * std.cost_usd) < Decimal("0.000001")  # type: ignore[operator]
    # 200,000 requests at 1,000 a minute: 3.3 h standard; flex sends its refused 20% again
    assert std.hours == pytest.approx(3.333, abs=0.01)
    assert flex.hours == pytest.approx(std.hours * 1.2, abs=0.01)  # type: ignore[operator]
    assert batch.hours == 8.0 and batch.hours_basis == "p90 of 1 wave(s)"
    assert flex.sheddable and flex.request_field == 'service_tier: "flex"'
    assert any("--flex-refused" in n for n in flex.notes)


def test_a_mode_the_model_lacks_says_why() -> None:
    lite = run("modeco-lite").estimates[0]
    assert not lite.modes["flex"].offered and lite.modes["flex"].reasons == ["not offered for lite models"]
    assert lite.modes["flex"].cost_usd is None
    assert not lite.modes["priority"].offered
    assert lite.modes["priority"].reasons == ["not in the ModeCo priority list"]


def test_flex_wins_a_6h_deadline_that_batch_p90_misses() -> None:
    result = run(deadline="6h")
    e, rec = result.estimates[0], result.recommendation
    assert e.modes["batch"].hours == 8.0  # one wave, p90 8 h: misses 6 h
    assert rec is not None and rec.choice is not None
    assert rec.choice.plan == "flex"
    assert rec.choice.cost_usd == e.modes["flex"].cost_usd
    assert "refused at peak: expect retries" in rec.headline
    assert e.plan is not None and e.plan.choice == "flex"


def test_no_sheddable_leaves_flex_out_of_the_plan() -> None:
    result = run(deadline="6h", sheddable=False)
    e, rec = result.estimates[0], result.recommendation
    assert not e.modes["flex"].qualifies
    assert "cannot tolerate refusals (--no-sheddable)" in e.modes["flex"].reasons[0]
    assert rec is not None and rec.choice is not None and rec.choice.plan == "realtime"
    assert all(o.plan != "flex" and o.split_with != "flex" for o in e.plan.options)  # type: ignore[union-attr]


def test_batch_wins_when_flex_refusals_would_break_the_budget() -> None:
    e = run().estimates[0]
    batch, flex = e.modes["batch"].cost_usd, e.modes["flex"].cost_usd
    assert batch is not None and flex is not None and batch < flex
    between = (batch + flex) / 2  # flex at its own price fits, with its refused share at standard it does not
    result = run(deadline="24h", budget=str(between.quantize(Decimal("0.01"))))
    rec = result.recommendation
    assert rec is not None and rec.status == "fits" and rec.choice is not None
    assert rec.choice.plan == "batch"


def test_without_refusals_flex_ties_batch_on_price_and_wins_on_time_unless_not_tolerated() -> None:
    rec = run(deadline="24h", flex_refused=0).recommendation
    assert rec is not None and rec.choice is not None and rec.choice.plan == "flex"
    rec = run(deadline="24h", flex_refused=0, sheddable=False).recommendation
    assert rec is not None and rec.choice is not None and rec.choice.plan == "batch"


def test_priority_is_the_only_way_to_meet_a_tight_deadline() -> None:
    # 20 requests at a time, 4 s each (1 s + 150 tokens at 50/s): 11 h standard; priority decodes 4x faster
    result = run(deadline="6h", concurrency=20)
    e, rec = result.estimates[0], result.recommendation
    fits = {m: e.modes[m].hours is not None and e.modes[m].hours <= 6 for m in e.modes}  # type: ignore[operator]
    assert fits == {"standard": False, "flex": False, "priority": True, "batch": False}
    assert rec is not None and rec.status == "fits" and rec.choice is not None
    assert rec.choice.plan == "priority"
    assert "priority: a premium over standard for lower latency" in rec.headline


def test_flex_with_a_queued_latency_target_is_slow_at_low_concurrency() -> None:
    e = run(concurrency=20).estimates[0]
    # a 60 s target per request, 20 at a time: 200,000 requests take about a week, plus the refused 20%
    assert e.modes["flex"].hours == pytest.approx(200_000 * 60 / 20 / 3600 * 1.2, rel=0.01)


def test_mode_narrows_what_is_weighed() -> None:
    result = run(mode=("flex", "batch"), deadline="6h")
    e = result.estimates[0]
    assert list(e.modes) == ["flex", "batch"]
    assert {o.plan for o in e.plan.options} <= {"flex", "batch", "split"}  # type: ignore[union-attr]
    # the realtime/batch fields scripts read stay as they were
    assert e.realtime_cost_usd > 0 and e.batch_cost_usd is not None


def test_mode_json_contract() -> None:
    data = run().model_dump(mode="json")["estimates"][0]["modes"]
    assert set(data) == {"standard", "flex", "priority", "batch"}
    for m in data.values():
        assert {"qualifies", "reasons", "cost_usd", "cost_ci95", "cost_range", "hours"} <= set(m)
        assert m["cost_usd"] is None or isinstance(m["cost_usd"], str)


def test_a_mode_asked_that_no_model_offers_is_a_job_that_cannot_run_not_a_traceback() -> None:
    # modeco-lite has no flex: asked for flex alone, it cannot run the job, and every surface says why
    result = run("modeco-lite", mode=("flex",), deadline="6h")
    e, rec = result.estimates[0], result.recommendation
    assert e.cannot_run == ["no mode asked about (--mode flex) can run it (flex: not offered for lite models)"]
    assert rec is not None and rec.status == "nothing_runs" and rec.choice is None
    assert e.plan is not None and e.plan.summary.startswith("cannot run: no mode asked about")


def test_the_cli_exits_1_with_the_reason_when_no_mode_asked_qualifies() -> None:
    from typer.testing import CliRunner

    from planner.cli.main import app

    result = CliRunner().invoke(app, ["estimate", "examples/tickets.jsonl", "-m", "modeco-lite", "--prices",
                                      str(MODECO), "--as-of", "2026-06-01", "--output-tokens", "5", "--mode", "flex"])
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "(flex: not offered for lite models)" in " ".join(result.stdout.split())


def test_flex_reads_as_batch_price_even_when_batch_was_not_asked_about() -> None:
    rec = run(mode=("flex",), deadline="6h").recommendation
    assert rec is not None and rec.choice is not None and rec.choice.plan == "flex"
    assert "flex: batch price, results as they finish" in rec.headline
