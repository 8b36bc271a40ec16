"""The Record: schema, loading, atomic writing, exports and the MLLOG."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from kpbench.bench import export, mllog
from kpbench.bench.record import SCHEMA, SCHEMA_FILE, build_record, load_record, write_new_record
from kpbench.errors import KpbenchError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "record_cpu.json"


def validate(record: dict) -> None:
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(record)


def fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def test_schema_file_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


def test_fixture_record_matches_the_schema():
    validate(fixture())


def test_schema_rejects_a_record_without_figures():
    bad = fixture()
    del bad["figures"]["train_s"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_schema_rejects_a_figure_without_values():
    bad = fixture()
    bad["figures"]["init_s"]["values"] = []
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_load_record_reads_the_fixture():
    assert load_record(FIXTURE)["schema"] == SCHEMA


@pytest.mark.parametrize(
    "text, says",
    [
        ("{not json", "not valid JSON"),
        ('{"hello": 1}', "not a kpbench Record"),
        ("[1, 2]", "not a kpbench Record"),
        ('{"schema": "kpbench.record/9"}', "not supported"),
    ],
)
def test_load_record_names_the_file_in_one_line(tmp_path, text, says):
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(KpbenchError) as err:
        load_record(path)
    assert str(err.value).startswith("r.json: ") and says in str(err.value) and "\n" not in str(err.value)


def test_load_record_of_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(KpbenchError, match="no such file"):
        load_record(tmp_path / "absent.json")


def test_a_record_interrupted_while_written_leaves_no_file(tmp_path, monkeypatch):
    import os

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_new_record(tmp_path, "record", fixture())
    assert list(tmp_path.iterdir()) == []


def test_a_new_record_never_replaces_an_existing_file(tmp_path):
    (tmp_path / "record.json").write_text("the user's own file")
    path = write_new_record(tmp_path, "record", fixture())
    assert path.name == "record-1.json" and load_record(path) == fixture()
    assert (tmp_path / "record.json").read_text() == "the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record-1.json", "record.json"]


def runs_from_fixture(rec: dict) -> list[dict]:
    return [{**copy.deepcopy(r), "data_load": rec["data_load"]} for r in rec["runs"]]


def test_build_record_from_runs_matches_the_schema_and_the_fixture_figures():
    rec = fixture()
    runs = runs_from_fixture(rec) + [{"repeat": 3, "ok": False, "error": "RuntimeError: out of memory"}]
    built = build_record(
        runs, requested=4, warmup=0, label="x", config=rec["config"], machine=rec["machine"],
        software=rec["software"], flops=rec["flops"],
    )
    validate(built)
    assert built["repeats"]["completed"] == 3
    assert built["repeats"]["failed"] == [{"repeat": 3, "error": "RuntimeError: out of memory"}]
    assert built["runs"][3]["ok"] is False
    for name in ("train_s", "images_per_s", "init_s"):
        assert built["figures"][name]["median"] == pytest.approx(rec["figures"][name]["median"])
    assert built["phases"]["warmup_s"]["values"] == rec["phases"]["warmup_s"]["values"]


def test_build_record_warns_when_the_target_was_missed_in_some_repeats():
    rec = fixture()
    runs = runs_from_fixture(rec)
    runs[0]["figures"]["time_to_target_s"] = None
    built = build_record(
        runs, requested=3, warmup=0, label=None, config=rec["config"], machine=rec["machine"],
        software=rec["software"], flops=rec["flops"],
    )
    assert built["figures"]["time_to_target_s"]["values"] == [14.9, 16.0]
    assert any("reached in 2 of 3" in w for w in built["warnings"])


def test_build_record_refuses_when_every_repeat_failed():
    rec = fixture()
    with pytest.raises(KpbenchError, match="all 1 repeats failed"):
        build_record(
            [{"repeat": 0, "ok": False, "error": "boom"}], requested=1, warmup=0, label=None,
            config=rec["config"], machine=rec["machine"], software=rec["software"], flops=rec["flops"],
        )


def test_csv_and_markdown_exports_carry_every_figure_and_phase():
    rec = fixture()
    csv_text = export.to_csv(rec)
    header, *rows = csv_text.splitlines()
    assert header.split(",") == list(export.COLUMNS)
    assert len(rows) == len(rec["figures"]) + len(rec["phases"])
    assert rows[0].startswith("figure,wall_s,s,23.016,") and rows[1].startswith("figure,init_s,s,2.475,")
    md = export.to_markdown(rec)
    assert "| init_s | 2.473 ± 0.04255 | 2.475 | 2.429 … 2.514 | s |" in md
    assert "phase warmup_s" in md and "phase unattributed_s" in md


def test_exports_are_written_where_asked(tmp_path):
    written = export.write_exports(fixture(), csv_path=tmp_path / "f.csv", markdown_path=tmp_path / "f.md")
    assert [p.name for p in written] == ["f.csv", "f.md"] and all(p.exists() for p in written)


def test_mllog_lines_follow_mlperf_keys_and_tag_the_repeat(tmp_path):
    log = mllog.EventLog()
    log.log("init_start", time_s=1.0)
    log.log("eval_accuracy", 2.5, epoch_num=1)
    path = tmp_path / "r.mllog"
    mllog.write_mllog(path, [{"repeat": 4, "events": log.events}])
    assert path.read_text().startswith(":::MLLOG {")
    start, acc = mllog.read_mllog(path)
    assert set(start) == {"namespace", "time_ms", "event_type", "key", "value", "metadata"}
    assert (start["key"], start["event_type"], start["time_ms"]) == ("init_start", "INTERVAL_START", 1000)
    assert (acc["event_type"], acc["value"], acc["metadata"]) == ("POINT_IN_TIME", 2.5, {"epoch_num": 1, "repeat": 4})


def test_an_export_on_a_full_disk_names_the_export_not_a_temporary_file(full_disk):
    (full_disk / "filler").write_bytes(b"x" * (1024 * 1024))
    with pytest.raises(KpbenchError) as err:
        export.write_exports(fixture(), markdown_path=full_disk / "figures.md")
    assert str(err.value).startswith(f"{full_disk / 'figures.md'}: cannot write the export")
    assert ".tmp" not in str(err.value) and sorted(p.name for p in full_disk.iterdir()) == ["filler"]
