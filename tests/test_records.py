"""The price schema's records (planner.prices.records) against the pydantic models made from them.

`check` and `models` read records from the cache without importing pydantic; everything else still
meets pydantic's behaviour through them: validation on keyword construction, the same dumps byte for
byte (the cache, `prices show --json`, count-cache keys and sync's YAML are written from them), frozen
values that compare, hash, copy and pickle as models did.
"""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from planner.io.safeyaml import load_yaml
from planner.prices import validation
from planner.prices.matching import AnyOf, Equals, Regex, StartsWith
from planner.prices.pricing import (
    ModelBatch,
    PriceSet,
    PriceTable,
    Rates,
    Tier,
    Tokenizer,
    list_versions,
    load_pricebook,
    merge_tables,
)

TABLE_FILES = [v.path for versions in list_versions().values() for v in versions]


@pytest.mark.parametrize("path", TABLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_table_dumps_as_the_pydantic_model_does(path: Path) -> None:
    raw = load_yaml(path.read_text(encoding="utf-8"))
    model = validation.model_for(PriceTable).model_validate(raw)
    record = PriceTable.model_validate(raw)
    assert isinstance(record, PriceTable) and not isinstance(record, type(model))
    for kwargs in ({}, {"exclude_unset": True}, {"exclude_none": True}):
        assert record.model_dump_json(**kwargs) == model.model_dump_json(**kwargs), kwargs
    for kwargs in ({"mode": "json", "exclude_none": True}, {"mode": "json", "exclude_none": True,
                                                           "exclude_defaults": True}, {}):
        assert record.model_dump(**kwargs) == model.model_dump(**kwargs), kwargs
    assert record.model_fields_set == model.model_fields_set
    assert [m.model_fields_set for m in record.models] == [m.model_fields_set for m in model.models]
    assert PriceTable.model_validate(record.model_dump(mode="json")) == record  # a dump reads back the same


def test_keyword_construction_validates_as_pydantic_does() -> None:
    rates = Rates(input="0.15", output=1)
    assert rates.input == Decimal("0.15") and rates.output == Decimal(1)
    assert rates.model_fields_set == {"input", "output"}
    with pytest.raises(ValidationError, match="as a quoted string"):
        Rates(input=0.15, output=1)  # a float has lost the exact price already
    with pytest.raises(ValidationError, match="greater than 0"):
        Tier(above_input_tokens=0, input=1, output=1)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Rates(input=1, output=1, outptu=2)
    with pytest.raises(ValidationError, match="strictly ascending"):  # a record's own @after check
        PriceSet(input=1, output=1, tiers=[Tier(above_input_tokens=9, input=2, output=2),
                                            Tier(above_input_tokens=5, input=3, output=3)])
    with pytest.raises(ValidationError, match="not a valid regular expression"):  # a field's check=
        Regex(regex="(unclosed")
    with pytest.raises(ValidationError, match="needs a reason"):
        ModelBatch(supported=False)


def test_rules_validate_left_to_right_and_nest() -> None:
    rule = AnyOf.model_validate({"any_of": [{"equals": "a"}, {"starts_with": "b-"}, {"any_of": [{"regex": "^c"}]}]})
    assert rule.any_of[0] == Equals(equals="a") and isinstance(rule.any_of[1], StartsWith)
    assert isinstance(rule.any_of[2], AnyOf) and isinstance(rule.any_of[2].any_of[0], Regex)


def test_model_construct_does_not_validate_but_fills_defaults() -> None:
    unchecked = Rates.model_construct(input=Decimal(-1), output=Decimal(1))
    assert unchecked.input == -1 and unchecked.cached_input is None
    batch = ModelBatch.model_construct()
    assert batch == ModelBatch() and batch.supported and batch.model_fields_set == set()


def test_records_are_frozen_values() -> None:
    a, b = Rates(input=1, output=2), Rates(input="1", output="2")
    assert a == b and hash(a) == hash(b) and a != Rates(input=1, output=3)
    assert a != Tier(above_input_tokens=1, input=1, output=2)  # another class is another value
    with pytest.raises(TypeError, match="frozen"):
        a.input = Decimal(5)  # type: ignore[misc]
    changed = a.model_copy(update={"output": Decimal(9)})
    assert changed.output == 9 and a.output == 2 and changed.model_fields_set == {"input", "output"}


def test_copies_and_pickles_keep_fields_set_and_the_users_label(tmp_path: Path) -> None:
    book = load_pricebook()
    tok = book.resolve("gpt-4o-mini").tokenizer
    for again in (pickle.loads(pickle.dumps(tok)), copy.deepcopy(tok), copy.copy(tok)):
        assert again == tok and type(again) is Tokenizer and again.model_fields_set == tok.model_fields_set
    mine = tmp_path / "mine.yaml"
    mine.write_text(json.dumps({
        "provider": "openai", "name": "OpenAI", "version": "2026-01-01", "verified": "2026-01-01",
        "sources": ["mine"], "batch": {"supported": True}, "tokenizers": {}, "models": [],
    }))
    merged = merge_tables(book.tables["openai"], PriceTable.model_validate(load_yaml(mine.read_text())),
                          source=str(mine))
    assert "your table" in merged.label and merged.is_users
    for again in (pickle.loads(pickle.dumps(merged)), copy.deepcopy(merged), merged.model_copy()):
        assert again.label == merged.label and again == merged
    assert merged != book.tables["openai"] and not book.tables["openai"].is_users
