"""The one verdict (planner.plan.eligibility), and every surface giving it: models, check, estimate, report,
prepare and validate, JSON and human, for every model of every shipped table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.batch.lines import encode_line
from planner.batch.prepare import prepare
from planner.batch.pricing import PROVIDER_VENDOR
from planner.batch.validate import validate
from planner.cli.main import app
from planner.core.request import Request
from planner.plan.eligibility import eligibility
from planner.plan.estimate import estimate
from planner.prices.pricing import PriceBook, load_pricebook
from planner.render.tabular import summary
from planner.vendors import LineOptions as Opts
from planner.vendors import get_vendor, list_vendors

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _one_click_command() -> object:
    """Build the Click command once for this module's ~2,400 invocations (typer rebuilds it per call)."""
    import typer.testing

    real = typer.testing._get_command
    built = real(app)
    typer.testing._get_command = lambda typer_app: built if typer_app is app else real(typer_app)  # type: ignore[assignment]
    yield
    typer.testing._get_command = real  # type: ignore[assignment]


DATES = [date(2026, 11, 25), date(2026, 12, 1)]


@pytest.mark.parametrize(
    ("name", "as_of", "qualifies", "first_reason"),
    [
        ("gpt-4o-mini", date(2026, 11, 25), True, None),
        ("claude-2", date(2026, 11, 25), False, "retired on 2025-07-21: cannot run"),
        ("claude-3-opus", date(2026, 11, 25), False, "retired on 2026-01-05: cannot run"),
        ("claude-3-7-sonnet-20250219", date(2026, 11, 25), False, "retired on 2026-02-19: cannot run"),
        ("claude-3-haiku-20240307", date(2026, 11, 25), False, "retired on 2026-04-19: cannot run"),
        ("claude-sonnet-4-20250514", date(2026, 11, 25), False, "retired on 2026-06-15: cannot run"),
        ("claude-sonnet-4-5-20250929", date(2026, 11, 20), True, None),
        # end of life 2026-11-30 in the SDK deprecation list (the catalog still lists it as legacy)
        ("claude-sonnet-4-5-20250929", date(2026, 12, 1), False, "retired on 2026-11-30: cannot run"),
        ("gpt-4o-search-preview", date(2026, 11, 25), False, "no Batch price on OpenAI's pricing page"),
        ("gpt-4o-mini-search-preview", date(2026, 11, 25), False, "no Batch price on OpenAI's pricing page"),
        ("deepseek-chat", date(2026, 11, 25), False, "no batch API"),
    ],
)
def test_verdicts(name: str, as_of: date, qualifies: bool, first_reason: str | None) -> None:
    book = load_pricebook(as_of)
    v = eligibility(book.resolve(name), as_of)
    assert v.qualifies is qualifies
    if first_reason is None:
        assert v.reasons == () and v.batch_prices is not None
    else:
        assert v.reasons[0].startswith(first_reason)


def test_a_model_that_cannot_run_has_no_batch_price_and_no_plan() -> None:
    v = eligibility(load_pricebook(date(2026, 11, 25)).resolve("claude-2"), date(2026, 11, 25))
    assert not v.runs and v.batch_prices is None and v.basis == "retired on 2025-07-21: cannot run"


def test_a_model_not_yet_released_cannot_run() -> None:
    from planner.prices.pricing import ResolvedModel

    r = load_pricebook(date(2026, 11, 25)).resolve("gpt-6.2-sol")
    early = ResolvedModel(r.table, r.model.model_copy(update={"released": date(2026, 12, 24)}), r.requested)
    v = eligibility(early, date(2026, 11, 25))
    assert not v.runs and v.reasons == ("not released until 2026-12-24: cannot run on 2026-11-25",)


def test_endpoint_and_workload_reasons() -> None:
    from planner.plan.eligibility import WorkloadShape

    book = load_pricebook(date(2026, 11, 25))
    r = book.resolve("o3-pro")
    v = eligibility(r, book.as_of, endpoints=["/v1/chat/completions", "/v1/chat/completions"])
    assert len(v.reasons) == 1 and "endpoint /v1/chat/completions is not allowed" in v.reasons[0]  # once, not twice
    r = book.resolve("gpt-4o-mini")
    v = eligibility(r, book.as_of, workload=WorkloadShape([100, 200_000], [10, 20], ["a", "b"]))
    assert not v.qualifies and v.over_context_window.first_ids == ("b",) and v.batch_prices is not None


def test_the_reasons_that_stop_a_job_at_all_are_their_own_field() -> None:
    """What makes a model unrecommendable is said by eligibility() itself (before: estimate re-derived it
    by matching the reasons' wording). Only the date and requests over the model's limits block; a
    missing batch offer or a disallowed endpoint still leave realtime."""
    from planner.plan.eligibility import WorkloadShape

    book = load_pricebook(date(2026, 11, 25))
    retired = eligibility(book.resolve("claude-2"), book.as_of)
    assert retired.blocking == retired.reasons == ("retired on 2025-07-21: cannot run",)
    over = eligibility(book.resolve("gpt-4o-mini"), book.as_of,
                       workload=WorkloadShape([100, 200_000], [10, 20], ["a", "b"]))
    assert len(over.blocking) == 1 and over.blocking[0].startswith("1 request(s) exceed the 128,000-token")
    no_batch = eligibility(book.resolve("o3-pro"), book.as_of, endpoints=["/v1/chat/completions"])
    assert no_batch.reasons and no_batch.blocking == ()
    result = estimate(Path(__file__).parents[1] / "examples" / "tickets.jsonl", ["claude-2", "o3-pro"],
                      output_tokens=5, as_of=book.as_of)
    assert [e.cannot_run for e in result.estimates] == [["retired on 2025-07-21: cannot run"], []]


