"""`kpbench compare` and `kpbench catalog`: tables, JSON, files, and one-line errors with exit 2."""

import json
import math
from pathlib import Path

import pytest

from helpers import run_kpbench

RECORDS = Path(__file__).parents[1] / "fixtures" / "records"
G4DN, P3 = str(RECORDS / "g4dn_xlarge.json"), str(RECORDS / "p3_2xlarge.json")


def test_compare_prices_g4dn_and_p3_from_the_catalog_with_per_second_billing():
    code, out, err = run_kpbench("compare", G4DN, P3, "--json")
    assert code == 0, err
    rows = {r["instance_type"]: r for r in json.loads(out)["rows"]}
    for itype, price, path in (("g4dn.xlarge", 0.526, G4DN), ("p3.2xlarge", 3.06, P3)):
        rec = json.loads(Path(path).read_text())
        seconds = rec["figures"]["init_s"]["median"] + rec["figures"]["train_s"]["median"]
        expected_billed = max(60, math.ceil(seconds))
        assert rows[itype]["price_per_hour"] == price
        assert rows[itype]["billed_s"] == expected_billed
        assert rows[itype]["cost_per_run_usd"] == pytest.approx(expected_billed / 3600 * price)


def test_compare_json_has_rows_cheapest_fastest_pareto_verdicts_and_mismatches():
    code, out, _ = run_kpbench("compare", G4DN, P3, "--json")
    d = json.loads(out)
    assert {"rows", "cheapest", "fastest", "pareto", "verdicts", "mismatches"} <= d.keys()
    assert d["cheapest"] == "fixture: g4dn.xlarge" and d["fastest"] == "fixture: p3.2xlarge"
    assert isinstance(d["verdicts"], list) and d["mismatches"] == []


def test_compare_prints_a_table_and_verdicts():
    code, out, _ = run_kpbench("compare", G4DN, P3)
    assert code == 0
    assert "g4dn.xlarge" in out and "p3.2xlarge" in out
    assert "cheapest to target:" in out and "fastest:" in out


def test_compare_out_writes_csv_markdown_and_charts(tmp_path):
    code, _, err = run_kpbench("compare", G4DN, P3, "--out", str(tmp_path / "cmp"))
    assert code == 0, err
    for name in ("compare.csv", "compare.md", "compare.json", "compare_time.png", "compare_cost.png",
                 "compare_pareto.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0, name
    assert not [p for p in (tmp_path / "cmp").iterdir() if p.name.endswith(".tmp")]


def test_price_per_hour_flag_prices_every_record_without_its_own():
    code, out, _ = run_kpbench("compare", G4DN, "--json", "--price-per-hour", "2.0")
    row = json.loads(out)["rows"][0]
    assert row["price_per_hour"] == 2.0 and row["price_source"] == "--price-per-hour"


def test_spot_without_spot_prices_falls_back_to_on_demand_and_says_so():
    code, out, _ = run_kpbench("compare", G4DN, "--json", "--spot")
    row = json.loads(out)["rows"][0]
    assert row["price_per_hour"] == 0.526 and "no spot price" in row["note"]


def one_stderr_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kpbench: error: ")
    return lines[0]


def test_malformed_json_is_one_error_line_naming_the_file_and_exit_2(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"schema": "kpbench.record/1", ')
    code, _, err = run_kpbench("compare", G4DN, str(bad))
    assert code == 2
    assert "broken.json" in one_stderr_line(err)


def test_a_foreign_json_file_is_refused_with_exit_2(tmp_path):
    other = tmp_path / "package.json"
    other.write_text('{"name": "left-pad"}')
    code, _, err = run_kpbench("compare", str(other))
    assert code == 2
    assert "package.json: not a kpbench Record" in one_stderr_line(err)


def test_a_record_of_another_schema_version_is_refused(tmp_path):
    rec = json.loads(Path(G4DN).read_text())
    rec["schema"] = "kpbench.record/9"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(rec))
    code, _, err = run_kpbench("compare", str(path))
    assert code == 2
    line = one_stderr_line(err)
    assert "future.json" in line and "kpbench.record/9" in line and "not supported" in line


def test_a_missing_record_file_is_exit_2(tmp_path):
    code, _, err = run_kpbench("compare", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in one_stderr_line(err)


@pytest.mark.parametrize("price", ["-1", "nan", "inf"])
def test_a_negative_or_non_finite_price_flag_is_refused(price):
    code, _, err = run_kpbench("compare", G4DN, "--price-per-hour", price)
    assert code == 2 and "--price-per-hour" in one_stderr_line(err)


def test_a_bad_user_catalog_is_one_line_naming_it(tmp_path):
    cat = tmp_path / "prices.csv"
    cat.write_text("instance_type,price_per_hour\ng4dn.xlarge,0.5\n")
    code, _, err = run_kpbench("compare", G4DN, "--catalog", str(cat))
    assert code == 2 and one_stderr_line(err).startswith("kpbench: error: prices.csv: row 1")


def test_catalog_command_marks_retired_types():
    code, out, _ = run_kpbench("catalog")
    assert code == 0
    p2 = next(line for line in out.splitlines() if "p2.xlarge" in line)
    assert "retired" in p2


def test_catalog_json_lists_every_instance_with_price_date_and_source():
    code, out, _ = run_kpbench("catalog", "--json")
    instances = {i["instance_type"]: i for i in json.loads(out)["instances"]}
    assert instances["g3.4xlarge"]["retired"] is True
    assert instances["g5.xlarge"]["retired"] is False
    assert all(i["price_date"] and i["price_source"] for i in instances.values())


@pytest.mark.parametrize("change, says", [
    (lambda r: r["figures"]["train_s"].update(median=-4.0), "figures.train_s.median: -4.0 is below the minimum 0"),
    (lambda r: r.update(label={"name": "x"}), "label: an object"),
    (lambda r: r["figures"].pop("init_s"), "figures: lacks 'init_s'"),
])
def test_a_record_wrong_inside_is_one_line_naming_the_file_never_a_traceback(tmp_path, change, says):
    rec = json.loads(Path(G4DN).read_text())
    change(rec)
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(rec))
    code, out, err = run_kpbench("compare", G4DN, str(bad))
    assert code == 2 and out == ""
    assert err == f"kpbench: error: edited.json: not a valid Record: {err.split('Record: ', 1)[1]}"
    assert says in err and err.count("\n") == 1 and "Record None" not in err


def test_compare_out_on_a_full_disk_is_one_line_and_leaves_no_half_set(full_disk):
    out = full_disk / "cmp"
    out.mkdir()
    (out / "mine.txt").write_text("the user's own file")
    filler = full_disk / "filler"
    filler.write_bytes(b"x" * (1024 * 1024 - 48 * 1024))  # room for the text files, not the charts
    code, _, err = run_kpbench("compare", G4DN, P3, "--out", str(out))
    assert code == 2 and err.count("\n") == 1
    assert f"{out}/compare_" in err and "No space left" in err and ".compare-" not in err
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_compare_out_into_a_new_directory_on_a_full_disk_leaves_no_directory(full_disk):
    (full_disk / "filler").write_bytes(b"x" * (1024 * 1024 - 48 * 1024))
    code, _, _ = run_kpbench("compare", G4DN, P3, "--out", str(full_disk / "new"))
    assert code == 2 and not (full_disk / "new").exists()
