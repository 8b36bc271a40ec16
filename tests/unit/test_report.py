"""kpbench report: Records + run directories → a self-contained report.html and report.md with PNGs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fakes import CLOUD_RECORDS, RECORD_CPU, make_run
from helpers import run_kpbench
from kpbench.errors import KpbenchError
from kpbench.report import write_report

SECTION_IDS = ("machines", "dataset", "model", "optimizer", "training", "predictions", "timing", "cost")


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    run = make_run(tmp / "runs" / "default")
    records = [RECORD_CPU, *CLOUD_RECORDS]
    paths = write_report(records, [run], tmp / "out", data="synthetic")
    return paths, paths.html.read_text(encoding="utf-8"), paths.markdown.read_text(encoding="utf-8")


def test_report_writes_html_and_markdown(full_report):
    paths, html, md = full_report
    assert paths.html.name == "report.html" and paths.markdown.name == "report.md"
    assert html.startswith("<!DOCTYPE html>") and md.startswith("# ")


def test_every_section_is_present_in_order(full_report):
    _, html, md = full_report
    positions = [html.index(f'<section id="{s}">') for s in SECTION_IDS]
    assert positions == sorted(positions)
    for n, title in enumerate(("Objective and machines", "Dataset", "Model", "Optimizer", "Training",
                               "Predictions", "Timing across machines", "Cost across machines"), 1):
        assert f"## {n}. {title}" in md


def test_html_is_self_contained(full_report):
    _, html, _ = full_report
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    srcs = re.findall(r'src="([^"]*)"', html)
    assert srcs, "the report has pictures"
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "@media print" in html


def test_markdown_references_pngs_that_exist_beside_it(full_report):
    paths, _, md = full_report
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert refs and all((paths.markdown.parent / r).is_file() for r in refs)
    assert all((paths.markdown.parent / r).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for r in refs)
    assert sorted(p.name for p in paths.pictures) == sorted(set(refs))


def test_headline_names_best_rmse_fastest_and_cheapest(full_report):
    _, html, _ = full_report
    head = html[html.index('class="cards"'):html.index("</header>")]
    assert "2.90 px" in head
    assert "Fastest machine" in head and "Cheapest machine" in head


def test_cost_section_shows_the_comparison_not_a_recomputation(full_report):
    from kpbench.bench.record import load_record
    from kpbench.cost import compare, load_catalog

    _, html, _ = full_report
    comp = compare([load_record(p) for p in [RECORD_CPU, *CLOUD_RECORDS]], load_catalog())
    cheapest = comp.row(comp.cheapest)
    cost_html = html[html.index('<section id="cost">'):]
    assert f"${cheapest.cost_per_run_usd:.4f}" in cost_html  # cost's own formatting of its own figure
    assert "Pareto" in cost_html and "Verdict:" in cost_html


def test_timing_section_shows_phases_with_spread(full_report):
    _, html, md = full_report
    from kpbench.fmt import spread

    timing = md[md.index("## 7."):md.index("## 8.")]
    init = json.loads(RECORD_CPU.read_text())["figures"]["init_s"]
    assert f"{init['median']:.2f}" in timing and " … " in spread(init)
    assert spread(init) in timing  # median (min … max)
    assert "Phase (s)" in timing and "unattributed\\_s" in timing and "wall\\_s (spawn to exit)" in timing  # Markdown-escaped
    assert "timing.png" in timing


def test_no_records_still_renders_and_says_what_is_missing(tmp_path):
    paths = write_report([], [], tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert any("no Records" in w for w in paths.warnings)
    # sections with nothing to show fold into one line that says what would fill each
    folded = html[html.index('<section id="not-shown">'):]
    folded = folded[: folded.index("</section>")]
    assert "not available" in folded.lower()
    for title in ("Dataset", "Model", "Training", "Timing across machines", "original study"):
        assert title in folded
    folded_ids = ("machines", "dataset", "model", "optimizer", "training", "predictions", "timing")
    assert all(f'<section id="{sid}">' not in html for sid in folded_ids)
    assert '<section id="cost">' in html  # the catalog's prices are something to show
    assert "This report is incomplete" in html


def test_mixed_schema_versions_keep_the_supported_ones(tmp_path):
    other = json.loads(RECORD_CPU.read_text())
    other["schema"] = "kpbench.record/9"
    other["label"] = "from the future"
    (tmp_path / "future.json").write_text(json.dumps(other))
    paths = write_report([RECORD_CPU, tmp_path / "future.json"], [], tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert any("future.json" in w and "kpbench.record/9" in w for w in paths.warnings)
    assert "cpu example" in html and "from the future" not in html.split('id="inputs"')[0]
    assert "Record skipped: " in html


def test_run_dir_without_metrics_is_noted(tmp_path):
    (tmp_path / "empty-run").mkdir()
    paths = write_report([RECORD_CPU], [tmp_path / "empty-run"], tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert any("no metrics.json" in w for w in paths.warnings)
    folded = html[html.index('<section id="not-shown">'):]
    assert "5. Training (training curves: no run directory with metrics.json" in folded[: folded.index("</section>")]


def test_missing_strategies_are_compared_when_runs_differ_only_in_missing(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs / "default", epochs=5, final=2.0)  # a longer run must not join the comparison
    for strat, final in (("mask", 2.5), ("ffill", 3.5), ("drop", 3.0)):
        make_run(runs / f"missing-{strat}", missing=strat, final=final)
    paths = write_report([], [runs], tmp_path / "out")
    md = paths.markdown.read_text(encoding="utf-8")
    data = md[md.index("## 2."):md.index("## 3.")]
    rows = [ln for ln in data.splitlines() if ln.startswith("| ") and ln.split("|")[2].strip().startswith("missing-")]
    assert [r.split("|")[1].strip() for r in rows] == ["mask", "drop", "ffill"]  # best first
    assert "missing-strategies.png" in data


def test_dataset_section_counts_labels_and_shows_faces(full_report):
    _, _, md = full_report
    data = md[md.index("## 2."):md.index("## 3.")]
    assert "synthetic faces" in data and "2,000 × 96×96 px" in data
    assert "| left eye center | 2,000 | 0 | 100 |" in data
    assert "dataset-missing.png" in data and "dataset-samples.png" in data


def test_model_summary_table_from_metrics(full_report):
    _, _, md = full_report
    model = md[md.index("## 3."):md.index("## 4.")]
    assert "| conv1 | Conv2d | 32×94×94 | 320 | 5,000,000 |" in model


def test_cli_report_warns_on_stderr_and_exits_zero(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    r = run_kpbench("report", RECORD_CPU, bad, "--out", tmp_path / "out")
    assert r.code == 0, r.err
    assert "kpbench: warning: Record skipped: broken.json" in r.err
    assert (tmp_path / "out" / "report.html").is_file()
    assert "report.html" in r.out


def test_report_leaves_no_temporary_files(tmp_path):
    write_report([RECORD_CPU], [], tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_html_stays_small(full_report):
    paths, _, _ = full_report
    assert paths.html.stat().st_size < 2_000_000


def test_scaling_records_get_a_distributed_training_section(tmp_path):
    scale = {"kind": "dist-scale", "label": "2 × g4dn.xlarge", "workers": 2,
             "figures": {"train_s": {"median": 70.0, "min": 68.0, "max": 72.0}}}
    (tmp_path / "scale.json").write_text(json.dumps(scale))
    paths = write_report([RECORD_CPU, tmp_path / "scale.json"], [], tmp_path / "out")
    md = paths.markdown.read_text(encoding="utf-8")
    assert "## 9. Distributed training" in md and "2 × g4dn.xlarge" in md
    without = write_report([RECORD_CPU], [], tmp_path / "out2").markdown.read_text(encoding="utf-8")
    assert "Distributed training" not in without


# -- bad input is never fatal --------------------------------------------------


def record_with(tmp_path: Path, name: str, **changes) -> Path:
    rec = json.loads(RECORD_CPU.read_text())
    rec.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(rec))
    return path


def test_a_file_that_is_not_a_record_is_named_skipped_and_the_rest_renders(tmp_path):
    bad = record_with(tmp_path, "bad.json", runs="three")
    paths = write_report([RECORD_CPU, bad], [], tmp_path / "out")
    assert any(w.startswith("Record skipped: bad.json") for w in paths.warnings)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "cpu example" in md[md.index("## 7."):md.index("## 8.")]


def test_a_section_that_cannot_read_a_record_becomes_a_note_and_the_others_render(tmp_path):
    bad = record_with(tmp_path, "odd.json", figures=[1, 2, 3])
    paths = write_report([bad], [make_run(tmp_path / "run")], tmp_path / "out")
    assert paths.warnings  # said on stderr (by the CLI) and at the top of the page
    md = paths.markdown.read_text(encoding="utf-8")
    assert "## 5. Training" in md and "training-curves.png" in md


def test_absurdly_deep_json_is_a_skipped_record_not_a_crash(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    paths = write_report([RECORD_CPU, deep], [], tmp_path / "out")
    assert any("deep.json" in w for w in paths.warnings)
    assert paths.html.is_file()


# -- the output directory --------------------------------------------------------


def test_a_directory_holding_a_users_files_is_refused_and_left_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(KpbenchError, match=r"out: holds files that are not a kpbench report \(notes.txt\).*--force"):
        write_report([RECORD_CPU], [], out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_force_writes_the_report_beside_the_users_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    paths = write_report([RECORD_CPU], [], out, force=True)
    assert paths.html.is_file() and (out / "notes.txt").read_text() == "mine"


def test_an_earlier_report_is_replaced_whole_without_force(tmp_path):
    out = tmp_path / "out"
    first = write_report([RECORD_CPU], [make_run(tmp_path / "run")], out)
    assert (out / "training-curves.png").is_file() and (out / "training-curves.png") in first.pictures
    second = write_report([RECORD_CPU], [], out)
    assert not (out / "training-curves.png").exists()  # the new report has no run: its picture goes
    assert sorted(p.name for p in out.iterdir()) == sorted(["report.html", "report.md", *(p.name for p in second.pictures)])


def test_cli_refuses_a_foreign_directory_in_one_line_with_exit_2(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("mine")
    r = run_kpbench("report", RECORD_CPU, "--out", tmp_path / "out")
    assert r.code == 2 and r.err.count("\n") == 1 and "thesis.tex" in r.error_line and "--force" in r.error_line


@pytest.mark.root
def test_a_full_disk_leaves_no_report_and_no_empty_directories(full_disk):
    (full_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 64 * 1024))  # leave 64 KiB: less than a report
    with pytest.raises(KpbenchError, match=r"a/b/out/[^ ]+: No space left on device"):
        write_report([RECORD_CPU, *CLOUD_RECORDS], [], full_disk / "a" / "b" / "out")
    assert [p.name for p in full_disk.iterdir()] == ["filler"]


@pytest.mark.root
def test_a_full_disk_keeps_the_earlier_report_intact(full_disk, tmp_path):
    out = full_disk / "out"
    write_report([RECORD_CPU], [], tmp_path / "small")
    out.mkdir()
    for p in (tmp_path / "small").iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    free = 1024 * 1024 - sum(len(b) for b in before.values())
    (full_disk / "filler").write_bytes(b"\0" * max(0, free - 32 * 1024))
    with pytest.raises(KpbenchError, match="No space left on device"):
        write_report([RECORD_CPU, *CLOUD_RECORDS], [], out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# -- what the data set is ---------------------------------------------------------


@pytest.mark.parametrize("source, meta, synthetic", [
    ("/data/training.csv", {"synthetic": True}, True),  # the FaceSet says so: files write_synthetic wrote
    ("synthetic:64:0", {"synthetic": False}, False),  # meta decides over the name
    ("synthetic:64:0", {}, True),  # meta silent: the synthetic source spec
    ("/data/training.csv", {}, False),
])
def test_the_report_takes_synthetic_from_the_faceset(synthetic_faces, source, meta, synthetic):
    from dataclasses import replace

    from kpbench.report.sections import is_synthetic

    assert is_synthetic(replace(synthetic_faces, source=source, meta=meta)) is synthetic


def test_no_readme_beside_the_data_is_read(synthetic_dir, tmp_path):
    (synthetic_dir / "README.txt").write_text("kpbench synthetic faces: a note for people")
    paths = write_report([], [], tmp_path / "out", data=str(synthetic_dir / "training.csv"))
    md = paths.markdown.read_text(encoding="utf-8")
    data = section_md(md, "## 2.")
    expected = "synthetic faces (cartoons" if load_faces_meta(synthetic_dir).get("synthetic") else "Kaggle Facial"
    assert expected in data


def section_md(md: str, heading: str) -> str:
    """One section of report.md: from its heading to the next (sections with nothing to show are folded away)."""
    start = md.index(heading)
    end = md.find("\n## ", start + 1)
    return md[start:] if end < 0 else md[start:end]


def load_faces_meta(folder: Path) -> dict:
    from kpbench.data import load_faces

    return load_faces(folder / "training.csv", progress=False).meta


def test_a_faceset_already_loaded_is_described_as_its_meta_says(synthetic_faces, tmp_path):
    from dataclasses import replace

    faces = replace(synthetic_faces, source="/data/training.csv", meta={"synthetic": True})
    md = write_report([], [], tmp_path / "out", data=faces).markdown.read_text(encoding="utf-8")
    data = section_md(md, "## 2.")
    assert "synthetic faces (cartoons" in data and "/data/training.csv" in data and "64 × 96×96 px" in data
