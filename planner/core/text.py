"""Text from data (file names, CSV headers, table ids, a line of a dataset) made safe to show on a terminal.

A file name or a CSV header may hold escape sequences: printed raw, they could clear the screen, set the
window title, hide a line or forge a message. Everything batchplan prints passes through `printable`
once (errors in planner.core.errors, the standard streams in planner.cli.streams), so no command needs
to remember it: control characters are shown escaped (`\\x1b`), as Python's repr would.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F: 0x9B is a one-byte CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# What Rich itself writes on a terminal: colours and styles (SGR), erase line, cursor up/down and
# column, show/hide the cursor; and a carriage return (progress lines).
_OURS = re.compile(r"\x1b\[[0-9;]*[mKABG]|\x1b\[\?25[hl]|\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r"}.get(char, f"\\x{ord(char):02x}")


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character escaped (tab kept; newline kept unless `one_line`)."""
    pattern = _CONTROL_OR_NEWLINE if one_line else _CONTROL
    return pattern.sub(_escape, text) if pattern.search(text) else text


def terminal_safe(text: str) -> str:
    """`text` as it may reach a terminal that Rich also writes to: Rich's own sequences (colour, erase
    line, cursor up, carriage return) pass, every other control character is escaped."""
    if not _CONTROL.search(text):
        return text
    out = []
    last = 0
    for match in _OURS.finditer(text):
        out.append(printable(text[last : match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(printable(text[last:]))
    return "".join(out)
