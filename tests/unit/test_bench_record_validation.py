"""Records that are valid JSON but wrong inside are refused on load: one line naming the file and the value."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kpbench.bench.record import SCHEMA_FILE, SCHEMA_FILES, check_record, load_record, record_schema
from kpbench.bench.validate import SchemaViolation, validate
from kpbench.errors import KpbenchError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "record_cpu.json"
RECORDS = sorted((Path(__file__).parents[1] / "fixtures" / "records").glob("*.json"))


def fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "edited.json"
    path.write_text(text)
    with pytest.raises(KpbenchError) as err:
        load_record(path)
    message = str(err.value)
    assert message.startswith("edited.json: ") and "\n" not in message
    return message


def edited(change) -> str:
    rec = fixture()
    change(rec)
    return json.dumps(rec)


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda r: r["figures"]["init_s"].update(median=-1.5), "figures.init_s.median: -1.5 is below the minimum 0"),
        (lambda r: r["figures"]["train_s"]["values"].__setitem__(0, -3), "figures.train_s.values[0]: -3 is below"),
        (lambda r: r["machine"].update(price_per_hour=-0.5), "machine.price_per_hour: -0.5 is below the minimum 0"),
        (lambda r: r.update(label={"a": 1}), "label: an object, expected string or null"),
        (lambda r: r.update(runs=[1, 2]), "runs[0]: 1 (int), expected object"),
        (lambda r: r.update(figures=[1]), "figures: a list, expected object"),
        (lambda r: r["figures"].update(init_s="1.2 s"), "figures.init_s: '1.2 s' (str), expected object"),
        (lambda r: r["figures"].pop("train_s"), "figures: lacks 'train_s'"),
        (lambda r: r["runs"][0]["phases"].update(imports_s=None), "runs[0].phases.imports_s: None (null)"),
        (lambda r: r["config"].update(batch_size=0), "config.batch_size: 0 is below the minimum 1"),
    ],
)
def test_a_record_wrong_inside_is_one_line_naming_the_file_and_the_value(tmp_path, change, says):
    assert says in refusal(tmp_path, edited(change))


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinite_times_are_refused(tmp_path, word):
    text = edited(lambda r: r["figures"]["init_s"].update(median=12345.5)).replace("12345.5", word)
    assert f"{word} is not a JSON number" in refusal(tmp_path, text)


def test_a_number_too_large_for_a_float_is_not_finite_and_refused(tmp_path):
    text = edited(lambda r: r["figures"]["init_s"].update(median=12345.5)).replace("12345.5", "1e400")
    assert "figures.init_s.median: inf is not a finite number" in refusal(tmp_path, text)


def test_json_nested_200000_deep_is_refused_without_recursion_error(tmp_path):
    assert "nested too deeply" in refusal(tmp_path, "[" * 200_000 + "]" * 200_000)


def test_a_deep_value_where_the_schema_wants_a_string_is_refused(tmp_path):
    deep = "[" * 500 + "]" * 500  # deep, yet within what json itself reads
    assert "label: a list" in refusal(tmp_path, edited(lambda r: r.update(label="LABEL")).replace('"LABEL"', deep))


def test_check_record_names_what_it_was_given():
    bad = fixture()
    bad["figures"]["images_per_s"]["median"] = -1
    with pytest.raises(KpbenchError, match=r"^run-7\.json: not a valid Record: figures\.images_per_s\.median"):
        check_record(bad, "run-7.json")


@pytest.mark.parametrize("path", [FIXTURE, FIXTURE.with_name("record_cpu_v1.json"), *RECORDS], ids=lambda p: p.stem)
def test_the_fixture_records_pass_both_validators(path):
    rec = json.loads(path.read_text())
    validate(rec, record_schema(rec["schema"]))
    jsonschema.validate(rec, json.loads(SCHEMA_FILES[rec["schema"]].read_text()))


def test_our_validator_refuses_what_jsonschema_refuses_for_each_edit():
    schema = json.loads(SCHEMA_FILE.read_text())
    edits = [
        lambda r: r["figures"]["eval_s"].update(cv=-0.1),
        lambda r: r["machine"].update(gpu_count=1.5),
        lambda r: r.update(data_load="download"),
        lambda r: r.update(created_utc="yesterday"),
        lambda r: r["repeats"].update(extra=1),
        lambda r: r["runs"][0].update(ok="yes"),
    ]
    for change in edits:
        rec = fixture()
        change(rec)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(rec, schema)
        with pytest.raises(SchemaViolation):
            validate(rec, record_schema())
