"""The report's distributed section, from dist-scale Records."""

from __future__ import annotations

import json

from kpbench.report.write import write_report


def test_a_dist_scale_record_gets_charts_break_even_and_checks(tmp_path, scale_record):
    record = scale_record
    record["compare"] = [{"variant": "bf16 compression", "nproc": 2, "model": "seed", "comm_hook": "bf16",
                          "batch_size": 32, "budget_s": 20.0, "steps": 40, "step_s": 0.5, "exposed_comm_s": 0.01,
                          "images_per_s": 128.0, "val_rmse_px": 3.2}]
    (tmp_path / "dist-scale.json").write_text(json.dumps(record))
    paths = write_report([tmp_path / "dist-scale.json"], [], tmp_path / "out")
    md = paths.markdown.read_text(encoding="utf-8")
    assert "## 9. Distributed training" in md
    assert "Break-even workers" in md and "Predicted step (ms)" in md and "bf16 compression" in md
    assert (tmp_path / "out" / "dist-scaling-0.png").is_file() or "dist-scaling-0.png" in md


def test_no_dist_scale_record_no_section(tmp_path):
    md = write_report([], [], tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "Distributed training" not in md
