"""The dist-scale Record: built from workers' raw timings, valid against its schema, and what --json prints."""

from __future__ import annotations

import json

import jsonschema
import pytest

from fakes import ALPHA, BETA, fake_raw
from kpbench.errors import KpbenchError
from kpbench.scaling import alphabeta as ab
from kpbench.scaling import analysis
from kpbench.scaling.record import SCHEMA_FILE, build_scale_record, check_scale_record, json_summary
from kpbench.scaling.scale import ScaleConfig, record_config


def test_record_validates_against_its_schema(scale_record):
    jsonschema.validate(scale_record, json.loads(SCHEMA_FILE.read_text()))
    assert scale_record["schema"] == "kpbench.dist-scale/1" and scale_record["kind"] == "dist-scale"


def test_speedup_is_against_the_one_worker_row(scale_record):
    one, two = scale_record["rows"]
    assert one["speedup"] == 1.0
    assert two["speedup"] == pytest.approx(two["images_per_s"] / one["images_per_s"])
    assert two["efficiency"] == pytest.approx(two["speedup"] / 2)


def test_parts_are_checked_against_the_whole_step(scale_record):
    assert scale_record["rows"][0]["parts_error"] == pytest.approx(1 / 1.01 - 1)


def test_busbw_follows_nccl_tests(scale_record):
    p = scale_record["allreduce"]["points"][-1]
    assert p["busbw_bytes_per_s"] == pytest.approx(p["algbw_bytes_per_s"] * 2 * (2 - 1) / 2)


def test_fit_recovers_the_link_and_the_prediction_matches_every_point(scale_record):
    ar = scale_record["allreduce"]
    assert ar["alpha_s"] == pytest.approx(ALPHA, rel=1e-3) and ar["beta_s_per_byte"] == pytest.approx(BETA, rel=1e-3)
    (check,) = scale_record["prediction"]["checks"]
    assert check["nproc"] == 2 and abs(check["error"]) < 0.02  # the fake's 1 % loop overhead, and no more


def test_prediction_covers_the_catalogue_links_and_both_batch_modes(scale_record):
    scen = scale_record["prediction"]["scenarios"]
    assert {s["link"] for s in scen} >= {link.name for link in ab.LINKS}
    assert {s["batch_mode"] for s in scen} == {"per-worker", "global"}
    assert any(b["link"] is None and b["nproc"] == 2 for b in scale_record["prediction"]["break_even"])


def test_json_output_has_the_promised_keys(scale_record):
    out = json_summary(scale_record)
    assert set(out) >= {"rows", "allreduce", "prediction"}
    assert set(out["rows"][0]) == {"nproc", "step_s", "compute_s", "comm_s", "exposed_comm_s", "images_per_s", "speedup"}
    assert {"alpha_s", "beta_s_per_byte"} <= set(out["allreduce"])
    json.dumps(out)  # plain JSON


def test_a_broken_record_gets_a_one_line_error_naming_the_file(scale_record):
    del scale_record["rows"]
    with pytest.raises(KpbenchError, match="bad.json.*rows"):
        check_scale_record(scale_record, "bad.json")


def test_another_schema_version_is_refused(scale_record):
    with pytest.raises(KpbenchError, match="not supported"):
        check_scale_record(scale_record | {"schema": "kpbench.dist-scale/9"}, "x.json")


def test_without_a_multi_worker_run_there_is_no_fit_but_a_record():
    raws = [fake_raw(1)]
    rows = [analysis.row(r, 32) for r in raws]
    analysis.add_speedups(rows)
    fit = analysis.allreduce(raws)
    rec = build_scale_record(record_config(ScaleConfig(nproc=[1], cores=2)), rows, fit,
                             analysis.prediction(rows, fit, 32, "none", None))
    assert rec["allreduce"]["alpha_s"] is None and rec["prediction"]["checks"] == []


def test_charts_are_png(scale_record, tmp_path):
    from kpbench.scaling.charts import write_charts

    names = write_charts(scale_record, tmp_path)
    assert set(names) == {"scaling.png", "time_split.png", "allreduce.png"}
    assert all((tmp_path / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)
