"""Image token formulas against every worked example in tokens.md §3, and header-only size parsing."""

from __future__ import annotations

import base64
import builtins
import json
import os
import struct
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _tok import CLAUDE, GPT_4O, TILE_4O, TILE_4O_MINI, TILE_5, TILE_O1, req

from planner.count.images import (
    anthropic_resized,
    count_image,
    image_size,
    image_tokens,
    patch_count,
    size_of_source,
)
from planner.count.tokens import count_requests, count_requests_detailed, count_text
from planner.prices.pricing import ImageRule, Tokenizer

# ------------------------------------------------------------------------------------------------
# OpenAI tile rule


@pytest.mark.parametrize(
    ("rule", "w", "h", "detail", "expected"),
    [
        (TILE_4O, 1024, 1024, "high", 765),
        (TILE_4O, 2048, 4096, "high", 1105),
        (TILE_4O, 4096, 8192, "low", 85),
        (TILE_4O, 1024, 1024, "auto", 765),
        (TILE_4O, 128, 64, "high", 255),  # forum 1262691: 267 - 12 text tokens
        (TILE_4O, 128, 64, "low", 85),
        (TILE_5, 1024, 1024, "high", 630),
        (TILE_4O_MINI, 1024, 1024, "high", 25501),
        (TILE_4O_MINI, 128, 64, "high", 8500),  # forum: 8512 - 12
        (TILE_4O_MINI, 128, 64, "low", 2833),
        (TILE_O1, 1024, 1024, "high", 675),
        (TILE_O1, 512, 512, "low", 75),
    ],
)
def test_tile_rule(rule: ImageRule, w: int, h: int, detail: str, expected: int) -> None:
    assert image_tokens(w, h, rule, detail) == expected


def test_tile_rule_low_detail_override_and_gpt_image_short_side() -> None:
    rule = ImageRule(kind="tile", base_tokens=65, tile_tokens=129, short_side=512, low_detail_tokens=40)
    assert image_tokens(1024, 1024, rule, "low") == 40
    assert image_tokens(1024, 1024, rule, "high") == 65 + 129 * 1  # shortest side scaled to 512


# ------------------------------------------------------------------------------------------------
# OpenAI patch rule

PATCH_1536 = ImageRule(kind="patch", patch_budget=1536)
GPT_41_MINI = ImageRule(kind="patch", patch_budget=1536, multiplier=Decimal("1.62"))
GPT_5_MINI = ImageRule(kind="patch", patch_budget=1536, max_side=2048, multiplier=Decimal("1.2"))
GPT_54 = ImageRule(
    kind="patch",
    max_side=2048,
    patch_budget=2500,
    multiplier=Decimal("1.2"),
    detail_limits={"low": (2048, 6144), "high": (2048, 2500), "original": (6000, 10000)},
    auto_detail="high",
)
GPT_56 = ImageRule(
    kind="patch",
    multiplier=Decimal("1.2"),
    detail_limits={"low": (512, None), "high": (2048, 2500), "original": (65535, None)},
    auto_detail="original",
)


def test_patch_doc_examples() -> None:
    assert patch_count(1024, 1024, 32, 1536, None) == 1024
    assert image_tokens(1024, 1024, PATCH_1536) == 1024
    assert patch_count(1800, 2400, 32, 1536, None) == 1452  # -> 1056x1408 -> 33x44
    assert image_tokens(1800, 2400, PATCH_1536) == 1452
    assert image_tokens(1800, 2400, GPT_41_MINI) == 2353  # ceil(1452 * 1.62)


@pytest.mark.parametrize(
    ("w", "h", "expected"),
    [(256, 256, 77), (512, 512, 308), (768, 1024, 922), (1280, 720, 1104), (1024, 1024, 1229), (2048, 768, 1844)],
)
def test_patch_measured_gpt5_mini(w: int, h: int, expected: int) -> None:
    assert image_tokens(w, h, GPT_5_MINI, "high") == expected


