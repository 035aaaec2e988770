"""The tiktoken encodings, loaded offline from the copies shipped inside the package.

tiktoken would download its BPE files on first use; we ship verified copies instead and read them with
tiktoken's own loader, checked against the sha256 that tiktoken itself expects for them, so a
corrupted or swapped file fails loudly instead of miscounting. The encoding is then built as
tiktoken_ext.openai_public builds it (its pattern and special tokens), from the bundled ranks.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

ENCODINGS_DIR = Path(__file__).resolve().parent / "_encodings"

# The sha256 tiktoken's own constructors (tiktoken_ext.openai_public) pass as expected_hash.
EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

_cache: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def _build(name: str) -> tiktoken.Encoding:
    import tiktoken

    enc = tiktoken.Encoding(**_params(name, _bundled_ranks(name)))
    # tiktoken keeps a Python copy of the ranks beside its Rust core, which alone encodes: tens of MB
    # per process (and per forked worker) for nothing. (An Encoding without it cannot be pickled: we
    # never do; spawned workers build their own.)
    with contextlib.suppress(AttributeError):
        del enc._mergeable_ranks
    return enc


def _bundled_ranks(name: str) -> dict[bytes, int]:
    """The ranks of the bundled `name`.tiktoken, read by tiktoken's loader once its sha256 is checked.

    The file is local already, so tiktoken's download cache is turned off for the call: a copy of it
    there would be useless, and a cache directory the user made read-only (TIKTOKEN_CACHE_DIR) would
    make the copy, and so the count, fail. With its cache off tiktoken reads the file unchecked, so
    the hash is checked here first, with tiktoken's own functions."""
    from tiktoken.load import check_hash, load_tiktoken_bpe, read_file

    path = str(ENCODINGS_DIR / f"{name}.tiktoken")
    if not check_hash(read_file(path), EXPECTED_SHA256[name]):
        raise ValueError(f"the bundled {name}.tiktoken does not match its sha256; reinstall batchplan")
    with _tiktoken_cache_off():
        return load_tiktoken_bpe(path, expected_hash=EXPECTED_SHA256[name])


@contextlib.contextmanager
def _tiktoken_cache_off() -> Iterator[None]:
    """TIKTOKEN_CACHE_DIR="" (tiktoken's way to read a file without caching it), restored afterwards.
    Called from `_build` only, under `_lock`."""
    saved = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved


def _params(name: str, ranks: dict[bytes, int]) -> dict[str, Any]:
    """tiktoken_ext.openai_public's parameters of `name` (pattern, special tokens), with `ranks` as its
    mergeable ranks: its constructor is called with its loader answered by the bundled ranks, so the
    pattern and special tokens are tiktoken's own, never a copy that could drift."""
    from tiktoken_ext import openai_public

    def bundled(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash != EXPECTED_SHA256[name]:
            raise RuntimeError(f"tiktoken expects a different {name} file than the one bundled")
        return ranks

    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = bundled
    try:
        params: dict[str, Any] = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = original
    return params


def get_encoding(name: str) -> tiktoken.Encoding:
    """A shared, lazily built encoding; safe to call from threads."""
    enc = _cache.get(name)
    if enc is None:
        if name not in EXPECTED_SHA256:
            raise ValueError(f"encoding '{name}' is not bundled; bundled: {', '.join(EXPECTED_SHA256)}")
        with _lock:
            enc = _cache.get(name)
            if enc is None:
                enc = _cache[name] = _build(name)
    return enc


def token_counter(name: str) -> Callable[[str], int]:
    """`len(encode_ordinary(text))` under the encoding, without building a Python list of token ids.

    Counting needs the number of tokens, not the ids: tiktoken's core can hand them back as one packed
    u32 buffer (the call its own `encode_to_numpy` makes), which skips creating a Python int per token
    (a measurable share of counting's instructions). With no special tokens
    allowed, special-token strings are encoded as ordinary text, exactly as `encode_ordinary` does.
    Falls back to `encode_ordinary` on a tiktoken without that call, and for text that is not valid
    Unicode (lone surrogates), which tiktoken's wrapper repairs before encoding."""
    counter = _counters.get(name)
    if counter is None:
        counter = _counters[name] = _make_counter(get_encoding(name))
    return counter


_counters: dict[str, Callable[[str], int]] = {}


#: Texts longer than this (in characters) are counted in pieces of about this size (`pieces`).
LONG_TEXT = 1 << 20


def pieces(text: str, size: int = LONG_TEXT) -> Iterator[str]:
    """`text` in pieces of at most `size` characters, cut where the encodings' own pre-tokenizer cuts:
    before a space that follows a non-space and precedes a letter (a word's leading space starts a new
    piece under cl100k and o200k), so the tokens summed are the tokens of the whole. tiktoken's merge
    of one piece costs memory in proportion to the piece: one 16 MiB line of a repeated letter took
    ~0.9 GB and 18 s whole, ~90 MB and 3 s in pieces. A run with no such place is cut at `size` (its
    count may then differ by a token per cut: such a run is no text anyway)."""
    start = 0
    while len(text) - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        while cut > start and not (text[cut - 1] != " " and not text[cut - 1].isspace()
                                   and cut + 1 < len(text) and text[cut + 1].isalpha()):
            cut = text.rfind(" ", start + size // 2, cut)
        if cut <= start:
            cut = start + size
        yield text[start:cut]
        start = cut
    yield text[start:]


def _make_counter(enc: tiktoken.Encoding) -> Callable[[str], int]:
    ordinary = enc.encode_ordinary
    to_buffer: Callable[[str, set[str]], Any] | None = getattr(enc._core_bpe, "encode_to_tiktoken_buffer", None)
    if to_buffer is None:
        return lambda text: sum(len(ordinary(p)) for p in pieces(text)) if len(text) > LONG_TEXT else len(
            ordinary(text))
    none: set[str] = set()

    def count_one(text: str) -> int:
        try:
            return memoryview(to_buffer(text, none)).nbytes >> 2
        except UnicodeEncodeError:
            return len(ordinary(text))

    def count(text: str) -> int:
        if len(text) > LONG_TEXT:
            return sum(count_one(p) for p in pieces(text))
        return count_one(text)

    return count
