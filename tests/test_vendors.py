"""The vendor registry (planner.vendors): every vendor writes a line it reads back as the same request, and
detection names it; the real Gemini/Vertex sample files validate as the vendors' own guides allow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.batchfiles import encode_line, prepare, validate
from planner.datasets import Request
from planner.errors import UsageError
from planner.pricing import load_pricebook
from planner.tokens import count_requests
from planner.vendors import VENDOR_MODULES, LineOptions, Unconvertible, detect_vendor, get_vendor, list_vendors
from planner.vendors import _registry as registry

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
CHAT = Request(7, "r7", "chat", {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
    "temperature": 0.2,
})
#: vendors whose shape another vendor owns for detection
SHARED = {"azure": "openai", "groq": "openai", "fireworks": "mistral"}


@pytest.mark.parametrize("name", list_vendors())
def test_each_vendor_writes_a_line_it_reads_back_and_detects(name: str) -> None:
    vendor = get_vendor(name)
    line, dropped = vendor.build_line(CHAT, "r7", LineOptions(vendor=vendor, model="m-1", max_tokens=32))
    assert dropped == []
    obj = json.loads(encode_line(line))
    parsed = vendor.parse_line(obj, 7)
    assert parsed.problems == [], parsed.problems
    assert parsed.request is not None and parsed.request.max_tokens == 32
    if vendor.id_field is not None:
        assert parsed.custom_id == "r7"
    assert detect_vendor(obj) == SHARED.get(name, name)
    tok = load_pricebook().resolve("gpt-4o-mini").tokenizer
    if vendor.format not in ("anthropic", "bedrock"):  # Messages bodies are counted without role tokens
        assert count_requests([parsed.request], tok) == count_requests([CHAT], tok)


def test_names_and_aliases_are_unique_and_lookups_fail_helpfully() -> None:
    assert len(list_vendors()) == 11 and len(VENDOR_MODULES) == 6
    assert get_vendor("google") is get_vendor("gemini")  # the table's provider id names its vendor
    with pytest.raises(UsageError, match="choose one of anthropic, openai"):
        get_vendor("acme")


def test_a_duplicate_vendor_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.vendors as vendors

    registry.cache_clear()
    monkeypatch.setattr(vendors, "VENDOR_MODULES", (*VENDOR_MODULES, "planner.vendors.xai"))
    try:
        with pytest.raises(ValueError, match="'xai' is defined twice"):
            vendors.list_vendors()
    finally:
        monkeypatch.undo()
        registry.cache_clear()
    assert "xai" in list_vendors()


def test_unconvertible_requests_say_why() -> None:
    vendor = get_vendor("anthropic")
    with pytest.raises(Unconvertible, match="requires max_tokens"):
        vendor.build_line(CHAT, "r7", LineOptions(vendor=vendor, model="claude"))


def test_gemini_lines_without_key_are_valid_with_a_note() -> None:
    """The Gemini batch guide's REST example uploads bare GenerateContentRequest lines (no key, no wrapper)."""
    result = validate(SHAPES / "gemini_bare_doc.jsonl", vendor="gemini", model="gemini-2.0-flash")
    assert result.ok, result.problems
    assert any("2 line(s) have no 'key'" in n for n in result.notes)
    keyed = validate(SHAPES / "gemini_batch_doc.jsonl", vendor="gemini", model="gemini-2.0-flash")
    assert keyed.ok and not any("have no 'key'" in n for n in keyed.notes)
    assert validate(SHAPES / "gemini_bare_doc.jsonl").vendor == "gemini"  # detected from the bare shape


def test_real_vertex_files_validate_and_estimate_like_estimate() -> None:
    from planner.estimate import estimate

    result = validate(SHAPES / "vertex_text.jsonl", vendor="vertex", model="gemini-2.0-flash", output_tokens=10)
    assert result.ok, result.problems  # `parts` given as one object, as the sample that ran on Vertex does
    assert result.estimate is not None
    direct = estimate(SHAPES / "vertex_text.jsonl", ["gemini-2.0-flash"], output_tokens=10).estimates[0]
    assert result.estimate["input_tokens"] == direct.input_tokens


def test_prepare_picks_the_vendor_from_a_google_models_table(tmp_path: Path) -> None:
    data = tmp_path / "p.txt"
    data.write_text("hello\nworld\n", encoding="utf-8")
    manifest = prepare(data, "gemini-2.0-flash", tmp_path / "out", max_tokens=5)
    assert manifest.vendor == "gemini" and manifest.line_format == "gemini-batch"
    assert not any("has no price table loaded" in n for n in manifest.notes)
