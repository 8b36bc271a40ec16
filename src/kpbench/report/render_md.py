"""The Report as Markdown with its PNGs beside it, for pasting into a paper or a README.

Every text is escaped (``fmt.markdown_text``): a label from a Record may hold HTML, links, images or
emphasis, and the file must show them as typed, never render them. The only markup is the report's own.
"""

from __future__ import annotations

from kpbench.fmt import markdown_text as _escape
from kpbench.report.blocks import Columns, Figure, Note, Paragraph, Report, Table


def render_md(report: Report) -> tuple[str, dict[str, bytes]]:
    """Markdown text and the pictures it references ({file name: PNG bytes})."""
    out = [f"# {report.title}", "", f"*Generated {_escape(report.created_utc)} by kpbench.*", ""]
    if report.headline:
        out += ["| " + " | ".join(_escape(h.label) for h in report.headline) + " |",
                "|" + "---|" * len(report.headline),
                "| " + " | ".join(f"**{_escape(h.value)}** {_escape(h.detail)}".strip() for h in report.headline)
                + " |", ""]
    if report.warnings:
        out += ["> **Incomplete report.** " + " ".join(_escape(f"{w}." if not w.endswith(".") else w)
                                                      for w in report.warnings), ""]
    pictures: dict[str, bytes] = {}
    for s in report.sections:
        out += [f"## {s.title}", ""]  # the report's own titles
        for b in _flat(s.blocks):
            if isinstance(b, Paragraph):
                out += [_escape(b.text), ""]
            elif isinstance(b, Note):
                out += [f"> *Not available: {_escape(b.text)}*", ""]
            elif isinstance(b, Table):
                out += _table(b)
            elif isinstance(b, Figure):
                pictures[b.name] = b.png
                out += [f"![{_escape(b.caption)}]({b.name})", "", f"*{_escape(b.caption)}*", ""]
    if report.inputs:
        out += ["## Inputs", ""] + [f"- {_escape(line)}" for line in report.inputs] + [""]
    return "\n".join(out), pictures


def _flat(blocks: list) -> list:
    return [x for b in blocks for x in (_flat(b.blocks) if isinstance(b, Columns) else [b])]


def _table(t: Table) -> list[str]:
    align = ["---:" if n else "---" for n in t.numeric]
    lines = ["| " + " | ".join(_escape(c) for c in t.columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in t.rows]
    return lines + (["", f"*{_escape(t.caption)}*"] if t.caption else []) + [""]
