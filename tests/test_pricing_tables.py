"""The shipped price tables: every version validates, --as-of picks versions, schema errors are precise."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from planner.core.errors import PricingError, UnknownModelError
from planner.prices.matching import Regex
from planner.prices.pricing import (
    PriceSet,
    PriceTable,
    Rates,
    Tier,
    Tokenizer,
    list_versions,
    load_pricebook,
    merge_tables,
    read_table,
    shipped_pricing_dir,
)
from planner.prices.schema import ModelBatch

ALL = [v for vs in list_versions().values() for v in vs]
VENDORS = {"openai", "anthropic", "google", "vertex", "azure", "bedrock", "mistral", "groq", "together",
           "fireworks", "xai", "deepseek"}


def test_every_batch_vendor_has_a_table() -> None:
    assert set(list_versions()) >= VENDORS


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"{v.provider}@{v.version}")
def test_every_shipped_table_validates(version: object) -> None:
    table = read_table(version.path)  # type: ignore[attr-defined]
    assert table.models and all(m.source and m.verified <= table.verified for m in table.models)


def test_several_versions_for_openai_and_anthropic() -> None:
    versions = list_versions()
    assert len(versions["openai"]) >= 2 and len(versions["anthropic"]) >= 2


def test_as_of_picks_the_version_in_force() -> None:
    before = load_pricebook(date(2026, 7, 29)).resolve("gpt-5.6-luna")
    after = load_pricebook(date(2026, 7, 30)).resolve("gpt-5.6-luna")
    assert before.table.label == "openai@2026-07-09" and before.model.realtime.input == Decimal("1")
    assert after.table.label == "openai@2026-07-30" and after.model.realtime.input == Decimal("0.2")


def test_date_before_first_version_is_a_clear_error() -> None:
    with pytest.raises(PricingError, match="earliest version starts 2026-07-09"):
        load_pricebook(date(2026, 1, 1)).resolve("openai/gpt-4o")


def test_batch_price_before_the_genai_artifact_date() -> None:
    """genai-prices stamps batch variants 2026-10-14; an earlier date still gets the explicit batch price."""
    r = load_pricebook(date(2026, 8, 1)).resolve("gpt-4o")
    prices, basis = r.table.batch_prices(r.model)
    assert basis == "explicit" and prices is not None and prices.input == Decimal("1.25")


def test_before_a_price_cut_batch_is_derived_and_says_so() -> None:
    r = load_pricebook(date(2026, 7, 10)).resolve("gpt-5.6-luna")
    prices, basis = r.table.batch_prices(r.model)
    assert basis == "default multiplier" and prices is not None and prices.input == Decimal("0.5")


def test_long_context_tier_and_history() -> None:
    feb = load_pricebook(date(2026, 2, 20)).resolve("claude-sonnet-4-6").model.realtime
    mar = load_pricebook(date(2026, 3, 13)).resolve("claude-sonnet-4-6").model.realtime
    assert feb.for_request(250_000).input == Decimal("6") and feb.for_request(1000).input == Decimal("3")
    assert mar.tiers == [] and mar.for_request(250_000).input == Decimal("3")


def test_aliases_snapshots_and_provider_pin() -> None:
    book = load_pricebook(date(2026, 11, 25))
    assert book.resolve("gpt-4o-2024-11-20").model.id == "gpt-4o"
    assert book.resolve("claude-opus-5-20260724").model.id == "claude-opus-5"
    assert book.resolve("gpt-4o").table.provider == "openai"  # priority 10 beats azure's 70
    assert book.resolve("azure/gpt-4o").table.provider == "azure"
    with pytest.raises(UnknownModelError, match="did you mean"):
        book.resolve("gtp-4o")


def test_deepseek_has_no_batch_and_records_off_peak() -> None:
    r = load_pricebook(date(2026, 11, 25)).resolve("deepseek/deepseek-chat")
    assert r.table.batch_prices(r.model)[0] is None
    assert any(w.label == "off-peak" for m in r.table.models for w in m.time_of_day)


def test_default_discounts_are_labelled() -> None:
    book = load_pricebook(date(2026, 11, 25))
    assert book.tables["xai"].batch.default_multiplier == Decimal("0.8")
    together = book.tables["together"]
    llama = next(m for m in together.models if m.id == "meta-llama/Llama-3.3-70B-Instruct-Turbo")
    prices, basis = together.batch_prices(llama)
    assert together.batch.default_multiplier == Decimal("1") and basis == "explicit"
    assert prices is not None and prices.input == llama.realtime.input / 2


# --- schema errors name file, model and field ------------------------------------------------

GOOD = """\
provider: acme
name: Acme
version: 2026-01-01
verified: 2026-01-01
sources: [https://example.test]
batch: {supported: true, default_multiplier: "0.5"}
tokenizers: {o: {encoding: o200k_base, method: exact}}
models:
  - id: m1
    tokenizer: o
    realtime: {input: "1.00", output: "2.00"%s}
    source: https://example.test/m1
    verified: 2026-01-01
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "2026-01-01.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (("input: \"1.00\"", "input: 1.5"), "model 'm1': realtime.input: Value error, write the price 1.5 as a quoted"),
        (("input: \"1.00\"", "input: \"-1\""), "model 'm1': realtime.input: Input should be greater than"),
        (("tokenizer: o\n    realtime", "tokenizer: nope\n    realtime"), "tokenizer 'nope' is not defined"),
    ],
)
def test_schema_errors_name_file_model_field(tmp_path: Path, patch: tuple[str, str], message: str) -> None:
    path = write(tmp_path, (GOOD % "").replace(*patch))
    with pytest.raises(PricingError) as err:
        read_table(path)
    assert str(path) in str(err.value) and message.split(": Value error")[0].split(": Input")[0] in str(err.value)


