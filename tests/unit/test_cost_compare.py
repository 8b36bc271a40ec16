"""compare(): Records × catalog → one Comparison with costs, the Pareto front, verdicts and mismatches."""

import copy
import json
import math
from pathlib import Path

import pytest

from kpbench.bench import record as bench_record
from kpbench.bench.record import load_record
from kpbench.cost import Catalog, Instance, billed_s, compare, load_catalog, pareto_front
from kpbench.cost.charts import plot_cost, plot_pareto, plot_time
from kpbench.cost.export import comparison_csv, comparison_markdown
from kpbench.errors import KpbenchError

FIXTURES = Path(__file__).parents[1] / "fixtures"
RECORDS = FIXTURES / "records"


def fixture(name: str) -> dict:
    return json.loads((RECORDS / f"{name}.json").read_text())


def cpu_record(**machine) -> dict:
    rec = json.loads((FIXTURES / "record_cpu.json").read_text())
    rec["machine"].update(machine)
    return rec


def set_times(rec: dict, init_s: float, train_s: float, time_to_target_s: float | None = None) -> dict:
    """The same Record with every repeat (and so every figure) at the given times."""
    rec = copy.deepcopy(rec)
    for name, value in (("init_s", init_s), ("train_s", train_s), ("time_to_target_s", time_to_target_s)):
        if value is None:
            rec["figures"].pop(name, None)
            continue
        rec["figures"][name] = {"median": value, "min": value, "max": value, "mean": value, "stdev": 0.0,
                                "olympic_mean": None, "cv": 0.0, "unit": "s", "values": [value] * 3}
        for run in rec["runs"]:
            run["figures"][name] = value
    return rec


def one_instance_catalog(**fields) -> Catalog:
    base = dict(instance_type="x1.big", provider="aws", region="us-east-1", vcpus=4, memory_gb=16.0, gpu="T4",
                gpu_count=1, gpu_memory_gb=16.0, gpu_purpose="ml", price_per_hour=3.6, spot_price_per_hour=None,
                price_date="2026-11-24", price_source="test", retired=False, retired_date=None)
    base.update(fields)
    return Catalog((Instance(**base),), Path("test.csv"))


# -- fixtures are real Records --------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(RECORDS.glob("*.json")), ids=lambda p: p.stem)
def test_fixture_records_are_valid_records_labelled_fixture(path):
    rec = load_record(path)
    assert rec["label"].startswith("fixture")
    assert rec["machine"]["instance_type"]
    schema_file = getattr(bench_record, "SCHEMA_FILE", None)
    if schema_file is not None and Path(schema_file).exists():  # the bench area's JSON Schema, when it is there
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(rec, json.loads(schema_file.read_text()))


# -- prices and billing ---------------------------------------------------------------------------


def test_each_record_is_priced_from_the_catalog_by_its_instance_type():
    comp = compare([fixture("g4dn_xlarge"), fixture("p3_2xlarge")], load_catalog())
    prices = {r.instance_type: r.price_per_hour for r in comp.rows}
    assert prices == {"g4dn.xlarge": 0.526, "p3.2xlarge": 3.06}


def test_a_run_is_billed_per_second_for_init_plus_train():
    rec = set_times(cpu_record(instance_type="x1.big"), init_s=10.0, train_s=100.4)
    row = compare([rec], one_instance_catalog()).rows[0]
    assert row.billed_s == 111  # 110.4 s rounded up
    assert row.cost_per_run_usd == pytest.approx(111 / 3600 * 3.6)


def test_a_run_shorter_than_a_minute_is_billed_sixty_seconds():
    rec = set_times(cpu_record(instance_type="x1.big"), init_s=2.0, train_s=20.0)
    row = compare([rec], one_instance_catalog()).rows[0]
    assert row.billed_s == 60
    assert row.cost_per_run_usd == pytest.approx(0.06)


def test_a_cloud_run_is_billed_for_provisioning_init_and_train():
    rec = set_times(cpu_record(instance_type="x1.big"), init_s=10.0, train_s=100.4, time_to_target_s=50.0)
    rec["cloud"] = {"provision_s": 45.0, "cluster": "kpbench-g5-xlarge-1", "launched_utc": "2026-12-01T10:00:00Z",
                    "job_start_utc": "2026-12-01T10:00:45Z", "instance_type": "g5.xlarge", "use_spot": False}
    row = compare([rec], one_instance_catalog()).rows[0]
    assert row.billed_s == 156  # 45 + 10 + 100.4, rounded up
    assert row.cost_per_run_usd == pytest.approx(156 / 3600 * 3.6)
    assert row.cost_to_target_usd == pytest.approx(105 / 3600 * 3.6)
    assert row.time_s == pytest.approx(110.4)  # the speed comparison is still init + train


