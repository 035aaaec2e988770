"""The issue's scenario (#13): 10,000 product reviews to classify, priced on four models (a GPT, a Claude,
a Gemini and a second GPT) with `--deadline 12h --budget 300`.

The reviews are generated here, seeded, so every run sees the same file: short and long reviews, a few
with non-ASCII text, the length mix of a real review corpus (most a sentence or two, a long tail).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

MODELS = ("gpt-4o-mini", "claude-sonnet-5-5", "gemini-2.5-flash", "gpt-6-sol")
SCENARIO = ("--output-tokens", "200", "--deadline", "12h", "--budget", "300", "--as-of", "2026-12-01",
            "--no-history")
SYSTEM = "Classify the sentiment of this product review as positive, negative or mixed, and list the aspects."

_ASPECTS = ("battery life", "build quality", "the packaging", "customer service", "the price", "shipping",
            "the manual", "the sound", "the screen", "comfort", "the app", "the warranty")
_OPINIONS = ("is great", "is terrible", "is fine", "surprised me", "feels flimsy", "is sturdy", "is overpriced",
             "could be better", "broke after a week", "is exactly as described", "était parfait", "war enttäuschend")


def write_reviews(path: Path, n: int = 10_000, seed: int = 13) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            sentences = rng.choice((1, 1, 2, 2, 3, 4, 6, 12, 30))
            text = " ".join(f"{rng.choice(_ASPECTS).capitalize()} {rng.choice(_OPINIONS)}." for _ in range(sentences))
            row = {"id": f"review-{i:05d}", "messages": [{"role": "system", "content": SYSTEM},
                                                           {"role": "user", "content": text}]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def args(path: Path, *extra: str) -> list[str]:
    """`estimate`/`report` arguments for the scenario (the four models, deadline and budget)."""
    out = [str(path)]
    for m in MODELS:
        out += ["-m", m]
    return [*out, *SCENARIO, *extra]
