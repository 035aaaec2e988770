"""The vendor registry (planner.vendors): every vendor writes a line it reads back as the same request, and
detection names it; the real Gemini/Vertex sample files validate as the vendors' own guides allow; a vendor's
line is read in its module alone, so estimate and validate read the same request from it."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planner.batch.lines import encode_line
from planner.batch.prepare import prepare
from planner.batch.validate import validate
from planner.core.errors import UsageError
from planner.core.request import Request
from planner.count.tokens import count_requests
from planner.prices.pricing import load_pricebook
from planner.read.datasets import ReadOptions, read_requests
from planner.vendors import (
    VENDOR_MODULES,
    LineOptions,
    LineShape,
    Unconvertible,
    detect_vendor,
    get_vendor,
    line_shapes,
    list_vendors,
)
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
    from planner.plan.estimate import estimate

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


#: Google's own example line for Claude batch predictions on Vertex, verbatim
#: (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude-batch, "Prepare input").
VERTEX_CLAUDE_EXAMPLE = {
    "custom_id": "request-1",
    "request": {
        "messages": [{"role": "user", "content": "Hello!"}],
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 50,
    },
}


def test_prepare_for_claude_on_vertex_writes_claude_lines_not_gemini_ones(tmp_path: Path) -> None:
    """Before: `prepare --vendor vertex -m claude-…` wrote Gemini `contents` lines, which a Claude batch job
    on Vertex rejects. Now the lines have the shape of Google's example, and read back clean."""
    data = tmp_path / "p.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "system", "content": "Be brief."},
                                             {"role": "user", "content": "Hello!"}]}) + "\n", encoding="utf-8")
    manifest = prepare(data, "vertex/claude-haiku-4-5", tmp_path / "out", vendor="vertex", max_tokens=50)
    assert manifest.vendor == "vertex" and manifest.line_format == "vertex-claude-batch"
    line = json.loads((tmp_path / "out" / manifest.files[0].name).read_text(encoding="utf-8"))
    assert set(line) == set(VERTEX_CLAUDE_EXAMPLE)
    request = line["request"]
    assert request["anthropic_version"] == VERTEX_CLAUDE_EXAMPLE["request"]["anthropic_version"]
    assert request["max_tokens"] == 50 and request["system"] == "Be brief."
    assert request["messages"] == VERTEX_CLAUDE_EXAMPLE["request"]["messages"]
    assert "model" not in request and "contents" not in request
    checked = validate(tmp_path / "out" / manifest.files[0].name, vendor="vertex", model="vertex/claude-haiku-4-5")
    assert not [p for p in checked.problems if p.line is not None], checked.problems


def test_googles_claude_example_line_validates_on_vertex_and_counts_as_claude(tmp_path: Path) -> None:
    path = tmp_path / "claude.jsonl"
    path.write_text(json.dumps(VERTEX_CLAUDE_EXAMPLE) + "\n", encoding="utf-8")
    assert detect_vendor(VERTEX_CLAUDE_EXAMPLE) == "vertex"
    result = validate(path, vendor="vertex", model="vertex/claude-haiku-4-5")
    assert not [p for p in result.problems if p.line is not None], result.problems
    assert result.estimate is not None and result.estimate["output_tokens"] == 50


def test_validate_says_when_vertex_lines_do_not_fit_the_model(tmp_path: Path) -> None:
    """Gemini lines sent to a Claude model on Vertex (or the reverse) fail the whole job: say so."""
    claude = tmp_path / "claude.jsonl"
    claude.write_text(json.dumps(VERTEX_CLAUDE_EXAMPLE) + "\n", encoding="utf-8")
    result = validate(claude, vendor="vertex", model="gemini-2.5-flash")
    assert any(p.line == 1 and "takes Gemini lines on Vertex, but these are Claude lines" in p.message
               for p in result.problems), result.problems
    gemini = SHAPES / "vertex_text.jsonl"
    result = validate(gemini, vendor="vertex", model="vertex/claude-haiku-4-5", output_tokens=10)
    assert any("takes Claude lines on Vertex, but these are Gemini lines" in p.message for p in result.problems)
    request = {**VERTEX_CLAUDE_EXAMPLE["request"], "anthropic_version": "bedrock-2023-05-31"}
    bad = dict(VERTEX_CLAUDE_EXAMPLE, request=request)
    claude.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    result = validate(claude, vendor="vertex", model="vertex/claude-haiku-4-5")
    assert any("anthropic_version must be \"vertex-2023-10-16\"" in p.message for p in result.problems)


