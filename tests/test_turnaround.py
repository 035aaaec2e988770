"""Batch waves, files and p50/p90/worst; realtime duration and its binding limit (providers.md §13-14)."""

from __future__ import annotations

from typing import Any

import pytest

from planner.plan.turnaround import estimate_turnaround
from planner.prices.pricing import ModelEntry, PriceTable
from planner.store.history import Observed

TURN = {
    "completion_window_hours": "24",
    "expiry_hours": "24",
    "p50_hours": "1",
    "p90_hours": "6",
    "source": "https://example.test/measurements",
}
OPENAI_TIERS = {
    "tier-1": {"rpm": 500, "tpm": 500_000, "batch_queue_tokens": 1_500_000},
    "tier-3": {"rpm": 5_000, "tpm": 2_000_000, "batch_queue_tokens": 100_000_000},
}


def make_table(
    provider: str = "oa",
    *,
    tiers: dict[str, Any] | None = None,
    turnaround: Any = TURN,
    limits: dict[str, Any] | None = None,
    default_tier: str | None = None,
) -> PriceTable:
    return PriceTable.model_validate(
        {
            "provider": provider,
            "name": provider.title(),
            "version": "2026-01-01",
            "verified": "2026-01-01",
            "sources": ["https://example.test"],
            "batch": {
                "supported": True,
                "default_multiplier": "0.5",
                "turnaround": turnaround,
                "limits": limits or {"max_requests": 50_000, "max_bytes": 200_000_000, "batches_per_hour": 2000},
            },
            "rate_limits": tiers if tiers is not None else OPENAI_TIERS,
            "default_tier": default_tier,
            "tokenizers": {"t": {"encoding": "o200k_base", "method": "exact"}},
            "models": [
                {
                    "id": "m1",
                    "tokenizer": "t",
                    "realtime": {"input": "2", "output": "10"},
                    "source": "https://example.test/m1",
                    "verified": "2026-01-01",
                }
            ],
        }
    )


def run(table: PriceTable, **kw: Any) -> Any:
    args: dict[str, Any] = {"requests": 100_000, "input_tokens": 150_000_000, "output_tokens": 30_000_000}
    args.update(kw)
    return estimate_turnaround(table, table.models[0], **args)


def test_tier1_queue_forces_100_waves_and_batch_is_slower_than_realtime() -> None:
    t = run(make_table(), tier="Tier 1")
    assert t.tier == "tier-1"
    assert t.batch.waves == 100
    assert t.batch.files == 100
    assert "1,500,000 enqueued input tokens" in t.batch.bound_by
    assert t.batch.p50_hours is not None and t.batch.p50_hours >= 100
    assert t.batch.p90_hours is not None and t.batch.p90_hours >= 600
    assert t.batch.worst_hours is not None and t.batch.worst_hours >= 2400
    # §14: 180M tokens / 500K TPM = 360 min = 6 h
    assert t.realtime.hours == pytest.approx(6.0)
    assert t.realtime.bound_by == "tpm"
    assert any("slower than realtime" in n for n in t.notes)


def test_bigger_tier_needs_two_waves() -> None:
    t = run(make_table(), tier="tier-3")
    assert t.batch.waves == 2
    assert t.batch.files == 2  # 100,000 requests at 50,000 per file
    assert t.batch.p50_hours == pytest.approx(2.0, abs=0.01)
    assert t.batch.worst_hours == pytest.approx(48.0, abs=0.01)
    assert t.realtime.hours == pytest.approx(1.5)  # 180M tokens / 2M TPM


def test_file_bytes_can_force_more_files() -> None:
    t = run(make_table(), tier="tier-3", payload_bytes=900_000_000)
    assert t.batch.files == 5
    assert t.batch.bytes_per_file is not None and t.batch.bytes_per_file <= 200_000_000


def test_azure_never_expires_so_no_worst_case() -> None:
    azure = make_table("azure", turnaround={**TURN, "expiry_hours": None})
    t = run(azure, tier="tier-3")
    assert t.batch.worst_hours is None
    assert any("never expires" in n for n in t.batch.notes)


