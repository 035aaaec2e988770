"""Image input tokens: the vendors' published formulas, and image sizes read from headers only.

Rules (see docs/reference tokens.md §3):

* ``tile`` (OpenAI gpt-4o, gpt-4.1, gpt-5/5.1, o1/o3, gpt-4o-mini): ``detail=low`` is the base; otherwise
  fit in ``max_side`` (2048), scale the shortest side down to ``short_side`` (768), and bill
  ``base + tile_tokens * ceil(w/512) * ceil(h/512)``.
* ``patch`` (OpenAI gpt-4.1-mini/nano, o4-mini, gpt-5-mini/nano, gpt-5.2+): fit in ``max_side``, count
  32-px patches, shrink to ``patch_budget`` patches, bill ``ceil(patches * multiplier)``. Per-``detail``
  limits come from ``detail_limits``; ``auto`` means ``auto_detail``.
* ``area`` (Anthropic): 28-px patches (``patch_size``), one token each, after resizing to the largest size
  with long edge <= ``max_side`` and patches <= ``patch_budget``; with ``pixels_per_token`` set, the older
  ``w*h/750`` rule instead.
* ``fixed`` (Gemini 2.0+): ``base_tokens`` (258) when both sides <= ``small_side`` (384), else
  ``tile_tokens`` (258) per ``tile_size`` (768) tile.

Sizes come from ``data:`` URLs (base64 or percent-encoded) by parsing the PNG, JPEG (SOF), GIF or WebP
header with the standard library. Data never names a file for batchplan to open: a ``file://`` URL or a
bare path is not read (it could name ``/etc/shadow`` or a FIFO), and the vendor would not read it either.
An image whose size cannot be known from the request itself (an http(s) URL, a path, a file id, a
corrupt data URL) is billed at the rule's ``assumed_size`` and counted as assumed; every estimate
states how many images were assumed and at what size.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from planner.prices.pricing import ImageRule

DETAILS = ("low", "high", "auto", "original")


@dataclass(frozen=True, slots=True)
class ImageCount:
    """The tokens one image is billed, and whether its size had to be assumed."""

    tokens: int
    width: int
    height: int
    assumed: bool


# ---------------------------------------------------------------------------------------------
# Formulas


def _fit(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Scale down (never up) so that neither side exceeds max_side, keeping the aspect ratio."""
    if max_side is None or (width <= max_side and height <= max_side):
        return width, height
    if width >= height:
        return max_side, max(1, int(height * max_side / width))
    return max(1, int(width * max_side / height)), max_side


def tile_tokens(width: int, height: int, rule: ImageRule, detail: str = "auto") -> int:
    """OpenAI's 512-px tile rule (gpt-4o: 1024x1024 high = 85 + 4*170 = 765)."""
    if detail == "low":
        return rule.low_detail_tokens if rule.low_detail_tokens is not None else rule.base_tokens
    w, h = _fit(width, height, rule.max_side or 2048)
    short = rule.short_side or 768
    if w >= h and h > short:
        w, h = int(short / h * w), short
    elif h > w and w > short:
        w, h = short, int(short / w * h)
    tiles = math.ceil(w / rule.tile_size) * math.ceil(h / rule.tile_size)
    return rule.base_tokens + rule.tile_tokens * tiles


def _patch_limits(rule: ImageRule, detail: str) -> tuple[int | None, int | None]:
    level = rule.auto_detail if detail == "auto" else detail
    if level in rule.detail_limits:
        return rule.detail_limits[level]
    return rule.max_side, rule.patch_budget


def patch_count(width: int, height: int, patch: int, budget: int | None, max_side: int | None) -> int:
    """Patches after fitting in max_side and shrinking to the budget (OpenAI's published steps A-C)."""
    w, h = _fit(width, height, max_side)
    patches = math.ceil(w / patch) * math.ceil(h / patch)
    if budget is None or patches <= budget:
        return patches
    r = math.sqrt(patch * patch * budget / (w * h))
    r *= min(math.floor(w * r / patch) / (w * r / patch), math.floor(h * r / patch) / (h * r / patch))
    w, h = max(1, math.floor(w * r)), max(1, math.floor(h * r))
    return math.ceil(w / patch) * math.ceil(h / patch)


def patch_tokens(width: int, height: int, rule: ImageRule, detail: str = "auto") -> int:
    """OpenAI's 32-px patch rule: ceil(patches * multiplier), patches capped by the detail's budget."""
    if detail == "low" and rule.low_detail_tokens is not None:
        return rule.low_detail_tokens
    max_side, budget = _patch_limits(rule, detail)
    patches = patch_count(width, height, rule.patch_size, budget, max_side)
    return int((Decimal(patches) * rule.multiplier).to_integral_value(rounding=ROUND_CEILING))


