"""The Report as Markdown with its PNGs beside it, for pasting into a paper or a README."""

from __future__ import annotations

from kpbench.report.blocks import Columns, Figure, Note, Paragraph, Report, Table


def render_md(report: Report) -> tuple[str, dict[str, bytes]]:
    """Markdown text and the pictures it references ({file name: PNG bytes})."""
    out = [f"# {report.title}", "", f"*Generated {report.created_utc} by kpbench.*", ""]
    if report.headline:
        out += ["| " + " | ".join(h.label for h in report.headline) + " |",
                "|" + "---|" * len(report.headline),
                "| " + " | ".join(f"**{h.value}** {h.detail}".strip() for h in report.headline) + " |", ""]
    if report.warnings:
        out += ["> **Incomplete report.** " + " ".join(f"{w}." if not w.endswith(".") else w for w in report.warnings), ""]
    pictures: dict[str, bytes] = {}
    for s in report.sections:
        out += [f"## {s.title}", ""]
        for b in _flat(s.blocks):
            if isinstance(b, Paragraph):
                out += [b.text, ""]
            elif isinstance(b, Note):
                out += [f"> *Not available: {b.text}*", ""]
            elif isinstance(b, Table):
                out += _table(b)
            elif isinstance(b, Figure):
                pictures[b.name] = b.png
                out += [f"![{_escape(b.caption)}]({b.name})", "", f"*{b.caption}*", ""]
    if report.inputs:
        out += ["## Inputs", ""] + [f"- `{line}`" for line in report.inputs] + [""]
    return "\n".join(out), pictures


def _flat(blocks: list) -> list:
    return [x for b in blocks for x in (_flat(b.blocks) if isinstance(b, Columns) else [b])]


def _table(t: Table) -> list[str]:
    align = ["---:" if n else "---" for n in t.numeric]
    lines = ["| " + " | ".join(_escape(c) for c in t.columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in t.rows]
    return lines + (["", f"*{t.caption}*"] if t.caption else []) + [""]


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