def test_patch_gpt54_details() -> None:
    assert image_tokens(1024, 1024, GPT_54, "high") == 1229
    assert image_tokens(2048, 2048, GPT_54, "high") == 3000  # 1600x1600 = 2500 patches
    assert image_tokens(2048, 2048, GPT_54, "auto") == 3000
    assert image_tokens(2048, 2048, GPT_54, "low") == 4916  # 6,144-patch budget: 4096 patches * 1.2
    assert image_tokens(4000, 4000, GPT_54, "original") == 12000  # 10,000-patch budget


def test_patch_gpt56_original_has_no_budget() -> None:
    assert image_tokens(4096, 4096, GPT_56, "auto") == 19661  # auto = original, no budget: ceil(16384 * 1.2)
    assert image_tokens(4096, 4096, GPT_56, "low") == 308  # fits 512x512 -> 256 patches


# ------------------------------------------------------------------------------------------------
# Anthropic

CLAUDE_STD = ImageRule(kind="area", patch_size=28, max_side=1568, patch_budget=1568)
CLAUDE_HIRES = ImageRule(kind="area", patch_size=28, max_side=2576, patch_budget=4784)
CLAUDE_LEGACY = ImageRule(kind="area", pixels_per_token=750, max_side=1568)


@pytest.mark.parametrize(
    ("w", "h", "std", "hires"),
    [
        (200, 200, 64, 64),
        (1000, 1000, 1296, 1296),
        (1092, 1092, 1521, 1521),
        (1920, 1080, 1560, 2691),
        (2000, 1500, 1564, 3888),
        (3840, 2160, 1560, 4784),
        (1075, 1520, 1551, 2145),
    ],
)
def test_anthropic_table(w: int, h: int, std: int, hires: int) -> None:
    assert image_tokens(w, h, CLAUDE_STD) == std
    assert image_tokens(w, h, CLAUDE_HIRES) == hires


def test_anthropic_resized_sizes() -> None:
    assert anthropic_resized(1920, 1080, 28, 1568, 1568) == (1456, 819)
    assert anthropic_resized(2000, 1500, 28, 1568, 1568) == (1270, 952)
    assert anthropic_resized(1075, 1520, 28, 1568, 1568) == (924, 1307)
    assert anthropic_resized(3840, 2160, 28, 2576, 4784) == (2576, 1449)
    assert anthropic_resized(1000, 1000, 28, 1568, 1568) == (1000, 1000)


def test_anthropic_legacy_area_rule() -> None:
    assert image_tokens(200, 200, CLAUDE_LEGACY) == 54  # ≈54 in the older doc
    assert image_tokens(1000, 1000, CLAUDE_LEGACY) == 1334
    assert image_tokens(1092, 1092, CLAUDE_LEGACY) == 1590


# ------------------------------------------------------------------------------------------------
# Gemini

GEMINI = ImageRule(kind="fixed", base_tokens=258, tile_tokens=258, tile_size=768, small_side=384)


@pytest.mark.parametrize(
    ("w", "h", "expected"),
    [(384, 384, 258), (200, 300, 258), (1024, 1024, 1032), (1920, 1080, 1548), (3000, 2000, 3096), (600, 400, 258)],
)
def test_gemini(w: int, h: int, expected: int) -> None:
    assert image_tokens(w, h, GEMINI) == expected


def test_gemini_pre_2_fixed_per_image() -> None:
    assert image_tokens(3000, 2000, ImageRule(kind="fixed", base_tokens=258)) == 258


def test_invalid_size() -> None:
    with pytest.raises(ValueError):
        image_tokens(0, 10, TILE_4O)


# ------------------------------------------------------------------------------------------------
# Sizes from headers


