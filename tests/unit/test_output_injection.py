"""Labels and names from files are shown as typed in every medium: never run by a terminal, a Markdown
renderer, a spreadsheet or matplotlib.

A Record's label (or a catalog's text, a file's name) with escape sequences, rich markup, HTML, links,
images, formulas and mathtext: the terminal gets no control character, rich markup is printed as
text, report.md and compare.md pass no HTML, link or image through, compare.csv starts no formula,
and every chart and report section is still drawn.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from fakes import fake_wheel  # noqa: E402
from helpers import run_kpbench  # noqa: E402
from kpbench import fmt  # noqa: E402
from kpbench.cost.catalog import DEFAULT_CATALOG  # noqa: E402

RECORDS = Path(__file__).parents[1] / "fixtures" / "records"
HOSTILE = ("\x1b]0;PWNED\x07\x1b[2J\x9b31m[bold red]X[/] <script>alert(1)</script> [l](javascript:alert(1)) "
           "![i](https://evil.example/p.png) $\\alpha$ $ \u202e\ud800")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\ud800]")  # a newline ends a line; nothing else passes


def hostile_records(tmp_path: Path, label: str = HOSTILE, formula: bool = False) -> list[Path]:
    paths = []
    for i, name in enumerate(("g4dn_xlarge.json", "g5_xlarge.json")):
        rec = json.loads((RECORDS / name).read_text())
        rec["label"] = ("=HYPERLINK(\"http://evil\")" if formula and i else label) + f" {i}"
        path = tmp_path / f"r{i}.json"
        path.write_text(json.dumps(rec))
        paths.append(path)
    return paths


def no_control(text: str) -> bool:
    return CONTROL.search(text) is None


def rendered_markup(markdown: str) -> str:
    """What a Markdown renderer (CommonMark with tables, as GitHub) makes of ``markdown``: its HTML."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def harmless(html: str) -> bool:
    """No element, link or image that a label could have brought in."""
    images = re.findall(r'<img src="([^"]*)"', html)
    return "<script" not in html and "<a " not in html and all(re.fullmatch(r"[\w.-]+\.png", src) for src in images)


def test_compare_prints_a_hostile_label_as_text(tmp_path):
    code, out, err = run_kpbench(*["compare", *map(str, hostile_records(tmp_path))])
    assert code == 0, err
    assert no_control(out) and no_control(err)
    assert "[bold red]X[/]" in out.replace("\n", "")  # markup shown, not applied
    assert "\\x1b]0;PWNED" in out.replace("\n", "")  # the escape shown, visibly


def test_compare_out_escapes_markdown_quotes_formulas_and_draws_every_chart(tmp_path):
    out_dir = tmp_path / "cmp"
    code, _, err = run_kpbench(*["compare", *map(str, hostile_records(tmp_path, formula=True)), "--out", str(out_dir)])
    assert code == 0, err
    md = (out_dir / "compare.md").read_text()
    assert harmless(rendered_markup(md)) and no_control(md) and "<script>" not in md
    cells = [row[0] for row in csv.reader((out_dir / "compare.csv").read_text().splitlines()[1:])]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in cells) and any(c.startswith("'=") for c in cells)
    assert all((out_dir / f).stat().st_size > 1000 for f in ("compare_time.png", "compare_cost.png", "compare_pareto.png"))


def test_report_md_passes_no_html_link_or_image_and_draws_every_section(tmp_path):
    out_dir = tmp_path / "report"
    code, out, err = run_kpbench(*["report", *map(str, hostile_records(tmp_path)), "--out", str(out_dir)])
    assert code == 0, err
    md = (out_dir / "report.md").read_text()
    assert harmless(rendered_markup(md)) and no_control(md) and "<script>" not in md
    assert all(ref.endswith(".png") and "/" not in ref for ref in re.findall(r"!\[[^\]]*\]\(([^)]*)\)", md))
    assert "not drawn" not in err and "not drawn" not in md  # mathtext in a label fails no figure
    html = (out_dir / "report.html").read_text()
    assert "<script>" not in html and "\x1b" not in html
    assert no_control(err)


def test_a_hostile_file_name_in_an_error_line_is_shown_as_text(tmp_path):
    code, _, err = run_kpbench(*["compare", str(tmp_path / "\x1b]0;PWNED\x07.json")])
    assert code == 2 and err.count("\n") == 1 and no_control(err) and "\\x1b" in err


def test_the_catalog_prints_its_own_text_as_text(tmp_path):
    rows = [r for r in csv.reader(DEFAULT_CATALOG.read_text().splitlines()) if r and not r[0].startswith("#")]
    header, row = rows[0], next(r for r in rows if r[0] == "g4dn.xlarge")
    for column in ("gpu", "price_source", "price_date", "notes", "region"):
        row[header.index(column)] = "[red]x[/] \x1b[2J" + column
    catalog = tmp_path / "catalog.csv"
    with open(catalog, "w", newline="") as f:
        csv.writer(f).writerows([header, row])
    code, out, err = run_kpbench(*["catalog", "--catalog", str(catalog)])
    assert code == 0, err
    assert no_control(out) and "[red]x[/]" in out


def test_a_plan_estimated_from_a_hostile_record_prints_it_as_text(tmp_path):
    rec = json.loads((RECORDS / "g4dn_xlarge.json").read_text())
    rec["label"] = HOSTILE
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rec))
    code, out, err = run_kpbench(*["cloud", "plan", "--instances", "g4dn.xlarge", "--record", str(path),
                              "--wheel", str(fake_wheel(tmp_path)), "--out", str(tmp_path / "plan")])
    assert code == 0, err
    assert no_control(out) and no_control(err)


@pytest.mark.parametrize("text", [HOSTILE, "plain label", "a\nb", "$$", "-5 °C", "1. first"])
def test_each_medium_keeps_the_text_readable(text):
    assert no_control(fmt.plain(text)) and "\n" not in fmt.plain(text)
    assert fmt.plain("plain label") == "plain label"
    assert harmless(rendered_markup(fmt.markdown_text(text)))
    assert rendered_markup(fmt.markdown_text("a *b* [c](d)")).strip() == "<p>a *b* [c](d)</p>"
    assert fmt.chart_text(text).count("$") == fmt.chart_text(text).count("\\$")
