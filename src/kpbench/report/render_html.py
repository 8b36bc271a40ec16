"""The Report as one self-contained HTML file: CSS inline, pictures as data: URIs.

A Content-Security-Policy forbids loading anything from outside the file, so a
stray external reference would show as a browser error (the browser test checks).
"""

from __future__ import annotations

import base64
import re
from importlib import resources

import jinja2
from markupsafe import Markup, escape

from kpbench.fmt import plain
from kpbench.report.blocks import Columns, Figure, Note, Paragraph, Report, Table

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def render_html(report: Report) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kpbench.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_plain,
    )
    env.filters["cell"] = _cell
    css = resources.files("kpbench.report").joinpath("templates/report.css").read_text(encoding="utf-8")
    sections = [{"id": s.id, "title": s.title, "blocks": [_block(b) for b in s.blocks]} for s in report.sections]
    return env.get_template("report.html.j2").render(report=report, sections=sections, css=css, csp=CSP)


SPREAD = re.compile(r"^(\S+) \((\S+ … \S+)\)$")


def _plain(value: object) -> object:
    """Every text the template shows, as one printable line (escaped for HTML by autoescape after this)."""
    return value if isinstance(value, Markup) or not isinstance(value, str) else plain(value)


def _cell(text: str) -> Markup:
    """'127 (125 … 129)' → median, with the range small beneath it: tables stay narrow."""
    text = plain(text)
    m = SPREAD.match(text)
    if not m:
        return escape(text)
    return Markup('{}<span class="range">{}</span>').format(m.group(1), m.group(2))


def _block(b: Paragraph | Table | Figure | Note | Columns) -> dict:
    if isinstance(b, Columns):
        return {"kind": "columns", "blocks": [_block(x) for x in b.blocks]}
    if isinstance(b, Figure):
        uri = "data:image/png;base64," + base64.b64encode(b.png).decode("ascii")
        return {"kind": "figure", "src": uri, "caption": b.caption, "name": b.name}
    if isinstance(b, Table):
        return {"kind": "table", "columns": b.columns, "rows": b.rows, "caption": b.caption, "numeric": b.numeric}
    if isinstance(b, Note):
        return {"kind": "note", "text": b.text}
    return {"kind": "paragraph", "text": b.text, "small": b.small}