def test_expiry_note_says_what_happens_to_unfinished_requests() -> None:
    t = run(make_table(), tier="tier-3")
    assert any("cancelled" in n and "billed" in n for n in t.batch.notes)


def test_unknown_tier_is_stated_not_invented() -> None:
    t = run(make_table(), tier="enterprise")
    assert t.realtime.hours is None and t.realtime.bound_by == "unknown tier limits"
    assert t.batch.bound_by == "unknown tier limits" and t.batch.waves == 1
    assert any("not in" in n and "tier-1" in n for n in t.notes)


def test_default_tier_is_used_when_none_given() -> None:
    t = run(make_table(default_tier="tier-3"))
    assert t.tier == "tier-3" and t.batch.waves == 2


def test_model_override_of_tier_limits() -> None:
    table = make_table()
    data = {**table.models[0].model_dump(), "rate_limits": {"tier-1": OPENAI_TIERS["tier-3"]}}
    model = ModelEntry.model_validate(data)
    t = estimate_turnaround(
        table, model, requests=100_000, input_tokens=150_000_000, output_tokens=30_000_000, tier="tier-1"
    )
    assert t.batch.waves == 2


def test_realtime_rpm_bound_for_many_small_requests() -> None:
    t = run(make_table(), tier="tier-1", requests=1_000_000, input_tokens=10_000_000, output_tokens=1_000_000)
    assert t.realtime.bound_by == "rpm"
    assert t.realtime.hours == pytest.approx(1_000_000 / 500 / 60, rel=1e-3)


def test_tpm_reserves_max_tokens() -> None:
    t = run(make_table(), tier="tier-1", reserved_output_tokens=100_000_000)
    assert t.realtime.minutes_by_limit["tpm"] == pytest.approx(250_000_000 / 500_000)
    assert any("max_tokens" in n for n in t.realtime.notes)


def test_anthropic_otpm_binds_and_queue_counts_requests() -> None:
    anth = make_table(
        "an",
        tiers={
            "build": {
                "rpm": 5000,
                "itpm": 5_000_000,
                "otpm": 1_000_000,
                "batch_queue_requests": 300_000,
                "batch_rpm": 2000,
            }
        },
        limits={"max_requests": 100_000, "max_bytes": 256_000_000},
    )
    t = run(anth, tier="Build", requests=1_000_000, input_tokens=100_000_000, output_tokens=500_000_000)
    assert t.realtime.bound_by == "otpm"
    assert t.realtime.hours == pytest.approx(500 / 60, rel=1e-3)
    assert t.batch.waves == 4  # 1,000,000 requests / 300,000 queued
    assert "queued requests" in t.batch.bound_by
    assert t.batch.files == 10


def test_concurrency_can_bind() -> None:
    t = run(
        make_table(),
        tier="tier-3",
        requests=10_000,
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        concurrency=4,
        latency_s=3.0,
    )
    assert t.realtime.bound_by == "concurrency"
    assert t.realtime.hours == pytest.approx(10_000 * 3 / 4 / 3600, rel=1e-2)
    d = run(
        make_table(), tier="tier-3", requests=10_000, input_tokens=1_000_000, output_tokens=1_000_000, concurrency=4
    )
    assert d.realtime.latency_s is not None and any("latency assumed" in n for n in d.realtime.notes)


def test_no_published_turnaround_means_unknown_times() -> None:
    t = run(make_table(turnaround=None), tier="tier-3")
    assert t.batch.waves == 2 and t.batch.p50_hours is None and t.batch.worst_hours is None


def test_observed_figures_replace_published_ones() -> None:
    obs = Observed(
        provider="oa",
        model="m1",
        batches=5,
        p50_hours=0.2,
        p90_hours=0.5,
        max_hours=0.7,
        min_requests=10,
        max_requests=100,
        source="your history: 5 batches",
    )
    t = run(make_table(), tier="tier-3", observed=obs)
    assert t.batch.observed and t.batch.p50_hours == pytest.approx(0.4, abs=0.01)
    assert t.batch.figures_source == "your history: 5 batches"