#: the vendors whose lines `estimate` reads too (xAI's line is validate's only)
READ_BY_ESTIMATE = [name for name in list_vendors() if name != "xai"]


@pytest.mark.parametrize("name", READ_BY_ESTIMATE)
def test_estimate_and_validate_read_the_same_request_from_a_vendor_line(name: str, tmp_path: Path) -> None:
    """One line shape, one reader: the dataset reader (estimate) and validate get the same Request."""
    vendor = get_vendor(name)
    path = tmp_path / "batch.jsonl"
    lines = [vendor.build_line(CHAT, f"r{i}", LineOptions(vendor=vendor, model="m-1", max_tokens=32))[0]
             for i in (1, 2)]
    path.write_bytes(b"".join(encode_line(line) for line in lines))
    fmt, stream = read_requests(str(path), ReadOptions())
    read = list(stream)
    checked = [vendor.parse_line(line, number).request for number, line in enumerate(lines, 1)]
    assert fmt in line_shapes()
    assert read == checked


def test_googles_claude_example_line_is_read_by_estimate_as_vertex_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "claude.jsonl"
    path.write_text(json.dumps(VERTEX_CLAUDE_EXAMPLE) + "\n", encoding="utf-8")
    fmt, stream = read_requests(str(path), ReadOptions())
    assert fmt == "vertex-batch"
    assert list(stream) == [get_vendor("vertex").parse_line(VERTEX_CLAUDE_EXAMPLE, 1).request]


def _read_acme(obj: dict[str, Any], number: int) -> Request:
    return Request(number, str(obj["acme_id"]), "chat", {"messages": [{"role": "user", "content": obj["ask"]}]})


@pytest.fixture
def acme_vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A vendor module that only exists in this test, with one line shape and no vendor object."""
    import planner.vendors as vendors

    module = types.ModuleType("acme_vendor")
    module.VENDORS = ()  # type: ignore[attr-defined]
    module.LINE_SHAPES = (LineShape("acme-batch", lambda obj: "acme_id" in obj, _read_acme),)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_vendor", module)
    monkeypatch.setattr(vendors, "VENDOR_MODULES", (*VENDOR_MODULES, "acme_vendor"))
    line_shapes.cache_clear()
    registry.cache_clear()
    yield
    monkeypatch.undo()
    line_shapes.cache_clear()
    registry.cache_clear()


@pytest.mark.usefixtures("acme_vendor")
def test_a_line_shape_registered_only_in_its_vendor_module_is_read_by_the_dataset_reader(tmp_path: Path) -> None:
    path = tmp_path / "acme.jsonl"
    path.write_text('{"acme_id": 41, "ask": "hi"}\n{"acme_id": 42, "ask": "yo"}\n', encoding="utf-8")
    fmt, stream = read_requests(str(path), ReadOptions())
    assert fmt == "acme-batch"
    assert [(r.id, r.body["messages"][0]["content"]) for r in stream] == [("41", "hi"), ("42", "yo")]


def test_a_line_shape_name_given_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.vendors as vendors

    line_shapes.cache_clear()
    monkeypatch.setattr(vendors, "VENDOR_MODULES", (*VENDOR_MODULES, "planner.vendors.openai"))
    try:
        with pytest.raises(ValueError, match="'openai-batch' is defined twice"):
            vendors.line_shapes()
    finally:
        monkeypatch.undo()
        line_shapes.cache_clear()
