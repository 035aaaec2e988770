"""The tiktoken encodings, loaded offline from the copies shipped inside the package.

tiktoken would download its BPE files on first use; we ship verified copies instead and hand them to
tiktoken's own loader together with the sha256 that tiktoken itself expects, so a corrupted or swapped
file fails loudly instead of miscounting. The file is read and its hash checked on every build; its
parse, a third of the build, comes from the user's cache after the first (`_parsed_ranks`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable
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
    from tiktoken import load as tiktoken_load
    from tiktoken_ext import openai_public

    local = ENCODINGS_DIR / f"{name}.tiktoken"

    def load_local(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        # tiktoken asks for its public URL; answer with the bundled copy, checked against the same hash.
        if expected_hash != EXPECTED_SHA256[name]:
            raise RuntimeError(f"tiktoken expects a different {name} file than the one bundled")
        data = tiktoken_load.read_file(str(local))
        if not tiktoken_load.check_hash(data, expected_hash):
            raise RuntimeError(f"bundled {local.name} does not match its sha256; reinstall batchplan")
        return _parsed_ranks(data, expected_hash)

    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = load_local
    try:
        params: dict[str, Any] = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = original
    enc = tiktoken.Encoding(**params)
    # tiktoken keeps a Python copy of the 200k ranks beside its Rust core, which alone encodes: ~27 MB
    # per process (and per forked worker) for nothing. (An Encoding without it cannot be pickled: we
    # never do; spawned workers build their own.)
    with contextlib.suppress(AttributeError):
        del enc._mergeable_ranks
    return enc


def _parsed_ranks(contents: bytes, sha256: str) -> dict[bytes, int]:
    """The ranks of a verified .tiktoken file, from the user's cache when it holds them (marshal, under
    an HMAC: planner.prices.tablecache), else parsed and stored there. Loading the dict takes about a third
    of parsing it (~70 vs ~200 ms for o200k_base), and the encoding's build is on the critical path of
    every count (planner.count.prewarm)."""
    import marshal
    import sys

    from planner.prices import tablecache

    key = hashlib.sha256(f"ranks\0{sha256}\0{marshal.version}\0{sys.version}".encode()).hexdigest()
    body = tablecache.read_blob(key, "ranks", "marshal")
    if body is not None:
        with contextlib.suppress(EOFError, ValueError, TypeError):
            ranks = marshal.loads(body)
            if type(ranks) is dict:
                return ranks
    ranks = _parse_bpe(contents)
    tablecache.write_blob(key, "ranks", marshal.dumps(ranks), "marshal")
    return ranks


def _parse_bpe(contents: bytes) -> dict[bytes, int]:
    """The .tiktoken format: one `base64(token) rank` pair per line (as tiktoken.load parses it).
    binascii and C-level map/zip over the split fields of 512 KB slices (not a Python loop with
    base64.b64decode per line, nor one list of all 400k fields, a 20 MB peak): the same dict, in
    about half tiktoken's time."""
    import binascii

    ranks: dict[bytes, int] = {}
    start, size, step = 0, len(contents), 1 << 19
    while start < size:
        end = contents.find(b"\n", min(start + step, size - 1))
        end = size if end < 0 else end + 1
        fields = contents[start:end].split()
        if len(fields) % 2:
            raise ValueError("a .tiktoken file holds `token rank` pairs")
        ranks.update(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))
        start = end
    return ranks


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
    u32 buffer (the call its own `encode_to_numpy` makes), which skips creating a Python int per token,
    ~7 % of the instructions of counting (callgrind, 800 chat requests). With no special tokens
    allowed, special-token strings are encoded as ordinary text, exactly as `encode_ordinary` does.
    Falls back to `encode_ordinary` on a tiktoken without that call, and for text that is not valid
    Unicode (lone surrogates), which tiktoken's wrapper repairs before encoding."""
    counter = _counters.get(name)
    if counter is None:
        counter = _counters[name] = _make_counter(get_encoding(name))
    return counter


_counters: dict[str, Callable[[str], int]] = {}


def _make_counter(enc: tiktoken.Encoding) -> Callable[[str], int]:
    ordinary = enc.encode_ordinary
    to_buffer: Callable[[str, set[str]], Any] | None = getattr(enc._core_bpe, "encode_to_tiktoken_buffer", None)
    if to_buffer is None:
        return lambda text: len(ordinary(text))
    none: set[str] = set()

    def count(text: str) -> int:
        try:
            return memoryview(to_buffer(text, none)).nbytes >> 2
        except UnicodeEncodeError:
            return len(ordinary(text))

    return count
