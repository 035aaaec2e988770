"""The one YAML loader for price tables and the config: safe, strict about duplicate keys, bounded.

PyYAML's safe loader (libyaml's when PyYAML was built with it) that also refuses a key written twice
in one mapping, a document nested past Python's recursion limit, and aliases that expand past
MAX_YAML_VALUES ("billion laughs"). Apart from planner.prices.pricing so that commands that read the
compiled-table cache (planner.prices.tablecache) never import yaml.
"""

from __future__ import annotations

from typing import Any

import yaml

#: A table (or config) whose YAML aliases expand to more values than this is refused ("billion laughs").
MAX_YAML_VALUES = 1_000_000
# libyaml's safe loader when PyYAML was built with it (about 10x faster), else the pure-Python one.
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_KINDS = {"int": "integer", "float": "number", "timestamp": "date", "bool": "boolean"}


class _NoDuplicateKeys(yaml.constructor.SafeConstructor):
    """Refuses a key written twice in one mapping: PyYAML silently keeps the last, so a second
    `provider:` would change the table unseen. A scalar PyYAML cannot build (`2026-02-30`, an integer
    over Python's 4,300 digits) is a YAML error on its line, like any other, not a ValueError."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            text = node.value if isinstance(node.value, str) else ""
            shown = text if len(text) <= 40 else f"{text[:20]}…({len(text):,} characters)"
            kind = _KINDS.get(node.tag.rsplit(":", 1)[-1], "value")
            raise yaml.constructor.ConstructorError(
                None, None, f"'{shown}' is not a valid {kind}: {str(exc).split(';')[0]}", node.start_mark
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` merges are meant to be overridden
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                if first != key_node.start_mark.line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}' (first on line {first + 1})", key_node.start_mark
                    )
        return super().construct_mapping(node, deep=deep)


class StrictLoader(_NoDuplicateKeys, _BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader every table and config goes through (libyaml's when PyYAML has it), strict on keys."""


class StrictPyLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """The same in pure Python (PyYAML built without libyaml)."""


SAFE_LOADER: type[yaml.SafeLoader] = StrictLoader


def expanded_size(value: Any, limit: int = MAX_YAML_VALUES) -> int:
    """How many values `value` holds once YAML aliases are expanded (shared nodes count each time they
    are used, as validation would visit them); stops counting past `limit`."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, done = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        children = list(item.items()) if isinstance(item, dict) else item
        flat = [c for pair in children for c in pair] if isinstance(item, dict) else children
        if done:
            sizes[id(item)] = min(limit + 1, 1 + sum(sizes.get(id(c), 1) for c in flat))
        elif id(item) not in sizes:
            sizes[id(item)] = 1  # a cycle (not possible from the safe loader) counts once
            stack.append((item, True))
            stack.extend((c, False) for c in flat if isinstance(c, (dict, list)) and id(c) not in sizes)
    return sizes.get(id(value), 1)


def load_yaml(text: str, loader: type[yaml.SafeLoader] | None = None) -> Any:
    """Parse YAML with the strict safe loader; a document nested too deeply or expanding past
    MAX_YAML_VALUES is a yaml.YAMLError like any other malformed document."""
    try:
        raw = yaml.load(text, Loader=loader or SAFE_LOADER)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
    try:
        size = expanded_size(raw)
    except RecursionError:  # pragma: no cover - expanded_size is iterative
        raise yaml.YAMLError("nested too deeply") from None
    if size > MAX_YAML_VALUES:
        raise yaml.YAMLError(f"expands to more than {MAX_YAML_VALUES:,} values (YAML aliases)")
    return raw
