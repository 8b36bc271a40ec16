"""Figures in README.md, docs/ and benchmark headers are generated from one home, never hand copies that drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from helpers import run_kpbench
from kpbench.cost import load_catalog
from kpbench.report.catalog import catalog_markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs():
    spec = importlib.util.spec_from_file_location("docs_blocks", ROOT / "benchmarks" / "docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_block_matches_its_source(docs, capsys):
    assert docs.run(check=True) == 0, "stale blocks (run `make docs`):\n" + capsys.readouterr().err


def test_every_block_in_the_documents_has_a_renderer(docs):
    names = {m.group("name") for p in docs.documents() for m in docs._BLOCK.finditer(p.read_text(encoding="utf-8"))}
    assert "catalog" in names, "docs/cost.md lost its catalog block"
    assert names <= set(docs.RENDERERS), f"blocks without a renderer: {names - set(docs.RENDERERS)}"


def test_rewrite_replaces_only_the_block_and_reports_unknown_names(docs):
    text = f"before\n{docs.begin('x')}\nstale\n{docs.end('x')}\nafter {docs.begin('y')}\nkeep\n{docs.end('y')}\n"
    new, changed, problems = docs.rewrite(text, {"x": lambda: "fresh\n"})
    assert new == f"before\n{docs.begin('x')}\nfresh\n{docs.end('x')}\nafter {docs.begin('y')}\nkeep\n{docs.end('y')}\n"
    assert changed == ["x"] and problems == ["unknown block 'y'"]
    assert docs.rewrite(new, {"x": lambda: "fresh\n", "y": lambda: "keep\n"})[1] == []


def test_a_block_whose_source_is_missing_is_kept_and_reported(docs):
    def missing() -> str:
        raise OSError("no such file")

    text = f"{docs.begin('x')}\nold\n{docs.end('x')}\n"
    new, changed, problems = docs.rewrite(text, {"x": missing})
    assert new == text and changed == [] and "cannot be read" in problems[0]


def test_kpbench_catalog_markdown_prints_the_table_docs_cost_md_shows():
    r = run_kpbench("catalog", "--markdown")
    assert r.code == 0 and r.out == catalog_markdown(load_catalog())


def test_every_instance_is_a_row_and_every_source_a_numbered_note():
    catalog = load_catalog()
    table = catalog_markdown(catalog)
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| instance")]
    assert [r.split("|")[1].strip() for r in rows] == [i.instance_type for i in catalog]
    for n, source in enumerate(dict.fromkeys(i.price_source for i in catalog), 1):
        assert f"[{n}] {source}" in table