def test_a_record_dict_wrong_inside_is_refused_by_name():
    rec = cpu_record(price_per_hour=-1.0)
    with pytest.raises(KpbenchError, match=r"^Record 1: not a valid Record: machine.price_per_hour"):
        compare([rec], load_catalog())


def test_cost_to_target_bills_init_plus_time_to_target():
    rec = set_times(cpu_record(instance_type="x1.big"), init_s=10.0, train_s=300.0, time_to_target_s=100.5)
    row = compare([rec], one_instance_catalog()).rows[0]
    assert row.cost_to_target_usd == pytest.approx(111 / 3600 * 3.6)


def test_a_record_that_never_reached_the_target_has_no_cost_to_target():
    rec = set_times(cpu_record(instance_type="x1.big"), init_s=10.0, train_s=300.0, time_to_target_s=None)
    row = compare([rec], one_instance_catalog()).rows[0]
    assert row.cost_to_target_usd is None
    assert "target RMSE not reached" in row.note


def test_cost_per_million_images_follows_the_images_per_second_median():
    row = compare([cpu_record(instance_type="x1.big")], one_instance_catalog()).rows[0]
    assert row.cost_per_million_images_usd == pytest.approx(3.6 / 3600 / 412.0 * 1e6)


def test_the_records_own_price_beats_the_flag_which_beats_the_catalog():
    catalog = one_instance_catalog()
    assert compare([cpu_record(instance_type="x1.big")], catalog).rows[0].price_per_hour == 3.6
    assert compare([cpu_record(instance_type="x1.big")], catalog, price_per_hour=1.0).rows[0].price_per_hour == 1.0
    own = cpu_record(instance_type="x1.big", price_per_hour=0.5)
    row = compare([own], catalog, price_per_hour=1.0).rows[0]
    assert (row.price_per_hour, row.price_source) == (0.5, "Record (machine.price_per_hour)")


def test_spot_uses_the_catalogs_spot_price_and_says_when_there_is_none():
    rec = cpu_record(instance_type="x1.big")
    assert compare([rec], one_instance_catalog(spot_price_per_hour=1.2), spot=True).rows[0].price_per_hour == 1.2
    row = compare([rec], one_instance_catalog(), spot=True).rows[0]
    assert row.price_per_hour == 3.6
    assert "no spot price" in row.note


def test_an_unknown_instance_type_is_listed_without_cost_and_with_a_note():
    comp = compare([cpu_record(instance_type="g99.mega"), fixture("g4dn_xlarge")], load_catalog())
    row = comp.row("cpu example")
    assert row.machine == "g99.mega"
    assert row.cost_per_run_usd is None and row.price_per_hour is None
    assert "not in the catalog" in row.note
    assert comp.rows[-1] is row  # unpriced rows sort last


def test_a_local_machine_without_instance_type_is_listed_as_local_without_cost():
    row = compare([cpu_record()], load_catalog()).rows[0]
    assert row.machine == "local (Intel(R) Xeon(R) Platinum 8488C)"
    assert row.cost_per_run_usd is None


def test_a_local_gpu_machine_is_named_by_its_gpu():
    row = compare([cpu_record(gpu="NVIDIA GeForce RTX 4090", gpu_count=1)], load_catalog()).rows[0]
    assert row.machine == "local (NVIDIA GeForce RTX 4090)"


def test_a_multi_gpu_instance_is_priced_whole_and_says_how_many_gpus_the_run_saw():
    row = compare([fixture("p4d_24xlarge")], load_catalog()).rows[0]
    assert row.price_per_hour == pytest.approx(21.9576)
    assert (row.gpus_used, row.instance_gpu_count) == (8, 8)
    assert "whole instance billed (8 GPUs)" in row.note


def test_a_retired_instance_type_is_noted():
    row = compare([fixture("p3_2xlarge")], load_catalog()).rows[0]
    assert row.retired and "retired" in row.note