def png(w: int, h: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", w, h) + b"\x08\x02\x00\x00\x00"


def gif(w: int, h: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", w, h) + b"\x00\x00\x00"


def jpeg(w: int, h: int, exif_bytes: int = 0, sof: int = 0xC0) -> bytes:
    app1 = b"\xff\xe1" + struct.pack(">H", exif_bytes + 2) + b"\x00" * exif_bytes if exif_bytes else b""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 4) + b"\x00\x00"
    frame = b"\xff" + bytes([sof]) + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + app1 + dqt + frame + b"\xff\xda\x00\x02" + b"\x00" * 8 + b"\xff\xd9"


def webp_vp8(w: int, h: int) -> bytes:
    body = b"VP8 " + struct.pack("<I", 10) + b"\x00\x00\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", w, h)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def webp_vp8l(w: int, h: int) -> bytes:
    bits = ((h - 1) << 14) | (w - 1)
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def webp_vp8x(w: int, h: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (w - 1).to_bytes(3, "little")
    body += (h - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


@pytest.mark.parametrize(
    "data",
    [
        png(1234, 567),
        gif(1234, 567),
        jpeg(1234, 567),
        jpeg(1234, 567, sof=0xC2),
        webp_vp8(1234, 567),
        webp_vp8l(1234, 567),
        webp_vp8x(1234, 567),
    ],
    ids=["png", "gif", "jpeg", "jpeg-progressive", "webp-vp8", "webp-vp8l", "webp-vp8x"],
)
def test_image_size_formats(data: bytes) -> None:
    assert image_size(data) == (1234, 567)


def test_image_size_unknown_or_truncated() -> None:
    assert image_size(b"not an image") is None
    assert image_size(png(10, 10)[:20]) is None
    assert image_size(b"\xff\xd8\xff\xe0\x00\x10") is None


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def test_size_from_data_url_decodes_prefix_and_deep_jpeg_sof() -> None:
    big = png(640, 480) + b"\x00" * 200_000
    assert size_of_source(data_url(big)) == (640, 480)
    deep = jpeg(800, 600, exif_bytes=60_000)  # SOF beyond the first decoded prefix
    assert size_of_source(data_url(deep, "image/jpeg")) == (800, 600)
    wrapped = base64.encodebytes(png(32, 16)).decode()  # MIME-style line breaks
    assert size_of_source("data:image/png;base64," + wrapped) == (32, 16)


def test_data_never_makes_the_tool_open_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset once made batchplan read /etc/shadow (a bare path) and hang on a FIFO (a file:// URL):
    paths and file:// URLs in requests are never opened; their size is assumed, and counted as such."""
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg(300, 200, exif_bytes=10_000))
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    opened: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    for source in (str(path), path.as_uri(), str(fifo), fifo.as_uri(), "/etc/shadow", "file:///etc/shadow"):
        assert size_of_source(source) is None, source
        found = count_image(source, TILE_4O, "high")
        assert found.assumed and (found.width, found.height) == (1024, 1024)
    assert opened == []


def test_assumed_images_are_stated_in_every_output(tmp_path: Path) -> None:
    from planner.plan.estimate import estimate
    from planner.prices.pricing import load_pricebook, shipped_pricing_dir

    book = load_pricebook(date(2026, 11, 25), root=shipped_pricing_dir())
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    known = {"type": "image_url", "image_url": {"url": data_url(png(64, 64))}}
    data = tmp_path / "img.jsonl"
    line = {"messages": [{"role": "user", "content": [part, part, known]}], "max_tokens": 5}
    data.write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    result = estimate(data, ["gpt-4o"], output_tokens=5, pricebook=book)
    e = result.estimates[0]
    assert e.assumed_images == 4 and e.assumed_image_size == (1024, 1024)
    assert any("4 image(s)" in n and "1024×1024" in n for n in result.notes), result.notes
    doc = json.loads(result.model_dump_json())
    assert doc["estimates"][0]["assumed_images"] == 4

    from planner.batch.prepare import prepare
    from planner.batch.validate import validate

    manifest = prepare(data, "gpt-4o", tmp_path / "out", vendor="openai", output_tokens=5, pricebook=book)
    assert any("4 image(s)" in n and "1024×1024" in n for n in manifest.notes), manifest.notes
    checked = validate(tmp_path / "out" / "batch-0001.jsonl", output_tokens=5, pricebook=book)
    assert checked.estimate is not None and checked.estimate["assumed_images"] == 4
    assert any("4 image(s)" in n for n in checked.notes), checked.notes


def test_remote_url_is_assumed() -> None:
    found = count_image("https://example.com/cat.png", TILE_4O, "high")
    assert found.assumed and (found.width, found.height) == (1024, 1024) and found.tokens == 765
    assert count_image(None, TILE_4O).assumed


# ------------------------------------------------------------------------------------------------
# Through tokens.py


def test_chat_image_part_billed_by_rule() -> None:
    text = {"type": "text", "text": "What is in this image?"}
    image = {"type": "image_url", "image_url": {"url": data_url(png(1024, 1024)), "detail": "high"}}
    body = {"messages": [{"role": "user", "content": [text, image]}]}
    expected = 3 + 1 + count_text("What is in this image?", GPT_4O) + 3 + 765
    [count] = count_requests_detailed([req(body)], GPT_4O)
    assert count.tokens == expected
    assert (count.images, count.assumed_images, count.image_tokens) == (1, 0, 765)


def test_chat_remote_image_counts_as_assumed() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/x.png", "detail": "low"}}
    body = {"messages": [{"role": "user", "content": [image, image]}]}
    [count] = count_requests_detailed([req(body)], GPT_4O)
    assert (count.tokens, count.images, count.assumed_images) == (3 + 1 + 3 + 2 * 85, 2, 2)


def test_responses_input_image() -> None:
    part = {"type": "input_image", "image_url": data_url(png(2048, 4096)), "detail": "high"}
    body = {"input": [{"role": "user", "content": [part]}]}
    assert count_requests([req(body, "responses")], GPT_4O) == [3 + 1 + 3 + 1105]


def test_anthropic_base64_image_not_calibrated() -> None:
    block = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png(1920, 1080)).decode()},
    }
    body = {"messages": [{"role": "user", "content": [block]}]}
    [count] = count_requests_detailed([req(body, "anthropic")], CLAUDE)
    assert count.image_tokens == 1560
    assert count.tokens == 1560 + 5  # image exact; envelope 3 + priming 1 calibrated: ceil(4 * 1.16) = 5


