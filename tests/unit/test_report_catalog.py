"""The catalog table in docs/cost.md is generated from catalog.csv, never a hand copy that drifts."""

from __future__ import annotations

from pathlib import Path

from helpers import run_kpbench
from kpbench.cost import load_catalog
from kpbench.report.catalog import END, START, block_in, catalog_markdown, generated_block, update_docs

COST_MD = Path(__file__).resolve().parents[2] / "docs" / "cost.md"


def test_the_table_in_docs_cost_md_is_the_catalogs_own():
    block = block_in(COST_MD.read_text(encoding="utf-8"))
    assert block is not None, f"{COST_MD} lost its catalog block"
    assert block == generated_block(), "docs/cost.md's catalog table differs from catalog.csv: run `make docs`"


def test_kpbench_catalog_markdown_prints_the_same_table():
    r = run_kpbench("catalog", "--markdown")
    assert r.code == 0 and r.out == catalog_markdown(load_catalog())


def test_every_instance_is_a_row_and_every_source_a_numbered_note():
    catalog = load_catalog()
    table = catalog_markdown(catalog)
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| instance")]
    assert [r.split("|")[1].strip() for r in rows] == [i.instance_type for i in catalog]
    for n, source in enumerate(dict.fromkeys(i.price_source for i in catalog), 1):
        assert f"[{n}] {source}" in table


def test_update_docs_rewrites_only_the_block(tmp_path):
    doc = tmp_path / "cost.md"
    doc.write_text(f"# Cost\n\nbefore\n\n{START}\n\n| stale |\n\n{END}\n\nafter\n", encoding="utf-8")
    assert update_docs(doc) is True
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Cost\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert block_in(text) == generated_block() and update_docs(doc) is False
