"""Exact Mistral counts with Mistral's own library, where it is installed (`pip install batchplan[mistral]`).

mistral-common ships its tokenizers inside the package (SentencePiece and Tekken files under
`mistral_common/data`) and renders a chat request with the control tokens the API bills, so it counts
offline. It ships them only for the models in its own registry (`MODEL_NAME_TO_TOKENIZER_CLS`: Mistral
7B/Mixtral-era, Nemo, Ministral 8B 2410, Large 2407/2411, Pixtral, Codestral 2405); newer models'
tokenizers are downloaded from Hugging Face, which a planner that runs offline does not do. Those, and
requests with parts this does not render (tools, images, tool calls), keep the table's calibrated count,
and the estimate says so.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from planner.core.request import Request

INSTALL_HINT = "pip install 'batchplan[mistral]'"
_DATED = re.compile(r"-\d{4}$")


def available() -> bool:
    """Whether mistral-common is importable here (checked without importing it)."""
    return importlib.util.find_spec("mistral_common") is not None


@cache
def _registry() -> dict[str, Callable[[], Any]]:
    """mistral-common's own model → bundled tokenizer map (empty where the library dropped it)."""
    try:
        mistral = importlib.import_module("mistral_common.tokens.tokenizers.mistral")
    except ImportError:
        return {}
    found = getattr(mistral, "MODEL_NAME_TO_TOKENIZER_CLS", None)
    return dict(found) if isinstance(found, dict) else {}


def registry_name(*names: str) -> str | None:
    """The registry's name for a model known by any of `names` (a table id, its API alias): itself, or its
    single dated release (`open-mistral-nemo` → `open-mistral-nemo-2407`)."""
    registry = _registry()
    for name in names:
        if name in registry:
            return name
        dated = [k for k in registry if _DATED.sub("", k) == name]
        if len(dated) == 1:
            return dated[0]
    return None


@cache
def _tokenizer(name: str) -> Any:
    return _registry()[name]()


def _messages(body: dict[str, Any]) -> list[Any] | None:
    """The chat body as mistral-common messages, or None when it holds what this does not render."""
    msgs = importlib.import_module("mistral_common.protocol.instruct.messages")
    kinds = {"system": msgs.SystemMessage, "developer": msgs.SystemMessage, "user": msgs.UserMessage,
             "assistant": msgs.AssistantMessage}
    if body.get("tools") or body.get("response_format"):
        return None
    out: list[Any] = []
    for m in body.get("messages") or []:
        kind = kinds.get(str(m.get("role"))) if isinstance(m, dict) else None
        content = m.get("content") if isinstance(m, dict) else None
        if kind is None or not isinstance(content, str) or m.get("tool_calls"):
            return None
        out.append(kind(content=content))
    return out or None


def count(name: str, requests: Sequence[Request]) -> list[int] | None:
    """Each chat request's tokens as mistral-common encodes it for the registry model `name`; None when
    any request is not plain text chat (the calibrated count then stands for the whole job)."""
    chat = importlib.import_module("mistral_common.protocol.instruct.request").ChatCompletionRequest
    tokenizer = _tokenizer(name)
    out: list[int] = []
    for req in requests:
        messages = _messages(req.body) if req.api == "chat" else None
        if messages is None:
            return None
        out.append(len(tokenizer.encode_chat_completion(chat(messages=messages)).tokens))
    return out
