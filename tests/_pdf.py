"""The text of a PDF that Chromium printed, without a PDF library (none is installed here).

Chromium (Skia) writes each page's text as glyph ids in hex strings (`<0012…> Tj`, `[…] TJ`) under Type0
fonts whose ToUnicode CMap maps the ids back to text. That is all this reads: objects, Flate streams, the
CMaps and the show-text operators, page by page. Enough to ask "is this figure on paper, whole?"; not a
general PDF reader.
"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_REF = rb"(\d+) 0 R"


def _stream(body: bytes) -> bytes:
    m = _STREAM.search(body)
    if m is None:
        return b""
    raw = m.group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in body else raw


def _cmap(text: bytes) -> dict[int, str]:
    """A ToUnicode CMap's glyph → text pairs (bfchar and bfrange, both forms)."""
    out: dict[int, str] = {}

    def uni(hexs: bytes) -> str:
        return bytes.fromhex(hexs.decode()).decode("utf-16-be", errors="replace")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            out[int(src, 16)] = uni(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
            start, end = int(lo, 16), int(hi, 16)
            if dst.startswith(b"["):
                for k, d in enumerate(re.findall(rb"<([0-9A-Fa-f]*)>", dst)):
                    out[start + k] = uni(d)
                continue
            first = uni(dst[1:-1])
            for k in range(end - start + 1):
                out[start + k] = first[:-1] + chr(ord(first[-1]) + k) if first else ""
    return out


_TOKENS = re.compile(rb"/([^\s/\[\]<>()]+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>|(-?[\d.]+)|(TJ|Tj|ET|BT|T\*|Td|TD|Tm|'|\")")


def _page_text(content: bytes, fonts: dict[bytes, dict[int, str]]) -> list[str]:
    """The runs of text a page's content stream shows, one per text object (BT … ET)."""
    runs: list[str] = []
    current: list[str] = []
    cmap: dict[int, str] = {}
    for font, hexs, number, op in _TOKENS.findall(content):
        if font:
            cmap = fonts.get(font, {})
        elif hexs:
            raw = bytes.fromhex(hexs.decode())
            current.extend(cmap.get(int.from_bytes(raw[i:i + 2], "big"), "") for i in range(0, len(raw) - 1, 2))
        elif number and float(number) < -200:  # a wide gap inside a TJ array: a space
            current.append(" ")
        elif op in (b"ET", b"Td", b"TD", b"Tm", b"T*"):
            if current:
                runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def pdf_pages(data: bytes) -> list[list[str]]:
    """Each page's runs of text, in page order."""
    objs = {int(num): body for num, body in _OBJ.findall(data)}
    cmaps: dict[int, dict[int, str]] = {}
    pages = []
    for body in objs.values():
        if not re.search(rb"/Type\s*/Page\b", body):
            continue
        fonts: dict[bytes, dict[int, str]] = {}
        block = re.search(rb"/Font\s*<<(.*?)>>", body, re.S)
        for name, ref in re.findall(rb"/(\w+)\s+" + _REF, block.group(1) if block else b""):
            font = objs.get(int(ref), b"")
            to_unicode = re.search(rb"/ToUnicode\s+" + _REF, font)
            if to_unicode:
                n = int(to_unicode.group(1))
                if n not in cmaps:
                    cmaps[n] = _cmap(_stream(objs[n]))
                fonts[name] = cmaps[n]
        contents = re.search(rb"/Contents\s+(\[[^\]]*\]|" + _REF + rb")", body)
        refs = [int(r) for r in re.findall(_REF, contents.group(1))] if contents else []
        pages.append([run for r in refs for run in _page_text(_stream(objs[r]), fonts)])
    return pages
