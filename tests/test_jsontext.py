"""planner.core.jsontext writes exactly what json.dumps(indent=2, ensure_ascii=False) writes (every --json)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core.jsontext import dumps

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
KEYS = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(st.text(), inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_text_is_json_dumps_indent_2(value: Any) -> None:
    assert dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_what_json_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"price": Decimal("0.15")})
    loop: list[Any] = []
    loop.append({"again": loop})
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(loop)
    shared = ["x"]
    assert dumps({"a": shared, "b": shared}) == json.dumps({"a": shared, "b": shared}, indent=2)  # not a loop


def test_a_real_listing_is_written_identically() -> None:
    from planner.cli.commands.models import model_json
    from planner.prices.pricing import load_pricebook

    book = load_pricebook()
    rows = [model_json(t, m, book.as_of) for t in book.providers() for m in t.models]
    assert len(rows) > 100
    assert dumps({"models": rows}) == json.dumps({"models": rows}, indent=2, ensure_ascii=False)
