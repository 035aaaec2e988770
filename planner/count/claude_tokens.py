"""Claude input tokens offline from ctok, with the request framing measured on real API usage.

Anthropic publishes no tokenizer for Claude 3 and later. `ctok` (MIT, https://github.com/sanderland/ctok)
reconstructs the count of one user message, frame included, and matches recorded `count_tokens`
responses exactly on ~2.3M texts (its README). It routes a version string to a family: "3.0" → v3
(Claude 3 through Opus 4.6), "4.7" → v4.7 (Opus 4.7), "4.8" → v4.8 (Opus 4.8, Sonnet 5, Fable 5 and
later). Which family a model uses is table data (`Tokenizer.exact`, planner.prices.pricing.ExactRule).

A Messages request is counted as ctok's one-message frame, plus every text's own tokens (its count
minus the frame), plus `turn_tokens` per change of speaker and `join_tokens` per further text block
or repeated speaker. Measured on the real requests and billed `usage.input_tokens` of the
pydantic/pydantic-ai and simonw/llm-anthropic test cassettes: exact on all 24 text-only requests of the
v3 family (one to three turns, with and without a system prompt, several text blocks); the v4.8 constants
(2 per turn, 1 per join) fit all 8 of its multi-turn requests. A system prompt costs only its text.

What ctok does not cover is counted and flagged, never dropped: tool definitions (the table's tool-use
system prompt plus each definition's JSON: within ±5 tokens of real usage on 40 requests), images (the
table's 28-px rule), tool calls and results, documents, and conversations that do not start and end
with a user turn. Those parts get the rule's `uncovered_band` added, rounded up, so an approximation
here leans high, and the request is reported as approximate.

ctok is pure Python (~0.3 MB/s here, against tiktoken's ~15 MB/s), so a large file is counted exactly
on a sample and the o200k count of the whole file is calibrated by the sample's per-request ratio
(planner.count.calibration). Texts are memoised: a system prompt shared by every request is tokenized once.

ctok's metadata asks for Python ≥ 3.12; it runs unchanged on 3.11 (pip's `--ignore-requires-python`).
Where it is not installed, Claude counts fall back to the table's stated approximation.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from functools import cache
from typing import Any

from planner.core.request import Request
from planner.count.images import count_base64_image, count_image
from planner.count.tokens import chat_as_anthropic, structured_text
from planner.count.tool_tokens import anthropic_system_prompt
from planner.prices.pricing import ExactRule, Tokenizer

INSTALL_HINT = "installed with batchplan on Python 3.12+; on 3.11: pip install --ignore-requires-python ctok"
#: Texts longer than this are not memoised (they rarely repeat, and would hold memory).
MEMO_MAX_LEN = 32_768
MEMO_MAX_ITEMS = 200_000
_PAD = "⟨pad⟩"


@cache
def _engine() -> Any | None:
    try:
        return importlib.import_module("ctok")
    except ImportError:
        return None


def available() -> bool:
    """Whether ctok is importable here."""
    return _engine() is not None


def unavailable_note() -> str:
    return f"ctok is not installed, so Claude counts use the table's approximation ({INSTALL_HINT})"


@dataclass(frozen=True, slots=True)
class ClaudeCount:
    """One request's Claude input tokens: `exact` when every part is one ctok reproduces with measured
    framing; otherwise `uncovered` names what was approximated (and `uncovered_tokens` its share)."""

    tokens: int
    exact: bool
    uncovered_tokens: int = 0
    uncovered: tuple[str, ...] = ()


@dataclass
class _Tally:
    exact: int = 0
    loose: int = 0  # uncovered parts, before their margin
    why: set[str] = field(default_factory=set)


class ClaudeCounter:
    """Counts Messages requests for one ctok family; remembers the token count of texts it has seen."""

    def __init__(self, rule: ExactRule, version: str, tok: Tokenizer) -> None:
        engine = _engine()
        if engine is None:
            raise RuntimeError(unavailable_note())
        self.rule = rule
        self.version = version
        self.tok = tok
        self._count: Callable[[str, str], int] = engine.token_count
        self.frame = list(engine.tokenize("x", version)).count(_PAD)
        # framing constants were measured for the entry's own family; a model routed to another one
        # (`by_model`) is counted with them but multi-turn requests are reported as approximate
        self.turns_measured = rule.turns_measured and version == rule.version
        self.memo: dict[str, int] = {}

    # -- texts ------------------------------------------------------------------------------

    def content(self, text: str) -> int:
        """Tokens of a text inside a request: its one-message count minus the frame."""
        if not text:
            return 0
        n = self.memo.get(text)
        if n is None:
            n = max(0, self._count(text, self.version) - self.frame)
            if len(text) <= MEMO_MAX_LEN:
                if len(self.memo) >= MEMO_MAX_ITEMS:
                    self.memo.clear()
                self.memo[text] = n
        return n

    # -- requests ---------------------------------------------------------------------------

    def count(self, req: Request) -> ClaudeCount:
        body = chat_as_anthropic(req.body) if req.api == "chat" else req.body if req.api == "anthropic" else None
        if body is None:
            # another API's body (Gemini contents, Responses, embeddings): the table's rule counts it, flagged
            from planner.count.tokens import count_requests

            approx = count_requests([req], self.tok)[0]
            return ClaudeCount(approx, False, approx, (f"a {req.api} body (counted with the table's rule)",))
        return self.count_body(body, structured_text(req))

    def count_body(self, body: dict[str, Any], schema: str | None = None) -> ClaudeCount:
        """One Messages body; `schema` is the structured-output schema's text when the request came in
        another shape (a chat body's `response_format`), else the body's own `output_config.format`."""
        t = _Tally(exact=self.frame)
        self._schema(body, schema, t)
        system = body.get("system")
        if system is not None:
            self._blocks(system, t)
        messages = body.get("messages") or []
        prev: str | None = None
        last = len(messages) - 1
        for i, m in enumerate(messages):
            role = m.get("role") if isinstance(m, dict) else None
            content = m.get("content") if isinstance(m, dict) else m
            if i > 0:
                if role != prev:
                    t.exact += self.rule.turn_tokens
                    if not self.turns_measured:
                        t.why.add("multi-turn framing of this tokenizer family (not measured)")
                else:
                    t.exact += self.rule.join_tokens
            prev = role
            if role not in ("user", "assistant"):
                t.why.add(f"a '{role}' turn inside messages")
            if isinstance(content, list) and i < last:  # thinking of earlier turns is not input
                content = [p for p in content if not (isinstance(p, dict) and p.get("type") in
                                                      ("thinking", "redacted_thinking"))]
            self._blocks(content, t)
        if messages and (messages[0].get("role") != "user" or messages[-1].get("role") != "user"):
            t.why.add("a conversation that does not start and end with a user turn")
        tools = body.get("tools")
        if isinstance(tools, list) and tools:
            t.loose += anthropic_system_prompt(body.get("tool_choice"), self.tok.tools)
            t.loose += sum(self.content(json.dumps(tool, ensure_ascii=False)) for tool in tools)
            t.why.add("tool definitions")
            server = sorted({str(tool.get("type")) for tool in tools if isinstance(tool, dict)
                             and tool.get("type") not in (None, "custom")})
            if server:  # web search, code execution, memory…: their prompts and results are not published
                t.why.add(f"server tools ({', '.join(server)}: their hidden prompts and results are not counted)")
        return self._finish(t)

    def _schema(self, body: dict[str, Any], schema: str | None, t: _Tally) -> None:
        """A structured-output schema is prompt text Anthropic renders unseen: counted as its JSON, loose."""
        if schema is None:
            schema = structured_text(Request(0, "schema", "anthropic", body))
        if schema is not None:
            t.loose += self.content(schema)
            t.why.add("a structured-output schema")

    def _blocks(self, content: Any, t: _Tally) -> None:
        if content is None:
            return
        if isinstance(content, str):
            t.exact += self.content(content)
            return
        if not isinstance(content, list):
            t.loose += self.content(json.dumps(content, ensure_ascii=False))
            t.why.add("content that is neither text nor a list of blocks")
            return
        for j, part in enumerate(content):
            if j > 0:
                t.exact += self.rule.join_tokens
            if isinstance(part, str):
                t.exact += self.content(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                t.exact += self.content(part["text"])
            else:
                self._other(part, t)

    def _other(self, part: Any, t: _Tally) -> None:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image" and self.tok.images is not None:
            source = part.get("source") if isinstance(part.get("source"), dict) else {}
            if source.get("type") == "base64" and isinstance(source.get("data"), str):
                found = count_base64_image(source["data"], self.tok.images)
            else:
                found = count_image(source.get("url") if isinstance(source.get("url"), str) else None,
                                    self.tok.images, None)
            t.loose += found.tokens
            t.why.add("images (28-px rule)")
            return
        if kind == "tool_use":
            t.loose += self.rule.tool_block_tokens + self.content(str(part.get("name", ""))) + self.content(
                json.dumps(part.get("input", {}), ensure_ascii=False))
            t.why.add("tool calls")
            return
        if kind == "tool_result":
            inner = _Tally()
            self._blocks(part.get("content"), inner)
            t.loose += self.rule.tool_block_tokens + inner.exact + inner.loose
            t.why.add("tool results")
            return
        t.loose += self.content(json.dumps(part, ensure_ascii=False))
        t.why.add(f"'{kind}' blocks" if kind else "non-text blocks")

    def _finish(self, t: _Tally) -> ClaudeCount:
        if not t.why:
            return ClaudeCount(t.exact, True)
        margin = Decimal(1) + self.rule.uncovered_band
        loose = int((Decimal(t.loose) * margin).to_integral_value(rounding=ROUND_CEILING))
        return ClaudeCount(t.exact + loose, False, loose, tuple(sorted(t.why)))


def rule_for(tok: Tokenizer) -> ExactRule | None:
    """The tokenizer's ctok rule when ctok is installed, else None (the approximation applies)."""
    if tok.exact is None or tok.exact.engine != "ctok" or not available():
        return None
    return tok.exact


@cache
def _counter(rule_json: str, version: str, tok_json: str) -> ClaudeCounter:
    return ClaudeCounter(ExactRule.model_validate_json(rule_json), version, Tokenizer.model_validate_json(tok_json))


def family_counter(rule: ExactRule, version: str, tok: Tokenizer) -> ClaudeCounter:
    """The (shared, memoising) counter of one ctok family under one tokenizer rule (ctok must be installed)."""
    return _counter(rule.model_dump_json(), version, tok.model_dump_json())


def counter(tok: Tokenizer, model_id: str) -> ClaudeCounter | None:
    """A (shared, memoising) counter for this model, or None without ctok or a ctok rule."""
    rule = rule_for(tok)
    if rule is None:
        return None
    return family_counter(rule, rule.version_for(model_id), tok)


def count_requests(requests: Sequence[Request], tok: Tokenizer, model_id: str) -> list[ClaudeCount] | None:
    """Each request's Claude count, or None when ctok (or the table's rule) is missing."""
    c = counter(tok, model_id)
    if c is None:
        return None
    return [c.count(r) for r in requests]


def text_tokens(text: str, tok: Tokenizer, model_id: str) -> int | None:
    """A bare text's tokens (e.g. a real output), or None without ctok."""
    c = counter(tok, model_id)
    return None if c is None else c.content(text)
