"""Count a request's input tokens the way the vendor bills them.

A request becomes a fixed number of formatting tokens plus a list of texts to encode (`Pieces`), so
that many requests can be encoded in one batched tiktoken call. OpenAI models are exact: the encoding
of their family and the chat accounting of the openai-cookbook recipe ("How to count tokens with
tiktoken": per-message overhead, `name`, reply priming). Vendors without a public tokenizer are
counted with the encoding their table names, times the table's calibration factor, with its band.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from planner.datasets import Request
from planner.encodings import get_encoding
from planner.pricing import Tokenizer


@dataclass(slots=True)
class Pieces:
    """Formatting tokens that need no encoding, plus the texts whose encodings are counted."""

    fixed: int = 0
    texts: list[str] = field(default_factory=list)


def _text_of_part(part: Any, pieces: Pieces) -> None:
    """One element of a multi-part `content` list. Text parts are counted; other parts by their JSON."""
    if isinstance(part, str):
        pieces.texts.append(part)
        return
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
        pieces.texts.append(part["text"])
    elif kind == "refusal" and isinstance(part.get("refusal"), str):
        pieces.texts.append(part["refusal"])
    else:
        # Images, audio and files are billed by their own rules (see planner.images when present);
        # until a rule applies, the part's JSON is counted so it is never silently free.
        pieces.texts.append(json.dumps(part, ensure_ascii=False, sort_keys=True))


def _content(content: Any, pieces: Pieces) -> None:
    if content is None:
        return
    if isinstance(content, str):
        pieces.texts.append(content)
        return
    if isinstance(content, list):
        for part in content:
            _text_of_part(part, pieces)
        return
    pieces.texts.append(json.dumps(content, ensure_ascii=False, sort_keys=True))


def chat_pieces(messages: Sequence[dict[str, Any]], tok: Tokenizer) -> Pieces:
    """The cookbook accounting: per message overhead + role + content (+ name and its overhead), + priming."""
    pieces = Pieces()
    for message in messages:
        pieces.fixed += tok.message_overhead
        for key, value in message.items():
            if key == "content":
                _content(value, pieces)
            elif key == "tool_calls" and isinstance(value, list):
                for call in value:
                    fn = call.get("function", {}) if isinstance(call, dict) else {}
                    pieces.texts.append(str(fn.get("name", "")))
                    pieces.texts.append(str(fn.get("arguments", "")))
            elif isinstance(value, str):
                pieces.texts.append(value)
                if key == "name":
                    pieces.fixed += tok.name_overhead
    pieces.fixed += tok.reply_priming
    return pieces


def anthropic_pieces(body: dict[str, Any], tok: Tokenizer) -> Pieces:
    """Messages API body: system prompt, then messages with the table's per-message overhead."""
    pieces = Pieces()
    system = body.get("system")
    if system is not None:
        pieces.fixed += tok.message_overhead
        _content(system, pieces)
    for message in body.get("messages", []):
        pieces.fixed += tok.message_overhead
        _content(message.get("content"), pieces)
    pieces.fixed += tok.reply_priming
    return pieces


def responses_pieces(body: dict[str, Any], tok: Tokenizer) -> Pieces:
    """Responses API: `instructions` act as a system message; `input` is a string or a list of items."""
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "developer", "content": body["instructions"]})
    given = body.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif isinstance(given, list):
        for item in given:
            if isinstance(item, dict) and "role" in item:
                messages.append({"role": item["role"], "content": item.get("content")})
            else:
                messages.append({"role": "user", "content": item if isinstance(item, str) else [item]})
    return chat_pieces(messages, tok)


def plain_pieces(value: Any) -> Pieces:
    """Embeddings `input` / completions `prompt`: the text alone, no formatting tokens."""
    pieces = Pieces()
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            pieces.texts.append(item)
        elif isinstance(item, int):
            pieces.fixed += 1  # a pre-tokenized prompt: each integer is a token
        elif isinstance(item, list):
            pieces.fixed += sum(1 for t in item if isinstance(t, int))
    return pieces


def request_pieces(req: Request, tok: Tokenizer) -> Pieces:
    if req.api == "chat":
        return chat_pieces(req.body["messages"], tok)
    if req.api == "anthropic":
        return anthropic_pieces(req.body, tok)
    if req.api == "responses":
        return responses_pieces(req.body, tok)
    if req.api == "embeddings":
        return plain_pieces(req.body.get("input"))
    return plain_pieces(req.body.get("prompt"))


def calibrate(raw: int, tok: Tokenizer) -> int:
    """Apply an approximate tokenizer's calibration factor, rounding up (never undercount)."""
    if tok.factor == 1:
        return raw
    return int((Decimal(raw) * tok.factor).to_integral_value(rounding=ROUND_CEILING))


def count_requests(requests: Sequence[Request], tok: Tokenizer, *, threads: int = 1) -> list[int]:
    """Input tokens of each request. Texts of all requests are encoded in one batch call."""
    enc = get_encoding(tok.encoding)
    all_pieces = [request_pieces(r, tok) for r in requests]
    flat = [t for p in all_pieces for t in p.texts]
    if threads > 1 and len(flat) > 64:
        lengths = [len(ids) for ids in enc.encode_ordinary_batch(flat, num_threads=threads)]
    else:
        lengths = [len(enc.encode_ordinary(t)) for t in flat]
    out: list[int] = []
    at = 0
    for p in all_pieces:
        n = len(p.texts)
        out.append(calibrate(p.fixed + sum(lengths[at : at + n]), tok))
        at += n
    return out


def count_text(text: str, tok: Tokenizer) -> int:
    """Tokens of a bare text (e.g. a sample output), calibrated like the request counts."""
    return calibrate(len(get_encoding(tok.encoding).encode_ordinary(text)), tok)


def band_label(tok: Tokenizer) -> str:
    if tok.method == "exact":
        return "exact"
    return f"approximate (±{math.ceil(tok.band * 100)}%)"
