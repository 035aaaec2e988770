"""The plans of issue #25 on the shipped tables (prices verified against the vendors' pages in
tests/test_modes_tables.py): flex wins a deadline that batch's p90 misses, batch wins when refusals are not
tolerated, and priority is the only way to meet a tight deadline. 200,000 tickets, 150 output tokens each."""

from __future__ import annotations

from typing import Any

from planner.plan.estimate import Estimate, estimate

JOB = {"output_tokens": 150, "rows": 200_000, "use_history": False}


def run(model: str, **options: Any) -> Estimate:
    return estimate("examples/tickets.jsonl", [model], **{**JOB, **options})


def test_openai_flex_wins_a_5h_deadline_that_batch_p90_misses() -> None:
    result = run("gpt-5.4-mini", tier="tier-3", deadline="5h")
    e, rec = result.estimates[0], result.recommendation
    assert e.modes["batch"].hours is not None and e.modes["batch"].hours > 5  # one wave, p90 6 h
    assert rec is not None and rec.status == "fits" and rec.choice is not None
    assert rec.choice.plan == "flex"
    # cheaper than standard even with a fifth of the requests re-sent at the standard price
    assert rec.choice.cost_usd < e.realtime_cost_usd
    assert "can be refused at peak" in rec.headline


def test_openai_batch_wins_when_refusals_are_not_tolerated() -> None:
    # with no refusals assumed, flex costs what batch costs and is faster, so it wins ...
    rec = run("gpt-5.4-mini", tier="tier-3", deadline="24h", flex_refused=0).recommendation
    assert rec is not None and rec.choice is not None and rec.choice.plan == "flex"
    # ... until the job says it cannot take a refusal
    result = run("gpt-5.4-mini", tier="tier-3", deadline="24h", flex_refused=0, sheddable=False)
    rec = result.recommendation
    assert rec is not None and rec.choice is not None and rec.choice.plan == "batch"
    assert "--no-sheddable" in result.estimates[0].modes["flex"].reasons[-1]


def test_claude_fast_mode_is_the_only_way_to_meet_a_4h_deadline() -> None:
    result = run("claude-opus-5-5", deadline="4h", concurrency=50)
    e, rec = result.estimates[0], result.recommendation
    hours = {m: e.modes[m].hours for m in e.modes if e.modes[m].qualifies}
    assert {m for m, h in hours.items() if h is not None and h <= 4} == {"priority"}
    assert rec is not None and rec.status == "fits" and rec.choice is not None
    assert rec.choice.plan == "priority"
    assert e.modes["priority"].label == "fast mode"


def test_gemini_flex_is_priced_and_says_its_latency_is_a_target() -> None:
    e = run("gemini-4-argon").estimates[0]
    flex = e.modes["flex"]
    assert flex.offered and flex.sheddable and flex.vendor_target
    # Gemini API Flex and Batch are both half of standard: with nothing refused (the low end of the range, the
    # token band included), flex costs what batch costs
    assert flex.cost_range is not None and e.batch_cost_range is not None
    assert flex.cost_range.low == e.batch_cost_range.low
    assert flex.cost_usd is not None and flex.cost_usd > flex.cost_range.low  # the refused share at standard