# ---------------------------------------------------------------------------------------------
# The property: every surface gives the verdict eligibility() gives, for every model of every table.


def _all(book: PriceBook) -> list[tuple[str, str]]:
    return [(t.provider, m.id) for t in book.providers() for m in t.models]


@pytest.fixture(scope="module", params=DATES, ids=[d.isoformat() for d in DATES])
def book(request: pytest.FixtureRequest) -> PriceBook:
    return load_pricebook(request.param)


def test_models_json_and_batch_only_agree_with_the_verdict(book: PriceBook) -> None:
    r = runner.invoke(app, ["models", "--json", "--as-of", book.as_of.isoformat()])
    rows = {(m["provider"], m["model"]): m for m in json.loads(r.stdout)["models"]}
    listed = runner.invoke(app, ["models", "--json", "--batch-only", "--as-of", book.as_of.isoformat()])
    batch_only = {(m["provider"], m["model"]) for m in json.loads(listed.stdout)["models"]}
    for provider, mid in _all(book):
        v = eligibility(book.resolve(f"{provider}/{mid}"), book.as_of)
        row = rows[(provider, mid)]
        got = (row["qualifies"], row["batch_supported"], tuple(row["reasons"]))
        assert got == (v.qualifies, v.qualifies, v.reasons)
        assert (row["batch"] is not None) == (v.batch_prices is not None), (provider, mid)
        assert ((provider, mid) in batch_only) == v.qualifies, (provider, mid)


def test_check_agrees_with_the_verdict_json_and_human(book: PriceBook) -> None:
    for provider, mid in _all(book):
        v = eligibility(book.resolve(f"{provider}/{mid}"), book.as_of)
        r = runner.invoke(app, ["check", f"{provider}/{mid}", "--json", "--as-of", book.as_of.isoformat()])
        doc = json.loads(r.stdout)
        got = (r.exit_code, doc["qualifies"], tuple(doc["reasons"]))
        assert got == (0 if v.qualifies else 1, v.qualifies, v.reasons)
        human = runner.invoke(app, ["check", f"{provider}/{mid}", "--as-of", book.as_of.isoformat()])
        assert human.exit_code == r.exit_code
        assert ("does NOT qualify" in human.stdout) is (not v.qualifies)
        for reason in v.reasons:
            assert f"  - {reason}" in human.stdout


def test_estimate_and_report_agree_with_the_verdict(book: PriceBook, tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}) + "\n")
    for table in book.providers():
        names = [f"{table.provider}/{m.id}" for m in table.models]
        result = estimate(data, names, pricebook=book, use_history=False, deadline="30d")
        lines = summary(result).details
        for e, name, line in zip(result.estimates, names, lines, strict=True):
            v = eligibility(book.resolve(name), book.as_of)
            assert (e.batch_eligible, tuple(e.reasons), e.runs) == (v.qualifies, v.reasons, v.runs), name
            assert (e.batch_cost_usd is None) == (v.batch_prices is None), name
            assert (e.savings_usd is None) == (v.batch_prices is None), name
            if not v.runs:
                assert "realtime only" not in line and e.plan is not None and e.plan.choice == "none", name
                assert v.reasons[0].split(": cannot run")[0] in line  # said once: "cannot run: retired on …"
                assert line.count("cannot run") == 1, line


def test_prepare_and_validate_agree_with_the_verdict(book: PriceBook, tmp_path: Path) -> None:
    req = Request(1, "r1", "chat", {"messages": [{"role": "user", "content": "hello"}]}, max_tokens=5)
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "r1", **req.body, "max_tokens": 5}) + "\n")
    checked = 0
    for table in book.providers():
        vendor = PROVIDER_VENDOR.get(table.provider, table.provider)
        if vendor not in list_vendors():
            continue
        rules = get_vendor(vendor)
        for m in table.models:
            name = f"{table.provider}/{m.id}"
            line = tmp_path / f"{checked}.jsonl"
            obj, _ = rules.build_line(req, "r1", Opts(vendor=rules, model=m.id, max_tokens=5))
            v = eligibility(book.resolve(name), book.as_of, endpoints=[obj["url"]] if "url" in obj else ())
            line.write_bytes(encode_line(obj))
            result = validate(line, vendor=vendor, model=name, pricebook=book)
            said = [p.message for p in result.problems if p.message.startswith(f"model '{name}': ")]
            assert said == [f"model '{name}': {r}" for r in v.reasons], name
            checked += 1
        m = table.models[0]
        manifest = prepare(data, f"{table.provider}/{m.id}", tmp_path / f"out-{table.provider}", vendor=vendor,
                           max_tokens=5, pricebook=book)
        v = eligibility(book.resolve(f"{table.provider}/{m.id}"), book.as_of)
        assert (manifest.batch_eligible, tuple(manifest.reasons)) == (v.qualifies, v.reasons)
        assert (manifest.totals.batch_cost_usd is None) == (v.batch_prices is None)
    assert checked > 300