def test_a_record_gpu_that_is_not_the_catalogs_gpu_is_flagged():
    rec = fixture("g4dn_xlarge")
    rec["machine"]["gpu"] = "NVIDIA A10G"
    assert "check the instance type" in compare([rec], load_catalog()).rows[0].note


# -- Pareto front ---------------------------------------------------------------------------------


def test_pareto_front_excludes_points_beaten_on_time_and_cost():
    points = [("fast", 10.0, 5.0), ("cheap", 100.0, 1.0), ("middle", 50.0, 2.0), ("worse", 60.0, 3.0)]
    assert pareto_front(points) == ["fast", "cheap", "middle"]


def test_pareto_front_keeps_equal_points_and_drops_a_tie_on_one_axis_only():
    points = [("a", 10.0, 1.0), ("b", 10.0, 1.0), ("same time dearer", 10.0, 2.0)]
    assert pareto_front(points) == ["a", "b"]


def test_rows_are_sorted_by_cost_and_marked_on_the_front():
    comp = compare([fixture(n) for n in ("p3_2xlarge", "g4dn_xlarge", "g5_xlarge", "g6_xlarge")], load_catalog())
    costs = [r.cost_per_run_usd for r in comp.rows]
    assert costs == sorted(costs)
    assert comp.pareto == [r.label for r in comp.rows if r.pareto]
    assert "fixture: g4dn.xlarge" not in comp.pareto  # g6.xlarge is both faster and cheaper per run


# -- verdicts -------------------------------------------------------------------------------------


def test_verdicts_name_the_cheapest_to_target_and_the_fastest():
    comp = compare([fixture("g4dn_xlarge"), fixture("p3_2xlarge")], load_catalog())
    assert comp.fastest == "fixture: p3.2xlarge"
    assert comp.cheapest == comp.cheapest_to_target == "fixture: g4dn.xlarge"
    assert comp.verdicts[0].startswith("cheapest to target: fixture: g4dn.xlarge")
    assert any(v.startswith("fastest: fixture: p3.2xlarge") for v in comp.verdicts)


def test_speedup_is_a_ratio_of_means_with_the_spread_propagated_from_both_records():
    fast, slow = fixture("p3_2xlarge"), fixture("g4dn_xlarge")
    comp = compare([fast, slow], load_catalog())

    def totals(rec):
        return [r["figures"]["init_s"] + r["figures"]["train_s"] for r in rec["runs"]]

    import statistics as st

    (mf, sf), (ms, ss) = [(st.fmean(totals(r)), st.stdev(totals(r))) for r in (fast, slow)]
    ratio = ms / mf
    sigma = ratio * math.hypot(sf / mf, ss / ms)
    cost_ratio = comp.row("fixture: p3.2xlarge").cost_per_run_usd / comp.row("fixture: g4dn.xlarge").cost_per_run_usd
    expected = (f"fixture: p3.2xlarge ran {ratio:.2f} ± {sigma:.2f}× faster than fixture: g4dn.xlarge "
                f"and costs {cost_ratio:.2f}× more per run")
    assert expected in comp.verdicts


def test_a_single_repeat_gives_a_ratio_without_spread_and_says_so():
    a, b = fixture("p3_2xlarge"), fixture("g4dn_xlarge")
    for rec in (a, b):
        rec["runs"] = rec["runs"][:1]
    line = next(v for v in compare([a, b], load_catalog()).verdicts if " ran " in v)
    assert "±" not in line and "single repeat: no spread" in line


# -- config mismatches ----------------------------------------------------------------------------


def test_identical_configs_raise_no_mismatch():
    assert compare([fixture("g4dn_xlarge"), fixture("g5_xlarge")], load_catalog()).config_mismatches == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("model", "wide"), ("data_sha256", "0" * 64), ("batch_size", 64), ("precision", "bf16"), ("epochs", 10)],
)
def test_a_config_difference_is_flagged_not_compared_silently(field, value):
    other = fixture("g5_xlarge")
    other["config"][field] = value
    comp = compare([fixture("g4dn_xlarge"), other], load_catalog())
    assert [m.field for m in comp.config_mismatches] == [field]
    assert comp.config_mismatches[0].values["fixture: g5.xlarge"] == value
    assert comp.verdicts[-1] == f"configs differ ({field}): the ratios above compare different work"


# -- the result object ----------------------------------------------------------------------------


