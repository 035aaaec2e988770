"""Better input counts than the table's approximation, for models without a public tokenizer.

Two sources, tried in order, after the engine has counted every request with the table's rule:

1. ctok (planner.count.claude_tokens) for Claude. A file small enough (≤ EXACT_MAX_CHARS of text, or
   `--exact-tokens`) is counted exactly, request by request. A larger one is counted exactly on a seeded
   random sample (SAMPLE_CHARS of text, at most SAMPLE_MAX requests) and every request's table count is
   multiplied by the sample's ratio exact / table (a ratio estimator): reported as `calibrated`, with the
   95% band of that ratio (finite-population corrected) plus the share of tokens ctok does not cover.
   ctok runs ~0.3 MB/s against tiktoken's ~15 MB/s, so this is what keeps a Claude estimate of a large
   file within a small multiple of the OpenAI one.
2. Your reconciled batches (planner.store.history.input_calibration): billed ÷ estimated over past requests of
   the same model counted with the same tokenizer definition.

Nothing here touches the engine: it re-reads a sample of the file through the dataset reader and counts
it in this process. Standard input cannot be re-read, so it keeps the approximation (and says so).
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Literal

from planner.core.errors import BatchplanError
from planner.core.request import Request
from planner.count.claude_tokens import ClaudeCounter
from planner.count.counts import CountsFile
from planner.count.tokens import count_requests
from planner.io.inputs import rereadable
from planner.prices.pricing import ResolvedModel
from planner.read.datasets import ReadOptions, SkipLog, read_requests, sample_requests

Z95 = 1.959963984540054
#: Count every request exactly when the counted requests hold at most this much text (~1-2 s of ctok).
EXACT_MAX_CHARS = 400_000
#: Text the calibration sample may hold (~1 s of ctok), and the most requests it draws.
SAMPLE_CHARS = 300_000
SAMPLE_MAX = 2_000
SAMPLE_MIN = 30
#: Error band assumed on the parts of a request ctok does not cover (tool definitions, images, tool calls):
#: real usage put them within −16 % … +5 % of our count (docs/reconcile.md).
UNCOVERED_ERROR = Decimal("0.2")

Method = Literal["exact", "calibrated", "approximate"]


@dataclass(frozen=True)
class Override:
    """Replacement input counts for one model, and what the estimate must say about them."""

    inputs: array[int]
    method: Method
    label: str
    band: Decimal
    factor: float  # new / old per request (1.0 when counted exactly); scales the cached prefix
    note: str
    engine: str | None = None  # "ctok 3.0" when ctok counted (or calibrated) them


def _text_size(req: Request) -> int:
    """Characters of text in a request (what ctok's time is proportional to), cheaply."""
    total = 0
    stack: list[object] = [req.body]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


def _band(share: float, ratio_band: float = 0.0) -> Decimal:
    value = Decimal(repr(ratio_band)) + UNCOVERED_ERROR * Decimal(repr(share))
    return value.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)


def ratio_estimate(exact: Sequence[int], approx: Sequence[int], population: int) -> tuple[float, float]:
    """The ratio estimator R = Σexact / Σapprox of a simple random sample, and the 95% relative half-width
    of R (normal approximation, finite-population corrected for a population of `population` requests)."""
    n = len(exact)
    total_a = math.fsum(approx)
    if n == 0 or total_a <= 0:
        return 1.0, 1.0
    r = math.fsum(exact) / total_a
    if n < 2:
        return r, 1.0
    resid = [e - r * a for e, a in zip(exact, approx, strict=True)]
    mean_a = total_a / n
    fpc = max(0.0, (population - n) / (population - 1)) if population > 1 else 0.0
    se = math.sqrt(math.fsum(x * x for x in resid) / (n - 1) / n * fpc) / mean_a
    return r, (Z95 * se / r if r else 1.0)


def _reread(path: str, reader: ReadOptions, sample: int | None, seed: int, skip_bad: bool) -> list[Request]:
    """The same requests the main pass counted, in the same order."""
    skip = SkipLog() if skip_bad else None
    if sample is not None:
        _, _, stream = sample_requests(path, sample, seed=seed, options=reader, skip=skip)
    else:
        _, stream = read_requests(path, reader, skip)
    return list(stream)


def _exact(counter: ClaudeCounter, n: int, path: str, reader: ReadOptions, sample: int | None, seed: int,
           skip_bad: bool) -> Override | None:
    """Every counted request through ctok, in the main pass's order (None if the re-read differs)."""
    try:
        requests = _reread(path, reader, sample, seed, skip_bad)
    except BatchplanError:  # the main pass read it; a source that cannot be re-read keeps the approximation
        return None
    if len(requests) != n:
        return None
    return _counted_override(counter, requests, f" on all {n:,} requests")


def _counted_override(counter: ClaudeCounter, requests: Sequence[Request], scope: str) -> Override:
    """Every request counted by ctok: exact, or partly approximate (rounded up) where ctok cannot cover a
    part (tools, images, …); `scope` says how many were counted (" on all N requests" or "")."""
    counts = [counter.count(q) for q in requests]
    total = sum(c.tokens for c in counts)
    share = sum(c.uncovered_tokens for c in counts) / total if total else 0.0
    uncovered = sorted({w for c in counts for w in c.uncovered})
    return _every_request([c.tokens for c in counts], not uncovered, share, counter.version, scope,
                          ", ".join(uncovered))