def anthropic_resized(width: int, height: int, patch: int, max_side: int | None, budget: int | None) -> tuple[int, int]:
    """Anthropic's resize: the largest aspect-preserving size with long edge <= max_side (on the padded
    size) and at most `budget` patches, found by binary search along the long edge."""

    def fits(w: int, h: int) -> bool:
        cw, ch = math.ceil(w / patch), math.ceil(h / patch)
        if max_side is not None and max(cw, ch) * patch > max_side:
            return False
        return budget is None or cw * ch <= budget

    if fits(width, height):
        return width, height
    long_side, short_side = max(width, height), min(width, height)

    def at(long_edge: int) -> tuple[int, int]:
        other = max(1, int(short_side * long_edge / long_side))
        return (long_edge, other) if width >= height else (other, long_edge)

    lo, hi = 1, long_side  # fits(at(lo)) assumed; find the largest fitting long edge
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(*at(mid)):
            lo = mid
        else:
            hi = mid - 1
    return at(lo)


def anthropic_tokens(width: int, height: int, rule: ImageRule) -> int:
    """Claude: one token per 28x28 patch after resizing (1920x1080 on Sonnet 4.6 -> 1456x819 -> 1560)."""
    if rule.pixels_per_token:
        w, h = _fit(width, height, rule.max_side)
        return math.ceil(w * h / rule.pixels_per_token)
    w, h = anthropic_resized(width, height, rule.patch_size, rule.max_side, rule.patch_budget)
    return math.ceil(w / rule.patch_size) * math.ceil(h / rule.patch_size)


def fixed_tokens(width: int, height: int, rule: ImageRule) -> int:
    """Gemini 2.0+: 258 for an image with both sides <= 384 px, else 258 per 768x768 tile."""
    if rule.small_side is None or (width <= rule.small_side and height <= rule.small_side):
        return rule.base_tokens
    tiles = math.ceil(width / rule.tile_size) * math.ceil(height / rule.tile_size)
    return rule.tile_tokens * tiles


def image_tokens(width: int, height: int, rule: ImageRule, detail: str | None = None) -> int:
    """Tokens of one image of the given size under `rule`; `detail` is OpenAI's low/high/auto/original."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    level = detail if detail in DETAILS else "auto"
    if rule.kind == "tile":
        return tile_tokens(width, height, rule, level)
    if rule.kind == "patch":
        return patch_tokens(width, height, rule, level)
    if rule.kind == "area":
        return anthropic_tokens(width, height, rule)
    return fixed_tokens(width, height, rule)


# ---------------------------------------------------------------------------------------------
# Sizes from headers


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            i += 1  # tolerate padding/garbage between segments
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker == 0xD9 or marker == 0xDA:  # end of image / start of scan before any SOF
            return None
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in _JPEG_SOF:
            if i + 9 > n:
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return (width, height) if width and height else None
        i += 2 + length
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG, JPEG, GIF or WebP file; None if unrecognised or
    truncated before the size (for JPEG, pass enough bytes to reach the SOF marker)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return (w, h) if w and h else None
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return (w, h) if w and h else None
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunk = data[12:16]
        if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", data[26:30])
            return (w & 0x3FFF, h & 0x3FFF)
        if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
            b0, b1, b2, b3 = data[21:25]
            return 1 + (((b1 & 0x3F) << 8) | b0), 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
        if chunk == b"VP8X" and len(data) >= 30:
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return w, h
    return None


def _b64decode(text: str) -> bytes:
    cleaned = "".join(text.split())
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned)
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def size_of_base64(data: str) -> tuple[int, int] | None:
    """Size of a base64-encoded image, decoding only a prefix unless a JPEG's SOF lies further in."""
    for chars in (4096, 65536, len(data)):
        size = image_size(_b64decode(data[:chars]))
        if size is not None or chars >= len(data):
            return size
    return None


def size_of_source(url: str) -> tuple[int, int] | None:
    """Size of an image given as a `data:` URL; None for anything else (http(s) and `file://` URLs, local
    paths, file ids) and for data that is not a recognisable image: the caller then assumes a size.
    Nothing is fetched and no file is opened."""
    if not url.startswith("data:"):
        return None
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        return image_size(unquote(payload).encode("latin-1", "replace"))
    return size_of_base64(payload)


def count_image(source: str | None, rule: ImageRule, detail: str | None = None) -> ImageCount:
    """Tokens of one image given by URL/path/base64 data URL; unknown sizes use `rule.assumed_size`."""
    size = size_of_source(source) if source else None
    if size is None:
        w, h = rule.assumed_size
        return ImageCount(image_tokens(w, h, rule, detail), w, h, assumed=True)
    return ImageCount(image_tokens(size[0], size[1], rule, detail), size[0], size[1], assumed=False)


def count_base64_image(data: str, rule: ImageRule) -> ImageCount:
    """An Anthropic `{"type": "base64", "data": ...}` image source."""
    size = size_of_base64(data)
    if size is None:
        w, h = rule.assumed_size
        return ImageCount(image_tokens(w, h, rule), w, h, assumed=True)
    return ImageCount(image_tokens(size[0], size[1], rule), size[0], size[1], assumed=False)
