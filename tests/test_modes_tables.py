"""Processing modes in the price tables: flex and priority prices equal the vendors' pages, every one has
a source, `prices sync` carries genai-prices' variants over, and `models --mode` lists only the models
offering the mode (issue #25)."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.prices.pricing import list_versions, load_pricebook, read_table, shipped_pricing_dir
from planner.prices.schema import MODES, PriceTable
from planner.prices.sync import SYNCED_FROM, build_table, diff_tables, load_base, mode_overrides, previous_version

runner = CliRunner()
D = Decimal
AS_OF = date(2026, 12, 6)


def _table(provider: str) -> PriceTable:
    return load_pricebook(AS_OF).tables[provider]


def _prices(provider: str, model: str, mode: str) -> tuple[tuple[Decimal | None, ...], str]:
    table = _table(provider)
    ps, basis = table.mode_prices(next(m for m in table.models if m.id == model), mode)
    assert ps is not None, (provider, model, mode, basis)
    return (ps.input, ps.cached_input, ps.output), basis


def test_openai_gpt_5_4_mini_priority_and_flex_equal_openais_pages() -> None:
    # https://openai.com/api-priority-processing/ (read 2026-12-06): GPT-5.4 mini $1.50 / $0.150 cached / $9.00
    assert _prices("openai", "gpt-5.4-mini", "priority") == ((D("1.5"), D("0.15"), D("9")), "explicit")
    # https://developers.openai.com/api/docs/guides/flex-processing: "Tokens are priced at Batch API rates";
    # the gpt-5.4-mini Batch rates on https://developers.openai.com/api/docs/pricing are $0.375 / $2.25
    assert _prices("openai", "gpt-5.4-mini", "flex") == ((D("0.375"), D("0.0375"), D("2.25")), "explicit")
    # the priority page's other rows: GPT-5.5 $12.50 / $75.00, GPT-4.1 $3.50 / $0.875 cached / $14.00
    assert _prices("openai", "gpt-5.5", "priority")[0] == (D("12.5"), D("1.25"), D("75"))
    assert _prices("openai", "gpt-4.1", "priority")[0] == (D("3.5"), D("0.875"), D("14"))


def test_every_openai_flex_price_is_its_batch_price() -> None:
    """OpenAI prices flex "at Batch API rates" (the flex guide above): input and output equal the table's
    batch prices for every flex model. Cached input may not: the Batch table omits it for o3 and o4-mini."""
    table = _table("openai")
    flex = [m for m in table.models if table.mode_prices(m, "flex")[0] is not None]
    assert len(flex) == 21
    for m in flex:
        fp, bp = table.mode_prices(m, "flex")[0], table.batch_prices(m)[0]
        assert bp is not None and (fp.input, fp.output, fp.thresholds()) == (bp.input, bp.output, bp.thresholds())


def test_gemini_4_argon_flex_and_priority_equal_googles_rules() -> None:
    # https://ai.google.dev/gemini-api/docs/optimization: Flex "50% discount", Priority "75% to 100% more than
    # standard"; https://aistudio.google.com/docs/pricing#gemini-4-argon (via genai-prices 0.2.5): $2 / $10 flex,
    # $7.20 / $36 priority on the $4 / $20 standard price in force from 2026-12-01
    assert _prices("google", "gemini-4-argon", "flex") == ((D("2"), D("0.1"), D("10")), "explicit")
    assert _prices("google", "gemini-4-argon", "priority") == ((D("7.2"), D("0.36"), D("36")), "explicit")
    table = _table("google")
    for m in table.models:
        std, (flex, _), (prio, _) = m.realtime, table.mode_prices(m, "flex"), table.mode_prices(m, "priority")
        if flex is not None:
            assert (flex.input, flex.output) == (std.input / 2, std.output / 2), m.id
        if prio is not None:
            assert D("1.75") <= prio.input / std.input <= 2 and D("1.75") <= prio.output / std.output <= 2, m.id


def test_gemini_3_8_flash_flex_is_derived_from_the_stated_discount_and_follows_the_2027_price() -> None:
    assert _prices("google", "gemini-3.8-flash", "flex") == ((D("0.375"), D("0.0375"), D("1.875")),
                                                             "derived: 50% off standard")
    later = load_pricebook(date(2027, 1, 1)).tables["google"]
    m = next(m for m in later.models if m.id == "gemini-3.8-flash")
    ps, _ = later.mode_prices(m, "flex")
    assert ps is not None and (ps.input, ps.output) == (D("0.75"), D("3.75"))  # half of the $1.50 / $7.50 of 2027


def test_anthropic_fast_mode_is_priority_at_the_pages_prices() -> None:
    # https://platform.claude.com/docs/en/about-claude/pricing#fast-mode-pricing (via genai-prices 0.2.5):
    # Opus 5.5 fast mode $8 / $40, Fable 5.2 $16 / $80; fast mode is `speed: "fast"` (build-with-claude/fast-mode)
    assert _prices("anthropic", "claude-opus-5-5", "priority") == ((D("8"), D("0.4"), D("40")), "explicit")
    assert _prices("anthropic", "claude-fable-5-2", "priority")[0] == (D("16"), D("0.4"), D("80"))
    table = _table("anthropic")
    terms = table.modes["priority"]
    assert terms.label == "fast mode" and terms.request_field == 'speed: "fast"' and terms.output_speedup == D("2.5")
    # removed from Opus 4.8 on 2026-11-30 (https://code.claude.com/docs/en/fast-mode); Sonnet never had it
    opus48 = next(m for m in table.models if m.id == "claude-opus-4-8")
    ps, why = table.mode_prices(opus48, "priority")
    assert ps is None and "removed from Claude Opus 4.8 on 2026-11-30" in why
    sonnet = next(m for m in table.models if m.id == "claude-sonnet-5")
    assert table.mode_prices(sonnet, "priority") == (None, "not in the Anthropic priority list")
    assert table.mode_prices(sonnet, "flex") == (None, "Anthropic offers no flex mode in this table")


def test_groq_flex_is_the_on_demand_price_for_every_model() -> None:
    # https://console.groq.com/docs/flex-processing: "Pricing matches the on-demand tier", 10x rate limits, 498
    table = _table("groq")
    assert table.modes["flex"].rate_limit_multiplier == 10 and "498" in (table.modes["flex"].refusal or "")
    for m in table.models:
        ps, basis = table.mode_prices(m, "flex")
        assert ps == m.realtime and basis == "derived: the standard price"


def test_gemini_flex_latency_is_the_stated_target_range() -> None:
    terms = _table("google").modes["flex"]
    # "Minutes (1-15 min target)": p50 the middle, p90 the upper end, and labelled as our reading of a target
    assert (terms.latency_p50_s, terms.latency_p90_s) == (D(480), D(900)) and terms.sheddable
    assert "1-15 min target" in (terms.latency_source or "") and "not a measurement" in (terms.latency_source or "")


def test_every_mode_price_in_every_shipped_table_has_a_source() -> None:
    seen = 0
    for provider, versions in list_versions().items():
        for v in versions:
            table = read_table(v.path)
            for name, terms in table.modes.items():
                assert terms.source, (table.label, name)
                assert terms.default_multiplier is None or terms.multiplier_source, (table.label, name)
            for m in table.models:
                for name, offer in m.modes.items():
                    assert offer.source and re.search(r"https://", offer.source), (table.label, m.id, name)
                    seen += offer.prices is not None
            assert table.verified >= max((m.verified for m in table.models), default=table.verified), provider
    assert seen == 21 + 26 + 2 * 12 + 4  # OpenAI flex and priority, two Google tables, Anthropic


def test_mode_prices_basis_names_explicit_and_derived_and_every_mode_answers() -> None:
    table = _table("openai")
    m = next(m for m in table.models if m.id == "gpt-4o")
    answers = {mode: table.mode_prices(m, mode)[1] for mode in MODES}
    assert answers == {"standard": "explicit", "flex": "not in the OpenAI flex list", "priority": "explicit",
                       "batch": "explicit"}


@pytest.mark.skipif(importlib.metadata.version("genai-prices") != SYNCED_FROM,
                    reason=f"the tables were synced from genai-prices {SYNCED_FROM}")
def test_syncing_openai_for_2026_11_17_yields_the_committed_mode_prices() -> None:
    version = date(2026, 11, 17)
    synced = build_table(load_base("openai"), version, previous=previous_version("openai", version),
                         verified=AS_OF).table
    committed = read_table(shipped_pricing_dir() / "openai" / "2026-11-17.yaml")
    ours = {m.id: m for m in committed.models}
    pairs = 0
    for m in synced.models:
        for mode in ("flex", "priority"):
            assert synced.mode_prices(m, mode) == committed.mode_prices(ours[m.id], mode), (m.id, mode)
            pairs += synced.mode_prices(m, mode)[0] is not None
    assert pairs == 21 + 26
    # OpenAI's `fast` (priority's new name) and `ultrafast` are not carried: gpt-6.2-sol has both, and no flex
    from genai_prices import data

    gm = next(p for p in data.providers if p.id == "openai").find_model("gpt-6.2-sol")
    assert set(mode_overrides(gm, version)) == {"priority"}


def test_sync_leaves_out_modes_the_table_has_no_terms_for() -> None:
    """Azure reads OpenAI's genai data: its flex and priority prices are not Azure's, so they are left out."""
    result = build_table(load_base("azure"), date(2026, 10, 14), previous=None, verified=AS_OF)
    assert not any(m.modes for m in result.table.models)
    assert any("flex prices" in w and "no flex terms" in w for w in result.warnings)


def test_diff_tables_reports_a_mode_price_change(tmp_path: Path) -> None:
    src = shipped_pricing_dir() / "openai" / "2026-11-17.yaml"
    text = src.read_text(encoding="utf-8")
    block = re.search(r"- id: gpt-5\.4-mini\n.*?\n  modes:\n    flex:\n      prices:\n        input: '0\.375'", text,
                      re.S)
    assert block is not None
    changed = text[: block.end() - len("'0.375'")] + "'0.4'" + text[block.end():]
    (tmp_path / "openai").mkdir()
    (tmp_path / "openai" / "2026-11-17.yaml").write_text(changed, encoding="utf-8")
    old, new = read_table(src), read_table(tmp_path / "openai" / "2026-11-17.yaml")
    assert "~ gpt-5.4-mini flex.input: 0.375 -> 0.4" in diff_tables(old, new)
    # a table without modes against one with them: the offers appear, with their basis
    shutil.copy(shipped_pricing_dir() / "openai" / "2026-10-14.yaml", tmp_path / "openai")
    lines = diff_tables(read_table(tmp_path / "openai" / "2026-10-14.yaml"), old)
    assert "~ gpt-5.4-mini flex: none -> 0.375 in / 2.25 out (explicit)" in lines
    assert "~ provider flex terms added" in lines


def test_models_mode_flex_lists_flex_models_only_with_flex_prices() -> None:
    res = runner.invoke(app, ["models", "--mode", "flex", "--as-of", "2026-12-06"])
    assert res.exit_code == 0, res.output
    rows = {line.split()[1]: line.split() for line in res.stdout.splitlines()[1:] if len(line.split()) > 4}
    assert rows["gpt-5.4-mini"][2:6] == ["0.75", "4.50", "0.375", "2.25"]
    assert "gpt-4o" not in rows and "claude-opus-5-5" not in rows  # priority only / no flex at all
    assert rows["gemini-3.8-flash"][6:8] == ["-50%", "(derived)"]
    prio = runner.invoke(app, ["models", "--mode", "priority", "--provider", "anthropic", "--as-of", "2026-12-06"])
    assert "claude-opus-5-5" in prio.stdout and "claude-opus-4-8" not in prio.stdout
    bad = runner.invoke(app, ["models", "--mode", "fast"])
    assert bad.exit_code == 2 and "--mode fast: not a processing mode" in bad.stderr


def test_models_json_has_a_modes_object_per_model() -> None:
    doc = json.loads(runner.invoke(app, ["models", "--json", "--provider", "openai", "--as-of", "2026-12-06"]).stdout)
    m = next(r for r in doc["models"] if r["model"] == "gpt-5.4-mini")
    assert list(m["modes"]) == list(MODES)
    assert m["modes"]["flex"]["offered"] and m["modes"]["flex"]["prices"]["input"] == "0.375"
    assert m["modes"]["flex"]["sheddable"] is True and m["modes"]["priority"]["basis"] == "explicit"
    gpt4o = next(r for r in doc["models"] if r["model"] == "gpt-4o")
    assert gpt4o["modes"]["flex"] == {"offered": False, "basis": None, "reasons": ["not in the OpenAI flex list"],
                                      "prices": None, "label": "Flex processing (beta)", "sheddable": True}


def test_models_mode_at_80_columns_never_cuts_a_line() -> None:
    env = {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "80"}
    for argv in (["models", "--mode", "flex"], ["models", "--mode", "priority"], ["prices", "show", "google"]):
        out = runner.invoke(app, [*argv, "--as-of", "2026-12-06"], env=env).stdout
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
        assert plain and max(len(line) for line in plain.splitlines()) <= 80, argv
        assert "gemini-4-argon" in plain and ("2.00" in plain or "7.20" in plain)
