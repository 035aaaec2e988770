"""Mistral: exact counts with mistral-common (the `mistral` extra) for the models whose tokenizers it
ships; the table's approximation, said so, everywhere else."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from planner.core.request import Request
from planner.count import mistral_tokens
from planner.plan.estimate import estimate
from planner.plan.results import ModelEstimate
from planner.prices.pricing import load_pricebook

AS_OF = date(2026, 12, 6)
BOOK = load_pricebook(AS_OF)
ROWS = [
    {"custom_id": "a", "body": {"model": "open-mistral-nemo", "max_tokens": 10, "messages": [
        {"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "What is 2+2?"}]}},
    {"custom_id": "b", "body": {"model": "open-mistral-nemo", "max_tokens": 10, "messages": [
        {"role": "user", "content": "Translate to French: good morning, how are you today?"}]}},
]


@pytest.fixture
def job(tmp_path: Path) -> Path:
    path = tmp_path / "mistral.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def _estimate(path: Path, model: str) -> tuple[ModelEstimate, list[str]]:
    result = estimate(path, [model], output_tokens=5, as_of=AS_OF, pricebook=BOOK)
    e = result.estimates[0]
    return e, list(e.assumptions)


def test_without_mistral_common_the_approximation_says_how_to_be_exact(job: Path) -> None:
    if mistral_tokens.available():
        pytest.skip("mistral-common is installed here")
    e, notes = _estimate(job, "open-mistral-nemo")
    assert e.token_method == "approximate"
    assert any("mistral-common is not installed" in n and mistral_tokens.INSTALL_HINT in n for n in notes)
    assert mistral_tokens.registry_name("open-mistral-nemo") is None


def test_with_mistral_common_a_model_it_ships_is_exact(job: Path) -> None:
    pytest.importorskip("mistral_common")
    assert mistral_tokens.registry_name("open-mistral-nemo", "mistral-nemo") == "open-mistral-nemo-2407"
    # '<s>[INST]You are a helpful assistant.\n\nWhat is 2+2?[/INST]' in Tekken: 16 tokens
    body = ROWS[0]["body"]
    assert isinstance(body, dict)
    first = Request(1, "a", "chat", body)
    assert mistral_tokens.count("open-mistral-nemo-2407", [first]) == [16]
    e, _ = _estimate(job, "open-mistral-nemo")
    assert e.token_method == "exact" and "mistral-common" in e.token_method_label


def test_with_mistral_common_a_newer_model_keeps_the_approximation_and_says_why(job: Path) -> None:
    pytest.importorskip("mistral_common")
    e, notes = _estimate(job, "mistral-small-latest")
    assert e.token_method == "approximate"
    assert any("ships no tokenizer for mistral-small-latest" in n for n in notes)


def test_requests_it_does_not_render_keep_the_approximation(write_jsonl: Callable[..., Path]) -> None:
    pytest.importorskip("mistral_common")
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    body = ROWS[0]["body"]
    assert isinstance(body, dict)
    path = write_jsonl([{**body, "tools": [tool]}])
    e, notes = _estimate(path, "open-mistral-nemo")
    assert e.token_method == "approximate"
    assert any("not asked to render" in n for n in notes)
