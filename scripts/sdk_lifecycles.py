"""Read the retirement dates Anthropic's Python SDK warns about, from its released wheels, into
pricing/_lifecycles/anthropic.yaml (maintainers; the planner reads that file, never the SDK).

    mkdir -p /tmp/sdk && for v in 1.11.0 2.17.0; do pip download --no-deps -d /tmp/sdk anthropic==$v; done
    python scripts/sdk_lifecycles.py /tmp/sdk/*.whl

Each release's `DEPRECATED_MODELS` dict (model id → "June 30th, 2026") is parsed from the wheel's source
with `ast`, not imported: every release can be read side by side, whatever SDK is installed.
"""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import yaml

#: where releases keep the table: anthropic/_data/ since 2.x, the messages resource before
PLACES = ("anthropic/_data/deprecated_models.py", "anthropic/resources/messages/messages.py")
OUT = Path(__file__).resolve().parents[1] / "pricing" / "_lifecycles" / "anthropic.yaml"


def table_of(wheel: Path) -> dict[str, date]:
    with zipfile.ZipFile(wheel) as zf:
        for place in PLACES:
            if place in zf.namelist():
                found = _dict_in(zf.read(place).decode("utf-8"))
                if found is not None:
                    return found
    return {}


def _dict_in(source: str) -> dict[str, date] | None:
    for node in ast.walk(ast.parse(source)):
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "DEPRECATED_MODELS" and node.value is not None:
            raw = ast.literal_eval(node.value)
            return {str(k): _date(str(v)) for k, v in raw.items()}
    return None


def _date(text: str) -> date:
    return datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)", r"\1", text.strip()), "%B %d, %Y").date()


def _version(wheel: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in wheel.name.split("-")[1].split("."))


def main(wheels: list[Path]) -> None:
    releases = {".".join(map(str, _version(w))): table_of(w) for w in sorted(wheels, key=_version)}
    doc = {
        "provider": "anthropic",
        "list": "Anthropic's SDK",
        "source": "the DEPRECATED_MODELS table of each release on https://pypi.org/project/anthropic/",
        "read": date.today().isoformat(),
        "releases": {v: {m: d.isoformat() for m, d in sorted(t.items())} for v, t in releases.items()},
    }
    header = "# Retirement dates Anthropic's Python SDK warns about, per release (scripts/sdk_lifecycles.py).\n" \
             "# A model a release does not list is not announced for retirement by that release.\n"
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=110), encoding="utf-8")
    print(f"wrote {OUT}: {len(releases)} releases")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