def _every_request(tokens: Sequence[int], exact: bool, share: float, version: str, scope: str,
                   uncovered: str) -> Override:
    """ctok's counts of every request: exact, or partly approximate (`share` of the tokens, the parts
    named by `uncovered`, rounded up) with that share's band."""
    new = array("q", tokens)
    if exact:
        return Override(new, "exact", f"exact (ctok {version})", Decimal(0), 1.0,
                        f"input tokens counted exactly with ctok ({version} family){scope}")
    band = _band(share)
    return Override(new, "approximate", f"ctok, partly approximate (±{band:.1%})", band, 1.0,
                    f"input tokens counted with ctok ({version} family){scope}; {share:.1%} of them "
                    f"({uncovered}) approximated, rounded up")


def counts_file_override(r: ResolvedModel, counts: CountsFile, inputs: Sequence[int]
                         ) -> tuple[Override | None, str | None]:
    """The ctok counts a counts file holds for this Claude model (planner.count.distributed wrote them where ctok
    was installed): exact when every request has one, else the table's counts `inputs` calibrated on the
    ones that do, as a large file is calibrated here. None and, when the model has a ctok rule, a note why."""
    from planner.count.counts import ctok_label

    rule = r.tokenizer.exact
    if rule is None or rule.engine != "ctok":
        return None, None
    version = rule.version_for(r.model.id)
    found = counts.ctok_counts(r.tokenizer, version)
    column = f"input_tokens_{ctok_label(r.tokenizer, version)}"
    n = len(inputs)
    if found is None or len(found[0]) != n:
        return None, (f"the counts file has no ctok counts for {r.model.id} (column {column}): the table's "
                      "approximation is used; count with planner.count.distributed where ctok is installed for exact "
                      "Claude counts")
    tokens, loose = found
    have = [i for i, t in enumerate(tokens) if t is not None]
    if len(have) < 2 and len(have) < n:
        return None, (f"the counts file's ctok sample for {r.model.id} ({column}) holds {len(have)} request(s), "
                      "too few to calibrate on: the table's approximation is used (raise claude_sample)")
    exact = [tokens[i] or 0 for i in have]
    total = sum(exact)
    share = sum(loose[i] for i in have) / total if total else 0.0
    if len(have) == n:
        return _every_request(exact, not share, share, version, f" in the counts file, on all {n:,} requests",
                              "parts ctok does not cover: tools, images, …"), None
    what = f"ctok ({version} family) counted {len(have):,} of the {n:,} requests in the counts file"
    extra = f"; {share:.1%} of the sample's tokens approximated" if share else ""
    return _calibrated(inputs, exact, [inputs[i] for i in have], n, share, what, extra,
                       "claude_sample=1 in planner.count.distributed counts every request"), None


def _calibrated(inputs: Sequence[int], exact: Sequence[int], approx: Sequence[int], population: int, share: float,
                what: str, extra: str, how_exact: str) -> Override:
    """Every request's table count scaled by the sample's ratio exact / table (a ratio estimator), with the
    95% band of that ratio plus the share of the sample's tokens ctok did not cover."""
    ratio, rel = ratio_estimate(exact, approx, population)
    band = _band(share, rel)
    return Override(
        array("q", (max(0, round(i * ratio)) for i in inputs)), "calibrated",
        f"calibrated (±{band:.1%}; ctok on {len(exact):,} sampled requests)", band, ratio,
        f"input tokens calibrated: {what} exactly, {ratio:.4f}× the table's approximation; 95% band "
        f"±{rel:.2%}{extra} ({how_exact})",
    )


def mistral_override(r: ResolvedModel, n: int, *, path: str, reader: ReadOptions, sample: int | None, seed: int,
                     skip_bad: bool) -> tuple[Override | None, str | None]:
    """Exact counts of a Mistral API model with mistral-common, when it is installed and ships the model's
    tokenizer; else None and a note saying why the table's approximation stands."""
    from planner.count import mistral_tokens

    model = r.model.id
    if not mistral_tokens.available():
        return None, ("mistral-common is not installed, so the table's approximation is used "
                      f"({mistral_tokens.INSTALL_HINT} counts the models it ships exactly)")
    name = mistral_tokens.registry_name(r.requested, model)
    if name is None:
        return None, (f"mistral-common ships no tokenizer for {model} (newer ones are downloaded from Hugging "
                      "Face, which batchplan does not do): the table's approximation is used")
    try:
        requests = _reread(path, reader, sample, seed, skip_bad)
    except BatchplanError:
        return None, "the input cannot be re-read for mistral-common: the table's approximation is used"
    counted = mistral_tokens.count(name, requests) if len(requests) == n else None
    if counted is None:
        return None, ("some requests hold tools, images, tool calls or a response schema, which mistral-common "
                      "is not asked to render: the table's approximation is used")
    return Override(array("q", counted), "exact", f"exact (mistral-common, {name})", Decimal(0), 1.0,
                    f"input tokens counted exactly with mistral-common ({name}) on all {n:,} requests",
                    engine=f"mistral-common {name}"), None


