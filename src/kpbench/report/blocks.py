"""The report as plain data: sections made of paragraphs, tables, figures and notes.

Both renderers (HTML and Markdown) read the same `Report`, so the two files
always tell the same story; neither computes a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Paragraph:
    text: str
    small: bool = False  # method notes and fine print


@dataclass
class Table:
    columns: list[str]  # headers carry units: "Train time (s)"
    rows: list[list[str]]
    caption: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [_looks_numeric(self.rows, i) for i in range(len(self.columns))]


@dataclass
class Figure:
    name: str  # file name in the Markdown report, e.g. "training-curves.png"
    png: bytes
    caption: str


@dataclass
class Note:
    """Something the report could not show, and why: rendered as 'not available: …'."""

    text: str


@dataclass
class Columns:
    """Blocks side by side on a wide screen (stacked in Markdown and on narrow screens)."""

    blocks: list


@dataclass
class Headline:
    label: str
    value: str
    detail: str = ""


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks: Paragraph | Table | Figure | Note) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Report:
    title: str
    created_utc: str
    headline: list[Headline]
    sections: list[Section]
    inputs: list[str]  # what the report was built from, one line each
    warnings: list[str]


def _looks_numeric(rows: list[list[str]], i: int) -> bool:
    cells = [r[i] for r in rows if i < len(r) and r[i] not in ("", "—", "–")]
    return bool(cells) and all(c[:1].isdigit() or c[:1] in "$-+." for c in cells)
