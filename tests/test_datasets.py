"""Every input format reads into the same requests; bad input is named by file and line."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.core.errors import InputError, UsageError
from planner.read.datasets import ReadOptions, SkipLog, read_requests


def read(path: Path | str, **kw: object) -> tuple[str, list]:  # type: ignore[type-arg]
    skip = kw.pop("skip", None)
    fmt, stream = read_requests(str(path), ReadOptions(**kw), skip)  # type: ignore[arg-type]
    return fmt, list(stream)


CHAT = {"id": "a1", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 7, "model": "gpt-4o-mini"}


def test_chat_jsonl(write_jsonl: Callable[..., Path]) -> None:
    fmt, reqs = read(write_jsonl([CHAT, {"messages": [{"role": "user", "content": "yo"}]}]))
    assert fmt == "chat"
    assert [r.id for r in reqs] == ["a1", "line-2"]
    assert reqs[0].max_tokens == 7 and reqs[0].model == "gpt-4o-mini" and reqs[1].max_tokens is None


def test_openai_batch_lines(write_jsonl: Callable[..., Path]) -> None:
    line = {
        "custom_id": "req-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5},
    }
    emb = {"custom_id": "e1", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m", "input": "x"}}
    fmt, reqs = read(write_jsonl([line, emb]))
    assert fmt == "openai-batch"
    assert (reqs[0].id, reqs[0].api, reqs[0].max_tokens) == ("req-1", "chat", 5)
    assert reqs[1].api == "embeddings"


def test_anthropic_batch_lines(write_jsonl: Callable[..., Path]) -> None:
    line = {
        "custom_id": "c-1",
        "params": {
            "model": "claude-haiku-4-5",
            "max_tokens": 64,
            "system": "be brief",
            "messages": [{"role": "user", "content": "x"}],
        },
    }
    fmt, reqs = read(write_jsonl([line]))
    assert fmt == "anthropic-batch"
    assert (reqs[0].id, reqs[0].api, reqs[0].max_tokens, reqs[0].model) == ("c-1", "anthropic", 64, "claude-haiku-4-5")


def test_csv_with_text_column_and_system(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text('id,text,other\n1,"hello, ""world""\nsecond line",x\n2,bye,y\n', encoding="utf-8")
    fmt, reqs = read(p, text_column="text", system="Classify.")
    assert fmt == "csv"
    assert [r.id for r in reqs] == ["1", "2"]
    assert reqs[0].body["messages"] == [
        {"role": "system", "content": "Classify."},
        {"role": "user", "content": 'hello, "world"\nsecond line'},
    ]


def test_tsv(tmp_path: Path) -> None:
    p = tmp_path / "d.tsv"
    p.write_text("q\tz\nwhat is up\t1\n", encoding="utf-8")
    fmt, reqs = read(p, text_column="q")
    assert fmt == "tsv" and reqs[0].body["messages"][0]["content"] == "what is up"


def test_csv_needs_text_column(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("a\n1\n")
    with pytest.raises(UsageError, match="--text-column"):
        read(p)


def test_csv_missing_column_names_columns(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError) as e:
        read(p, text_column="prompt")
    assert str(e.value) == f"{p}:1: no column 'prompt'; columns are: a, b"


def test_plain_text_one_request_per_line(tmp_path: Path) -> None:
    p = tmp_path / "d.txt"
    p.write_text("first\n\nsecond\r\n", encoding="utf-8")
    fmt, reqs = read(p)
    assert fmt == "text"
    assert [r.body["messages"][-1]["content"] for r in reqs] == ["first", "second"]
    assert [r.line for r in reqs] == [1, 3]


def test_gzip_and_bom(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write("\ufeff" + json.dumps(CHAT) + "\n")
    fmt, reqs = read(p)
    assert fmt == "chat" and reqs[0].id == "a1"


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (json.dumps(CHAT) + "\n").encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    fmt, reqs = read("-")
    assert fmt == "chat" and len(reqs) == 1


def test_format_override(tmp_path: Path) -> None:
    p = tmp_path / "d.data"
    p.write_text('{"looks": "like json"}\n')
    fmt, reqs = read(p, format="text")
    assert fmt == "text" and reqs[0].body["messages"][0]["content"] == '{"looks": "like json"}'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"messages": [', "malformed JSON"),
        ('["a"]', "expected a JSON object, got a list"),
        ('{"prompt": "x"}', "no 'messages' field"),
        ('{"messages": "hi"}', "'messages' must be a list, got a string"),
        ('{"messages": [{"role": "user", "content": {"a": 1}}]}', "content must be a string or a list"),
        ('{"messages": [{"role": "user", "content": "x"}], "max_tokens": "10"}', "'max_tokens' must be"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(CHAT) + "\n" + line + "\n")
    with pytest.raises(InputError) as e:
        read(p)
    assert str(e.value).startswith(f"{p}:2: ")
    assert message in str(e.value)


def test_skip_bad_reports_lines(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    good = json.dumps(CHAT)
    p.write_text("\n".join([good, "{oops", good, '{"messages": 3}', good]) + "\n")
    skip = SkipLog()
    _, reqs = read(p, skip=skip)
    assert len(reqs) == 3
    assert skip.count == 2 and [n for n, _ in skip.first] == [2, 4]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_text(""), "no requests found"),
        (lambda p: p.write_text("\n\n"), "no requests found"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00binary\x00\x81"), "not UTF-8"),
    ],
)
def test_unreadable_files(tmp_path: Path, setup: Callable[[Path], object], message: str) -> None:
    p = tmp_path / "d.jsonl"
    setup(p)
    with pytest.raises(InputError, match=message):
        read(p)