def claude_override(
    r: ResolvedModel,
    inputs: Sequence[int],
    *,
    path: str,
    reader: ReadOptions,
    sample: int | None,
    seed: int,
    skip_bad: bool,
    exact_tokens: bool,
    text_chars: int | None = None,
) -> Override | None:
    """ctok counts for this Claude model, exactly or calibrated on a sample; None without ctok or a rule."""
    from planner.count import claude_tokens

    counter = claude_tokens.counter(r.tokenizer, r.model.id)
    if counter is None or not inputs or not rereadable(path):  # a pipe or FIFO was read once, by the main pass
        return None
    n = len(inputs)
    small = text_chars is not None and text_chars <= EXACT_MAX_CHARS
    if exact_tokens or small or (sample is not None and n <= SAMPLE_MAX):
        found = _exact(counter, n, path, reader, sample, seed, skip_bad)
        if found is not None:
            return found
    # Calibrate on a random sample of the file.
    k = min(SAMPLE_MAX, n)
    fmt_rows = None
    try:
        _, fmt_rows, stream = sample_requests(path, k, seed=seed + 7919, options=reader,
                                              skip=SkipLog() if skip_bad else None)
        pool = list(stream)
    except BatchplanError:  # the main pass read this file; if it cannot be sampled, keep the approximation
        return None
    random.Random(seed).shuffle(pool)
    chosen: list[Request] = []
    chars = 0
    for q in pool:
        if len(chosen) >= SAMPLE_MIN and chars + _text_size(q) > SAMPLE_CHARS:
            break
        chosen.append(q)
        chars += _text_size(q)
    if len(chosen) < 2:
        return None
    if len(chosen) >= n:  # the "sample" is the whole file: count it exactly, in order
        return _exact(counter, n, path, reader, sample, seed, skip_bad)
    approx = count_requests(chosen, r.tokenizer)
    counts = [counter.count(q) for q in chosen]
    exact = [c.tokens for c in counts]
    loose = sum(c.uncovered_tokens for c in counts)
    share = loose / sum(exact) if sum(exact) else 0.0
    uncovered = sorted({w for c in counts for w in c.uncovered})
    extra = f"; {share:.1%} of the sample's tokens ({', '.join(uncovered)}) approximated" if uncovered else ""
    what = f"ctok ({counter.version} family) counted {len(chosen):,} randomly sampled requests"
    return _calibrated(inputs, exact, approx, max(n, fmt_rows or 0), share, what, extra,
                       "--exact-tokens counts every request")


def in_memory_override(r: ResolvedModel, requests: Sequence[Request], *, seed: int = 0) -> Override | None:
    """ctok counts of requests already in memory (`prepare`, `validate`, `reconcile`), the way `estimate`
    counts a file: every request when they hold at most EXACT_MAX_CHARS of text, else calibrated on a
    seeded random sample of them."""
    from planner.count import claude_tokens

    counter = claude_tokens.counter(r.tokenizer, r.model.id)
    if counter is None or not requests:
        return None
    sizes = [_text_size(q) for q in requests]
    if sum(sizes) <= EXACT_MAX_CHARS:
        return _counted_override(counter, requests, "")
    order = list(range(len(requests)))
    random.Random(seed).shuffle(order)
    chosen: list[int] = []
    chars = 0
    for i in order:
        if len(chosen) >= SAMPLE_MIN and (chars + sizes[i] > SAMPLE_CHARS or len(chosen) >= SAMPLE_MAX):
            break
        chosen.append(i)
        chars += sizes[i]
    approx_all = count_requests(requests, r.tokenizer)
    counts = [counter.count(requests[i]) for i in chosen]
    exact = [c.tokens for c in counts]
    ratio, rel = ratio_estimate(exact, [approx_all[i] for i in chosen], len(requests))
    share = sum(c.uncovered_tokens for c in counts) / sum(exact) if sum(exact) else 0.0
    band = _band(share, rel)
    new = array("q", (max(0, round(a * ratio)) for a in approx_all))
    return Override(new, "calibrated", f"calibrated (±{band:.1%}; ctok on {len(chosen):,} sampled requests)",
                    band, ratio, f"input tokens calibrated: ctok ({counter.version} family) counted {len(chosen):,} "
                    f"random requests exactly, {ratio:.4f}× the table's approximation; 95% band ±{rel:.2%}")


def history_override(r: ResolvedModel, inputs: Sequence[int], tokenizer_key: str) -> Override | None:
    """Your reconciled batches' billed/estimated ratio for this approximate tokenizer, or None."""
    from planner.store.history import input_calibration

    cal = input_calibration(r.table.provider, r.model.id, tokenizer_key)
    if cal is None:
        return None
    new = array("q", (max(0, math.ceil(i * cal.factor)) for i in inputs))
    band = Decimal(repr(cal.band)).quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    return Override(new, "calibrated", f"calibrated from your history (±{band:.1%})", band, cal.factor,
                    cal.describe())