def test_to_dict_has_the_documented_keys_and_plain_json_values():
    d = compare([fixture("g4dn_xlarge"), cpu_record()], load_catalog()).to_dict()
    assert {"rows", "cheapest", "fastest", "pareto", "verdicts", "mismatches"} <= d.keys()
    assert {"instance_type", "price_per_hour", "billed_s", "cost_per_run_usd"} <= d["rows"][0].keys()
    json.dumps(d)


def test_csv_and_markdown_have_one_line_per_row():
    comp = compare([fixture("g4dn_xlarge"), fixture("g6_xlarge")], load_catalog())
    assert len(comparison_csv(comp).strip().splitlines()) == 3
    table = [line for line in comparison_markdown(comp).splitlines() if line.startswith("| fixture")]
    assert len(table) == 2


def test_same_labels_are_told_apart():
    comp = compare([fixture("g4dn_xlarge"), fixture("g4dn_xlarge")], load_catalog())
    assert sorted(r.label for r in comp.rows) == ["fixture: g4dn.xlarge", "fixture: g4dn.xlarge #2"]


def test_records_may_be_given_as_paths():
    comp = compare([RECORDS / "g4dn_xlarge.json"], load_catalog())
    assert comp.rows[0].instance_type == "g4dn.xlarge"


def test_a_dict_of_another_schema_is_refused():
    rec = fixture("g4dn_xlarge")
    rec["schema"] = "kpbench.record/2"
    with pytest.raises(KpbenchError, match="kpbench.record/2"):
        compare([rec], load_catalog())


def test_charts_are_written_as_png(tmp_path):
    comp = compare([fixture("g4dn_xlarge"), fixture("p3_2xlarge"), cpu_record()], load_catalog())
    for name, plot in (("t.png", plot_time), ("c.png", plot_cost), ("p.png", plot_pareto)):
        plot(comp, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_billed_seconds_in_rows_agree_with_the_billing_rule():
    for row in compare([fixture(p.stem) for p in RECORDS.glob("*.json")], load_catalog()).rows:
        assert row.billed_s == billed_s(row.init_s + row.train_s)


# -- the price kpbench bench copied into the Record -----------------------------------------------


def test_a_catalog_price_copied_into_the_record_still_yields_to_spot_and_the_flag():
    # what `kpbench bench --instance-type x1.big` writes
    rec = cpu_record(instance_type="x1.big", price_per_hour=3.6, price_source="catalog")
    row = compare([rec], one_instance_catalog(spot_price_per_hour=1.2), spot=True).rows[0]
    assert (row.price_per_hour, row.price_source) == (1.2, "catalog spot, 2026-11-24")
    assert compare([rec], one_instance_catalog(), price_per_hour=2.0).rows[0].price_per_hour == 2.0


def test_a_record_price_copied_from_the_shipped_catalog_yields_to_a_user_catalog():
    rec = fixture("g4dn_xlarge")
    assert rec["machine"]["price_per_hour"] == 0.526
    mine = one_instance_catalog(instance_type="g4dn.xlarge", price_per_hour=0.4)
    assert compare([rec], mine).rows[0].price_per_hour == 0.4


def test_a_record_price_that_differs_from_the_catalog_is_an_override_and_noted():
    rec = fixture("g4dn_xlarge")
    rec["machine"].update(price_per_hour=0.3, price_source="flag")  # `kpbench bench --price-per-hour 0.3`
    row = compare([rec], load_catalog(), price_per_hour=9.0).rows[0]
    assert row.price_per_hour == 0.3
    assert "own price 0.3 $/h, not the catalog's 0.526" in row.note


def test_a_record_of_no_measurable_time_is_compared_without_a_ratio():
    rec = set_times(cpu_record(), init_s=0.0, train_s=0.0)
    rec["label"] = "instant"
    comp = compare([rec, fixture("g4dn_xlarge")], load_catalog())
    assert comp.fastest == "instant" and not any("faster than" in v for v in comp.verdicts)


def test_the_result_types_import_nothing_of_cost_and_readers_never_import_compare():
    import ast

    import kpbench.cost

    folder = Path(kpbench.cost.__file__).parent

    def cost_imports(name: str) -> set[str]:
        tree = ast.parse((folder / f"{name}.py").read_text())
        found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return {m for m in found if m.startswith("kpbench.cost")}

    assert cost_imports("types") == set()
    for reader in ("export", "charts", "verdicts"):
        assert "kpbench.cost.compare" not in cost_imports(reader), reader
