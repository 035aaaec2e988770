"""A deliberately skewed Claude dataset: many short support tickets, fewer markdown documents, a few long
code reviews in three turns (~100 to ~12,000 characters per request; Claude/o200k ratios ~1.1 to ~1.3 by
genre). The texts are frozen in tests/fixtures/real/skew_corpus.json (docs and source of
pydantic/pydantic-ai@4fda389, MIT; the tickets of examples/tickets.jsonl). Deterministic for a seed."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "fixtures" / "real" / "skew_corpus.json"
SYSTEM = "Categorize this support ticket as billing, bug, account or other."


def _chunk(rng: random.Random, texts: list[dict[str, str]], lo: int, hi: int) -> str:
    text = rng.choice(texts)["text"]
    n = min(len(text), rng.randrange(lo, hi))
    start = rng.randrange(0, len(text) - n + 1)
    return text[start:start + n]


def skewed_rows(seed: int = 0, n_short: int = 1500, n_md: int = 200, n_code: int = 60,
                model: str = "claude-haiku-4-5") -> list[dict[str, Any]]:
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n_short):
        messages = [{"role": "user", "content": rng.choice(corpus["tickets"])}]
        rows.append({"custom_id": f"s{i}", "params": {"model": model, "max_tokens": 50, "system": SYSTEM,
                                                      "messages": messages}})
    for i in range(n_md):
        messages = [{"role": "user", "content": "Summarize:\n\n" + _chunk(rng, corpus["markdown"], 800, 4000)}]
        rows.append({"custom_id": f"m{i}", "params": {"model": model, "max_tokens": 300, "messages": messages}})
    for i in range(n_code):
        messages = [
            {"role": "user", "content": "Review this code:\n```python\n" + _chunk(rng, corpus["python"], 3000, 12000)
             + "\n```"},
            {"role": "assistant", "content": "Sure. What should I focus on?"},
            {"role": "user", "content": "Bugs and missing tests."},
        ]
        rows.append({"custom_id": f"c{i}", "params": {"model": model, "max_tokens": 500, "messages": messages}})
    rng.shuffle(rows)
    return rows
