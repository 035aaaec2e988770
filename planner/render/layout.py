"""Tables that never cut a cell: fitted to the terminal, or plain full-width rows when piped.

Every command's human tables go through `print_grid`. On a terminal the grid becomes Rich tables that
fit the console width: when all columns do not fit, the columns marked `drop` go first (a note says
which, and where to see them), then the remaining columns are stacked into further tables that repeat
the key columns (the model id), and at the very narrowest each row becomes a block of `header: value`
lines. A cell is never truncated, wrapped or ellipsised. When stdout is not a terminal (a pipe, a
file), rows are printed full width, aligned with spaces, with no box drawing and no colour, like `gh`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TextIO, TypeAlias

if TYPE_CHECKING:  # Rich is imported where a table is drawn: `print_plain` needs none of it
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

Justify = Literal["left", "right", "center"]
Cell: TypeAlias = "str | Text"


@dataclass(frozen=True)
class Col:
    """A column: `key` columns (the model id) are repeated in every stacked part and never dropped;
    `drop` columns may be left out at narrow widths (the note names them). A header may hold a newline
    (two lines on a terminal, one when piped)."""

    header: str
    justify: Justify = "left"
    key: bool = False
    drop: bool = False


@dataclass
class Grid:
    cols: list[Col]
    rows: list[list[Cell]] = field(default_factory=list)
    title: str | None = None
    #: Where a dropped column can be seen, for the note ("--json", "a wider terminal").
    see_also: str = "a wider terminal, a pipe or --json"

    def add(self, *cells: Cell) -> None:
        assert len(cells) == len(self.cols), (len(cells), len(self.cols))
        self.rows.append(list(cells))


def _text(cell: Cell) -> Text:
    from rich.text import Text

    return Text(cell) if isinstance(cell, str) else cell


def _plain(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell.plain


def _table(grid: Grid, which: Sequence[int], title: str | None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, show_edge=False,
        pad_edge=False, collapse_padding=True, header_style="bold",
    )
    for i in which:
        c = grid.cols[i]
        table.add_column(c.header, justify=c.justify, no_wrap=True, overflow="fold")
    for row in grid.rows:
        table.add_row(*(_text(row[i]) for i in which))
    return table


def _width(console: Console, table: Table) -> int:
    """The table's natural width (unbounded: Rich clamps a measurement to the console's width)."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update_width(1_000_000), table).maximum


def _cell_len(text: str) -> int:
    """Columns `text` takes on a terminal (wide characters count two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def plain_lines(grid: Grid) -> list[str]:
    """The grid as aligned plain-text lines (header first), two spaces between columns, full width."""
    cells = [[" ".join(c.header.split()) for c in grid.cols], *[[_plain(x) for x in row] for row in grid.rows]]
    widths = [max(_cell_len(r[i]) for r in cells) for i in range(len(grid.cols))]
    lines = []
    for r in cells:
        parts = []
        for i, (value, c) in enumerate(zip(r, grid.cols, strict=True)):
            pad = " " * (widths[i] - _cell_len(value))
            parts.append(pad + value if c.justify == "right" else value + pad)
        lines.append("  ".join(parts).rstrip())
    return lines


#: Characters Rich's Text removes (BEL, BS, VT, FF, CR) or expands (tab) when it prints a line.
_RICH_CHANGES = re.compile("[\x07\x08\x0b\x0c\x0d\t]")


def print_plain(grid: Grid, file: TextIO) -> bool:
    """Print `grid` to `file` as `print_grid` does to a console that is no terminal, without importing
    Rich (start-up time, issue #14). False, and nothing printed, when a cell holds a character Rich
    would change: `print_grid` then does it."""
    lines = [grid.title] if grid.title and grid.rows else []
    lines += plain_lines(grid) if grid.rows else []
    if any(_RICH_CHANGES.search(line) for line in lines):
        return False
    file.write("".join(line + "\n" for line in lines))
    return True


def print_grid(console: Console, grid: Grid) -> None:
    """Print `grid` whole: fitted tables on a terminal, plain rows when piped (see the module docstring)."""
    from rich.text import Text

    if not grid.rows:
        return
    if not console.is_terminal:
        if grid.title:
            console.print(Text(grid.title), soft_wrap=True)
        for line in plain_lines(grid):
            console.print(Text(line), soft_wrap=True)
        return
    width = console.width
    keep = list(range(len(grid.cols)))
    table = _table(grid, keep, grid.title)
    if _width(console, table) <= width:
        console.print(table)
        return
    dropped: list[str] = []
    for i in reversed(range(len(grid.cols))):
        if grid.cols[i].drop and _width(console, _table(grid, keep, None)) > width:
            keep.remove(i)
            dropped.append(grid.cols[i].header)
    parts = _stack(console, grid, keep, width)
    if parts is None:
        _blocks(console, grid, keep)
    else:
        for k, part in enumerate(parts):
            title = grid.title if k == 0 else (f"{grid.title} (continued)" if grid.title else None)
            if k:
                console.print()
            console.print(_table(grid, part, title))
    if dropped:
        names = ", ".join(" ".join(h.split()) for h in reversed(dropped))
        note = f"Not shown at {width} columns: {names} (see {grid.see_also})."
        console.print(Text(note, style="dim"))


def _stack(console: Console, grid: Grid, keep: list[int], width: int) -> list[list[int]] | None:
    """Pack the non-key columns, in order, into parts that each fit with the key columns; None if even
    one column beside the keys is too wide."""
    keys = [i for i in keep if grid.cols[i].key]
    rest = [i for i in keep if i not in keys]
    parts: list[list[int]] = []
    current: list[int] = []
    for i in rest:
        trial = sorted(keys + current + [i])
        if _width(console, _table(grid, trial, None)) <= width:
            current.append(i)
            continue
        if not current:
            return None
        parts.append(sorted(keys + current))
        current = [i]
        if _width(console, _table(grid, sorted(keys + current), None)) > width:
            return None
    if current or not parts:
        parts.append(sorted(keys + current))
    return parts


def _blocks(console: Console, grid: Grid, keep: list[int]) -> None:
    """One block per row: the key cells on a line, then `header: value` lines."""
    from rich.text import Text

    if grid.title:
        console.print(Text(grid.title, style="bold"))
    keys = [i for i in keep if grid.cols[i].key]
    for row in grid.rows:
        head = Text(" ").join(_text(row[i]) for i in keys) if keys else Text("")
        head.stylize("bold")
        console.print(head)
        for i in keep:
            if i in keys:
                continue
            line = Text(f"  {grid.cols[i].header}: ")
            line.append_text(_text(row[i]))
            console.print(line)


def print_marked(console: Console, mark: str, style: str, text: str, *, indent: int = 0, bold: bool = False) -> None:
    """`✓ text` with wrapped lines hanging under the text on a terminal; one unwrapped line when piped."""
    from rich.table import Table
    from rich.text import Text

    if not console.is_terminal:
        console.print(Text(f"{' ' * indent}{mark} {text}"), soft_wrap=True)
        return
    grid = Table.grid(padding=(0, 1, 0, 0), pad_edge=False)
    if indent:
        grid.add_column(width=indent - 1)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    cells = [Text(mark, style=f"{style} bold" if bold else style), Text(text, style="bold" if bold else "")]
    grid.add_row(*([Text("")] if indent else []), *cells)
    console.print(grid)
