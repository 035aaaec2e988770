"""Seeded synthetic datasets for the benchmarks: OpenAI batch chat JSONL and CSV.

`unique=True` (the speed rows) makes every text unique, system prompts included, so that no repeat
cache flatters batchplan; the default keeps four shared system prompts (the repeated-text rows, and
what real batch jobs look like)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

_VOCABULARY = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which but have "
    "an had they you were their one all we can her has there been if more when will would who so no out up "
    "into do any your what about than some them only time could new these two may first then other like "
    "just over also after use how our well work year back where most way even because people good each "
    "through those much before right too mean same any tell very large must big high such follow act why "
    "ask men change went light kind off need house picture try us again animal point mother world near "
    "build self earth father head stand own page should country found answer school grow study still learn "
    "plant cover food sun four between state keep eye never last let thought city tree cross farm hard "
    "start might story saw far sea draw left late run while press close night real life few north open "
    "seem together next white children begin got walk example ease paper group always music both mark "
    "often letter until mile river car feet care second book carry took science eat room friend began idea "
    "fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual "
    "young ready above ever red list though feel talk bird soon body dog family direct pose leave song "
    "measure door product black short numeral class wind question happen complete ship area half rock "
    "order fire south problem piece told knew pass since top whole king space heard best hour better true "
    "during hundred five remember step early hold west ground interest reach fast verb sing listen six "
    "table travel less morning ten simple several vowel toward war lay against pattern slow center love "
    "person money serve appear road map rain rule govern pull cold notice voice unit power town fine "
    "certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able "
    "pound done beauty drive stood contain front teach week final gave green oh quick develop ocean warm "
    "free minute strong special mind behind clear tail produce fact street inch multiply nothing course "
    "invoice customer refund shipping warranty subscription account password latency throughput database "
    "kubernetes deployment pipeline regression embedding tokenizer gradient inference dataset schema"
)
_WORDS = _VOCABULARY.split()
_CODE = [
    "def f(x):\n    return x * 2\n",
    "for i in range(10):\n    print(i)\n",
    "SELECT id, name FROM users WHERE created_at > '2026-01-01';",
    "const total = items.reduce((a, b) => a + b.price, 0);",
    '{"status": "ok", "count": 42, "items": [1, 2, 3]}',
]
_NON_EN = ["お誕生日おめでとう", "Grüße aus München", "Ça coûte 12,50 €", "Привет, как дела?"]
_SYSTEMS = [
    "You are a helpful assistant that classifies customer support tickets.",
    "You are a careful translator. Translate the user's text into plain English.",
    "Summarize the following document in three bullet points.",
    "Extract the invoice number, date and total as JSON.",
]


def _sentence(rng: random.Random) -> str:
    n = rng.randint(6, 24)
    words = [rng.choice(_WORDS) if rng.random() < 0.7 else _WORDS[int(rng.paretovariate(1.2)) % 60] for _ in range(n)]
    text = " ".join(words).capitalize()
    if rng.random() < 0.1:
        text += f" {rng.randint(1, 99999)}"
    return text + rng.choice([".", ".", ".", "?", "!"])


def _paragraph(rng: random.Random, sentences: int) -> str:
    parts = [_sentence(rng) for _ in range(sentences)]
    if rng.random() < 0.15:
        parts.append("\n```\n" + rng.choice(_CODE) + "\n```\n")
    if rng.random() < 0.05:
        parts.append(rng.choice(_NON_EN))
    return " ".join(parts)


def record(rng: random.Random, i: int, unique: bool = False) -> dict[str, object]:
    system = rng.choice(_SYSTEMS)
    if unique:
        system = f"{system} Case {i}: {_sentence(rng)}"
    messages: list[dict[str, str]] = [{"role": "system", "content": system}]
    for turn in range(rng.choice([1, 1, 1, 2, 3])):
        if turn:
            messages.append({"role": "assistant", "content": _paragraph(rng, rng.randint(1, 4))})
        size = int(min(rng.lognormvariate(2.3, 0.9), 200)) + 1
        messages.append({"role": "user", "content": _paragraph(rng, size)})
    if rng.random() < 0.1:
        messages[1]["name"] = "example_user"
    return {
        "custom_id": f"req-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": messages, "max_tokens": 256},
    }


def generate(path: Path, size_mb: float, seed: int = 7, unique: bool = False) -> Path:
    """Write ~size_mb MB of OpenAI batch chat JSONL to `path` (deterministic for a seed)."""
    rng = random.Random(seed)
    target = int(size_mb * 1_000_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    i = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            line = json.dumps(record(rng, i, unique), ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            i += 1
    return path


def generate_csv(path: Path, size_mb: float, seed: int = 7) -> Path:
    """Write ~size_mb MB of CSV (columns id, text; every text unique) to `path`. About one text in six
    holds a code block, so quoted fields with newlines and doubled quotes run through the file."""
    rng = random.Random(seed)
    target = int(size_mb * 1_000_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        i = 0
        while out.tell() < target:
            text = _paragraph(rng, int(min(rng.lognormvariate(2.3, 0.9), 200)) + 1)
            if rng.random() < 0.05:
                text += ' She said "refund" twice.'
            writer.writerow([f"row-{i}", f"{text} (ticket {i})"])
            i += 1
    return path