def test_tiers_must_ascend(tmp_path: Path) -> None:
    tiers = (', tiers: [{above_input_tokens: 200000, input: "2", output: "4"},'
             ' {above_input_tokens: 100, input: "3", output: "5"}]')
    with pytest.raises(PricingError, match=r"model 'm1': realtime: .*ascending"):
        read_table(write(tmp_path, GOOD % tiers))


def test_bad_yaml_has_a_line_number(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match=r"2026-01-01.yaml:3: not valid YAML"):
        read_table(write(tmp_path, "provider: acme\nname: [unclosed\nversion: x: y\n"))


def test_python_tags_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="not valid YAML"):
        read_table(write(tmp_path, "!!python/object/apply:os.system ['echo hi']\n"))


def test_batch_above_realtime_is_rejected(tmp_path: Path) -> None:
    text = (GOOD % "").replace(
        "    source: https://example.test/m1", '    batch: {prices: {input: "5", output: "1"}}\n    source: https://example.test/m1'
    )
    with pytest.raises(PricingError, match="batch input 5 is above realtime"):
        read_table(write(tmp_path, text))


def test_user_table_layers_over_shipped(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        (GOOD % "")
        .replace("provider: acme", "provider: azure")
        .replace("id: m1", "id: my-deployment\n    aliases: [prod-gpt4o]"),
        encoding="utf-8",
    )
    book = load_pricebook(date(2026, 11, 25), user_tables=[path])
    assert book.resolve("prod-gpt4o").model.id == "my-deployment"
    assert book.resolve("azure/gpt-4o").model.id == "gpt-4o"  # shipped models stay


def test_shipped_dir_is_the_repository_pricing() -> None:
    assert (shipped_pricing_dir() / "openai").is_dir()


def test_the_schema_refuses_what_a_table_may_not_say() -> None:
    rates = Rates(input="0.15", output=1)
    assert rates.input == Decimal("0.15") and rates.output == Decimal(1)
    with pytest.raises(ValidationError, match="as a quoted string"):
        Rates(input=0.15, output=1)  # a float has lost the exact price already
    with pytest.raises(ValidationError, match="greater than 0"):
        Tier(above_input_tokens=0, input=1, output=1)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Rates(input=1, output=1, outptu=2)
    with pytest.raises(ValidationError, match="strictly ascending"):
        PriceSet(input=1, output=1, tiers=[Tier(above_input_tokens=9, input=2, output=2),
                                            Tier(above_input_tokens=5, input=3, output=3)])
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        Regex(regex="(unclosed")
    with pytest.raises(ValidationError, match="needs a reason"):
        ModelBatch(supported=False)


def test_tables_copy_and_pickle_with_the_users_label(tmp_path: Path) -> None:
    """Tables cross to worker processes: a copy keeps its values and the label naming the user's file."""
    book = load_pricebook()
    tok = book.resolve("gpt-4o-mini").tokenizer
    for again in (pickle.loads(pickle.dumps(tok)), copy.deepcopy(tok), copy.copy(tok)):
        assert again == tok and type(again) is Tokenizer
    mine = tmp_path / "mine.yaml"
    mine.write_text(json.dumps({
        "provider": "openai", "name": "OpenAI", "version": "2026-01-01", "verified": "2026-01-01",
        "sources": ["mine"], "batch": {"supported": True}, "tokenizers": {}, "models": [],
    }))
    merged = merge_tables(book.tables["openai"], read_table(mine), source=str(mine))
    assert "your table" in merged.label and merged.is_users
    for again in (pickle.loads(pickle.dumps(merged)), copy.deepcopy(merged), merged.model_copy()):
        assert again.label == merged.label and again == merged
    assert merged != book.tables["openai"] and not book.tables["openai"].is_users
    assert isinstance(merged, PriceTable)
