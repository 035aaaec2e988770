"""A seeded fuzz pass: hundreds of malformed files and argument lists, each answered with exit code 2
and one clean error line, never a traceback."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app

ACME = str(Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml")
GOOD = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
runner = CliRunner()


def malformed_line(rng: random.Random) -> str:
    good = json.dumps(GOOD)
    choices = [
        lambda: good[: rng.randrange(1, len(good) - 1)],  # truncated
        lambda: json.dumps({"messages": rng.choice([None, 3, "x", {}, [1], [{"content": "no role"}]])}),
        lambda: json.dumps({"messages": [{"role": "user", "content": rng.choice([{}, 5, True])}]}),
        lambda: json.dumps({**GOOD, "max_tokens": rng.choice([-1, "10", 1.5, [], True])}),
        lambda: json.dumps(rng.choice([[], "string", 42, None, True])),
        lambda: "[" * rng.randrange(1, 5000),
        lambda: "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 80))),
        lambda: json.dumps({"custom_id": "x", "body": rng.choice([None, [], "b"]), "url": "/v1/chat/completions"}),
        lambda: json.dumps({"custom_id": "x", "params": {"messages": rng.choice([None, {}, 7])}}),
        lambda: json.dumps({"custom_id": "x", "body": {"messages": [GOOD["messages"][0]]}, "url": "/v1/nope"}),
    ]
    return rng.choice(choices)()


def malformed_file(rng: random.Random, path: Path) -> Path:
    kind = rng.randrange(6)
    if kind == 0:  # binary garbage
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) + b"\xff\xfe")
        return path
    if kind == 1:  # empty or blank
        path.write_text(rng.choice(["", "\n\n", "\r\n \r\n"]))
        return path
    lines = [json.dumps(GOOD)] * rng.randrange(0, 3)
    lines.insert(rng.randrange(len(lines) + 1), malformed_line(rng))
    sep = rng.choice(["\n", "\r\n"])
    prefix = rng.choice(["", "\ufeff"])
    path.write_text(prefix + sep.join(lines) + sep, encoding="utf-8")
    return path


def bad_arguments(rng: random.Random, data: str) -> list[str]:
    base = ["estimate", data, "-m", "acme-small", "--prices", ACME, "--as-of", "2026-03-01", "--output-tokens", "5"]
    mutations = [
        lambda a: [*a[:-2], "--output-tokens", rng.choice(["-5", "x", "1e3", ""])],
        lambda a: [*a, "--output-ratio", rng.choice(["-1", "nan", "inf", "abc"])],
        lambda a: [*a, "--rows", rng.choice(["0", "-3", "many"])],
        lambda a: [*a, "--sample", rng.choice(["0", "-1", "x"])],
        lambda a: [x if x != "2026-03-01" else rng.choice(["2026-02-30", "yesterday", "26-1-1", ""]) for x in a],
        lambda a: [x if x != "acme-small" else rng.choice(["", "nope", "acme-", "zz/acme-small"]) for x in a],
        lambda a: [*a, "--format", rng.choice(["xml", "", "JSONL"])],
        lambda a: [*a, "--cache-prefix", rng.choice(["sometimes", "-4", "1.5"])],
        lambda a: [*a, "--cache-hit-rate", rng.choice(["2", "-0.1", "half"])],
        lambda a: [*a, "--no-such-option"],
        lambda a: [x if x != ACME else rng.choice(["/nonexistent.yaml", "/", __file__]) for x in a],
        lambda a: [*a, "--text-column", "body", "--format", "csv"],
    ]
    return rng.choice(mutations)(list(base))


def assert_clean_failure(args: list[str]) -> None:
    result = runner.invoke(app, args)
    output = result.stdout + result.stderr
    assert result.exit_code == 2, (args, result.exit_code, output[-500:])
    assert "Traceback" not in output, args
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))


def command_for(rng: random.Random, data: Path, tmp: Path) -> list[str]:
    """One of the commands that read a dataset, aimed at `data`."""
    common = ["-m", "acme-small", "--prices", ACME, "--as-of", "2026-03-01"]
    return rng.choice(
        [
            ["estimate", str(data), *common],
            ["report", str(data), *common, "-o", str(tmp / "r.md")],
            ["prepare", str(data), *common, "--vendor", "openai", "-o", str(tmp / "out")],
        ]
    )


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_malformed_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(60):
        path = malformed_file(rng, tmp_path / f"f{i}.jsonl")
        assert_clean_failure(command_for(rng, path, tmp_path))
    assert not (tmp_path / "r.md").exists() and not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_argument_lists(tmp_path: Path, seed: int) -> None:
    rng = random.Random(1000 + seed)
    data = tmp_path / "ok.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    for _ in range(40):
        assert_clean_failure(bad_arguments(rng, str(data)))
