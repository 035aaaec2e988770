"""A seeded fuzz pass: hundreds of malformed files and argument lists, each answered with exit code 2
and one clean error line, never a traceback."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

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


# --- round two (issue 17): numbers, prepare options, tables, history objects, batch lines ------------

HOSTILE_NUMBERS = ["nan", "inf", "-inf", "1e400", str(10**30), "-" + str(10**30), "9" * 400]


def test_fuzz_estimate_numbers_and_dates(tmp_path: Path) -> None:
    rng = random.Random(2017)
    data = tmp_path / "ok.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    base = ["estimate", str(data), "-m", "acme-small", "--prices", ACME, "--as-of", "2026-03-01",
            "--output-tokens", "5"]
    options = {
        "--rows": HOSTILE_NUMBERS, "--sample": HOSTILE_NUMBERS, "--seed": [str(2**64), "-1", *HOSTILE_NUMBERS],
        "--concurrency": HOSTILE_NUMBERS, "--cache-prefix": HOSTILE_NUMBERS, "--cache-hit-rate": HOSTILE_NUMBERS,
        "--output-ratio": HOSTILE_NUMBERS,
        "--budget": ["1e999999999", "1e-999999999", "NaN", "sNaN", "-Infinity", "0", "$-5", "1e13"],
        "--deadline": ["3000000d", "1" + "0" * 400 + "h", "0001-01-01", "0001-01-01T00:00", "9999-12-31",
                       "9999-12-31T23:59:59+14:00", "0001-01-01T00:00-12:00", "0m", "nan h", "-5d"],
    }
    for _ in range(60):
        flag = rng.choice(sorted(options))
        assert_clean_failure([*base, flag, rng.choice(options[flag])])


def test_fuzz_prepare_options_write_nothing(tmp_path: Path) -> None:
    rng = random.Random(4711)
    data = tmp_path / "ok.jsonl"
    data.write_text(json.dumps(GOOD) + "\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("precious")
    bodies = ['{"top_p": NaN}', '{"top_p": Infinity}', '{"x": -Infinity}', '{"x": 1e999}', '{"n": ' + "9" * 30 + "}",
              '{"n": -' + "9" * 5000 + "}", "[" * 100_000, '{"a": ' * 5000 + "1" + "}" * 5000, "[]", '"x"', "{",
              '{"nested": {"deep": [1, 2, NaN]}}']
    options = {
        "--temperature": [*HOSTILE_NUMBERS, "-0.5", "2.5"], "--max-tokens": [*HOSTILE_NUMBERS, "0", "-1"],
        "--max-requests": [*HOSTILE_NUMBERS, "0"], "--max-bytes": [*HOSTILE_NUMBERS, "0"], "--body": bodies,
        "--output-tokens": HOSTILE_NUMBERS, "-o": [str(a_file), "/dev/null", str(a_file / "sub")],
    }
    for _ in range(60):
        flag = rng.choice(sorted(options))
        out = ["-o", str(tmp_path / "out")] if flag != "-o" else []
        args = ["prepare", str(data), "-m", "acme-small", "--vendor", "openai", "--prices", ACME, "--as-of",
                "2026-03-01", *out, flag, rng.choice(options[flag])]
        assert_clean_failure(args)
        assert not (tmp_path / "out").exists(), args
    assert a_file.read_text() == "precious"


TABLE_NUMBERS = ["-1", "-1000000", "0", str(10**30), "-" + str(10**30), "true", ".nan", ".inf", "-.inf", "1.5",
                 '"x"', "[]", "{}"]  # (null is fine: the optional fields may be empty)
LEGIT = {"priority": ("-1", "0", "-1000000"), "message_overhead": ("0",), "reply_priming": ("0",)}
NUMERIC_FIELDS = ["priority", "context_window", "max_output", "max_requests", "max_bytes", "min_tokens",
                  "above_input_tokens", "message_overhead", "reply_priming"]


def test_fuzz_hostile_numbers_in_price_tables(tmp_path: Path) -> None:
    """Every numeric field, any hostile value: `prices validate` says which, in one line, exit 2."""
    rng = random.Random(99)
    text = Path(ACME).read_text(encoding="utf-8").replace(
        "    method: exact\n", "    method: exact\n    message_overhead: 3\n    reply_priming: 3\n", 1)
    fields = [f for f in NUMERIC_FIELDS if f"{f}: " in text]
    assert len(fields) >= 8
    path = tmp_path / "2026-01-01.yaml"
    for _ in range(50):
        field = rng.choice(fields)
        value = rng.choice(TABLE_NUMBERS)
        if value in LEGIT.get(field, ()):
            value = str(10**30)  # a fine value for this field: keep the case hostile
        head, sep, tail = text.partition(f"{field}: ")
        rest = tail.split("\n", 1)[1] if field != "max_requests" else tail.split(",", 1)[1]
        joiner = "\n" if field != "max_requests" else ","
        path.write_text(head + sep + value + joiner + rest, encoding="utf-8")
        result = runner.invoke(app, ["prices", "validate", str(path)])
        assert result.exit_code == 2, (field, value, result.stdout, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, (field, value, result.stderr)
        # a key written twice is refused as well, wherever it is
        lines = text.splitlines(keepends=True)
        at = rng.randrange(1, len(lines))
        if lines[at].strip() and ":" in lines[at] and not lines[at].lstrip().startswith(("-", "#")):
            path.write_text("".join([*lines[: at + 1], lines[at], *lines[at + 1 :]]), encoding="utf-8")
            result = runner.invoke(app, ["prices", "validate", str(path)])
            assert result.exit_code == 2 and "duplicate key" in result.stderr, (lines[at], result.stderr)


HISTORY_VALUES: list[object] = [True, False, -1, 0, 1.5, 10**30, -(10**30), "x", "", None, [], {}, float("nan"),
                                "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", 1, 2**63]


def test_fuzz_hostile_history_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutated OpenAI and Anthropic batch objects: each is stored or skipped with a reason (exit 0/1), and
    whatever was stored reads back (history show works)."""
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    rng = random.Random(7)
    counts = {"total": 10, "completed": 8, "failed": 2}
    for round_ in range(8):
        objs = []
        for i in range(25):
            if rng.random() < 0.5:
                obj: dict[str, object] = {"object": "batch", "id": f"b{round_}-{i}", "status": "completed",
                                          "created_at": 1_780_000_000, "completed_at": 1_780_003_600,
                                          "request_counts": dict(counts)}
                key = rng.choice(["created_at", "completed_at", "id", "status", "total", "completed", "failed"])
            else:
                obj = {"type": "message_batch", "id": f"m{round_}-{i}", "processing_status": "ended",
                       "created_at": "2026-11-01T00:00:00Z", "ended_at": "2026-11-01T02:00:00Z",
                       "request_counts": {"processing": 0, "succeeded": 5, "errored": 0, "canceled": 0, "expired": 0}}
                key = rng.choice(["created_at", "ended_at", "id", "succeeded", "expired"])
            target = obj["request_counts"] if key in ("total", "completed", "failed", "succeeded", "expired") else obj
            target[key] = rng.choice(HISTORY_VALUES)  # type: ignore[index]
            objs.append(obj)
        path = tmp_path / f"r{round_}.jsonl"
        path.write_text("".join(json.dumps(o) + "\n" for o in objs))
        result = runner.invoke(app, ["history", "import", str(path)])
        output = result.stdout + result.stderr
        assert result.exit_code in (0, 1), output[-800:]
        assert "Traceback" not in output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        shown = runner.invoke(app, ["history", "show", "--json"])
        assert shown.exit_code == 0, shown.stderr


def test_fuzz_numbers_in_batch_lines_are_flagged(tmp_path: Path) -> None:
    rng = random.Random(31337)
    bad_literals = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 25, "-" + "9" * 5000]
    for round_ in range(6):
        lines, flagged = [], set()
        for i in range(1, 21):
            body = {"model": "acme-small", "messages": [{"role": "user", "content": f"q{i}"}], "temperature": 0.5}
            text = json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body})
            if rng.random() < 0.4:
                text = text.replace("0.5", rng.choice(bad_literals))
                flagged.add(i)
            lines.append(text)
        path = tmp_path / f"b{round_}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        result = runner.invoke(app, ["validate", str(path), "--json", "--prices", ACME, "--as-of", "2026-03-01",
                                     "--output-tokens", "5"])
        assert result.exit_code == (1 if flagged else 0), result.stderr
        doc = json.loads(result.stdout)
        assert {p["line"] for p in doc["problems"]} == flagged
        assert doc["valid_requests"] == 20 - len(flagged)
