"""Match rules: which model names a table row (or a whole provider) answers to, written as data.

A rule is one of `equals`, `starts_with`, `regex` (searched, as in genai-prices), or a combination
`any_of` / `all_of`. Names are compared case-insensitively. The rules are strict pydantic models, so
a table with a misspelled rule key fails to load instead of silently matching nothing:

    match:
      any_of:
        - equals: claude-sonnet-4-5-20250929     # the dated snapshot Anthropic's API returns
        - starts_with: claude-sonnet-4.5          # a spelling genai-prices accepts

`literals(rule)` lists the exact names and prefixes a rule names; tables use it to refuse two rows
whose rules overlap (genai-prices' `validate_id`), and suggestions use it to offer real names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Rule(BaseModel):
    """A rule clause: frozen, no unknown keys (a misspelled rule fails to load)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Equals(_Rule):
    """The whole name, ignoring case."""

    equals: str = Field(min_length=1)


class StartsWith(_Rule):
    """A prefix of the name, ignoring case (e.g. a dated-snapshot prefix such as `gpt-4o-2024-`)."""

    starts_with: str = Field(min_length=1)


class Regex(_Rule):
    """A regular expression searched in the name (anchor it with `^`/`$`), ignoring case."""

    regex: str = Field(min_length=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class AnyOf(_Rule):
    """Any of the rules."""

    any_of: list[Rule] = Field(min_length=1)


class AllOf(_Rule):
    """Every one of the rules."""

    all_of: list[Rule] = Field(min_length=1)


Rule = Annotated[Equals | StartsWith | Regex | AnyOf | AllOf, Field(union_mode="left_to_right")]
# AnyOf and AllOf name Rule, defined after them: pydantic resolves it when they are first used.


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def matches(rule: Any, name: str) -> bool:
    """Whether `rule` accepts `name` (case-insensitive).

    >>> matches(AnyOf(any_of=[Equals(equals="gpt-4o"), StartsWith(starts_with="gpt-4o-2024-")]), "GPT-4o-2024-08-06")
    True
    """
    lowered = name.lower()
    return _matches(rule, lowered)


def _matches(rule: Any, lowered: str) -> bool:
    if isinstance(rule, Equals):
        return lowered == rule.equals.lower()
    if isinstance(rule, StartsWith):
        return lowered.startswith(rule.starts_with.lower())
    if isinstance(rule, Regex):
        return _compiled(rule.regex).search(lowered) is not None
    if isinstance(rule, AnyOf):
        return any(_matches(r, lowered) for r in rule.any_of)
    if isinstance(rule, AllOf):
        return all(_matches(r, lowered) for r in rule.all_of)
    raise TypeError(f"not a match rule: {rule!r}")


def equals_names(rule: Any) -> list[str]:
    """The exact names a rule lists (its `equals` clauses outside any `all_of`), in order."""
    out: list[str] = []
    if isinstance(rule, Equals):
        out.append(rule.equals)
    elif isinstance(rule, AnyOf):
        for r in rule.any_of:
            out += equals_names(r)
    return out


def literals(rule: Any) -> Iterator[str]:
    """Every literal string a rule names (`equals` values and `starts_with` prefixes)."""
    if isinstance(rule, Equals):
        yield rule.equals
    elif isinstance(rule, StartsWith):
        yield rule.starts_with
    elif isinstance(rule, AnyOf | AllOf):
        for r in rule.any_of if isinstance(rule, AnyOf) else rule.all_of:
            yield from literals(r)


def any_of(rules: list[Any]) -> Any:
    """One rule from several: the rule itself when there is one, else `any_of`."""
    if not rules:
        raise ValueError("no rules")
    return rules[0] if len(rules) == 1 else AnyOf(any_of=rules)


def describe(rule: Any) -> str:
    """A short human description of the clause that accepted a name (for `check`'s notes)."""
    if isinstance(rule, Equals):
        return f"equals '{rule.equals}'"
    if isinstance(rule, StartsWith):
        return f"starts with '{rule.starts_with}'"
    if isinstance(rule, Regex):
        return f"matches /{rule.regex}/"
    if isinstance(rule, AnyOf):
        return " or ".join(describe(r) for r in rule.any_of)
    if isinstance(rule, AllOf):
        return " and ".join(describe(r) for r in rule.all_of)
    return repr(rule)


def accepting_clause(rule: Any, name: str) -> Any | None:
    """The innermost clause of `rule` that accepts `name` (an `any_of` is opened), or None."""
    lowered = name.lower()
    if isinstance(rule, AnyOf):
        for r in rule.any_of:
            found = accepting_clause(r, lowered)
            if found is not None:
                return found
        return None
    return rule if _matches(rule, lowered) else None
