"""What every reader of the read layer takes and gives besides requests: the user's reading options and the log
of bad lines passed over. The bottom of planner.read: the datasets, shapes and columnar readers all build on it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SkipLog:
    """Bad lines passed over under `--skip-bad`: how many, and the first few with their reason."""

    count: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)
    keep: int = 5

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append((line, reason))


@dataclass(frozen=True)
class ReadOptions:
    format: str | None = None
    text_column: str | None = None
    system: str | None = None
    output_column: str | None = None
    id_column: str | None = None
