"""Tokenizer rules built directly for tests (independent of the shipped price tables)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from planner.core.request import Api, Request
from planner.prices.pricing import ImageRule, Tokenizer, ToolRule

TOOLS_4O = ToolRule(func_init=7, prop_init=3, prop_key=3, enum_init=-3, enum_item=3, func_end=12)
TOOLS_4 = ToolRule(func_init=10, prop_init=3, prop_key=3, enum_init=-3, enum_item=3, func_end=12)

TILE_4O = ImageRule(kind="tile", base_tokens=85, tile_tokens=170, max_side=2048, short_side=768)
TILE_5 = ImageRule(kind="tile", base_tokens=70, tile_tokens=140, max_side=2048, short_side=768)
TILE_4O_MINI = ImageRule(kind="tile", base_tokens=2833, tile_tokens=5667, max_side=2048, short_side=768)
TILE_O1 = ImageRule(kind="tile", base_tokens=75, tile_tokens=150, max_side=2048, short_side=768)

GPT_4O = Tokenizer(encoding="o200k_base", method="exact", tools=TOOLS_4O, images=TILE_4O)
GPT_4 = Tokenizer(encoding="cl100k_base", method="exact", tools=TOOLS_4)
GPT_35_0301 = Tokenizer(encoding="cl100k_base", method="exact", message_overhead=4, name_overhead=-1)
CLAUDE = Tokenizer(
    encoding="o200k_base",
    method="approximate",
    factor=Decimal("1.16"),
    band=Decimal("0.15"),
    message_overhead=3,
    reply_priming=1,
    tools=ToolRule(system_prompt_tokens=346, forced_system_prompt_tokens=313),
    images=ImageRule(kind="area", patch_size=28, max_side=1568, patch_budget=1568),
)


def req(body: dict[str, Any], api: Api = "chat") -> Request:
    return Request(line=1, id="r1", api=api, body=body)