def test_without_rule_image_json_is_counted() -> None:
    tok = Tokenizer(encoding="o200k_base", method="exact")
    image = {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}
    [count] = count_requests_detailed([req({"messages": [{"role": "user", "content": [image]}]})], tok)
    assert count.images == 0 and count.tokens > 7


def test_images_a_model_has_no_rule_for_are_reported_in_every_output(tmp_path: Path) -> None:
    """A text-only model (Llama 3.3 on Groq) meets image parts: they are counted as their JSON text (nothing is
    free), and every output says so instead of presenting the count as if it held images (before: silent)."""
    from planner.batch.prepare import prepare
    from planner.plan.estimate import estimate
    from planner.prices.pricing import load_pricebook, shipped_pricing_dir
    from planner.render.terminal import Footnotes, assumptions

    book = load_pricebook(date(2026, 11, 25), root=shipped_pricing_dir())
    assert book.resolve("llama-3.3-70b-versatile").tokenizer.images is None
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    data = tmp_path / "img.jsonl"
    line = {"messages": [{"role": "user", "content": ["what is it?", part, part]}], "max_tokens": 5}
    data.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = estimate(data, ["llama-3.3-70b-versatile"], pricebook=book)
    e = result.estimates[0]
    assert e.assumed_images == 2 and e.assumed_image_size is None
    wanted = "2 image part(s) in the counted requests, but its table has no image rule"
    assert any(wanted in n for n in result.notes), result.notes
    assert any(wanted in line for line in assumptions(result, Footnotes())), "not shown without --verbose"
    assert sum(wanted in line for line in assumptions(result, Footnotes(), verbose=True)) == 1  # once, not twice
    manifest = prepare(data, "llama-3.3-70b-versatile", tmp_path / "out", vendor="groq", pricebook=book)
    assert any(wanted in n for n in manifest.notes), manifest.notes
