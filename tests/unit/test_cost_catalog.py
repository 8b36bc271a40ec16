"""The shipped catalog and user catalogs: dated, sourced prices; bad rows are one-line errors."""

from pathlib import Path

import pytest

from kpbench.cost import DEFAULT_CATALOG, load_catalog
from kpbench.cost.catalog import REQUIRED_COLUMNS
from kpbench.errors import KpbenchError

STUDY_TYPES = ("g3s.xlarge", "g3.4xlarge", "g4dn.4xlarge", "p2.xlarge", "p3.2xlarge")
CURRENT_TYPES = ("g4dn.xlarge", "g5.xlarge", "g6.xlarge", "p4d.24xlarge", "p5.48xlarge")
# us-east-1 Linux on-demand, as given in kpbench issue 5
REFERENCE_PRICES = {
    "g4dn.xlarge": 0.526, "g4dn.4xlarge": 1.204, "g5.xlarge": 1.006, "g6.xlarge": 0.8048, "p3.2xlarge": 3.06,
    "p4d.24xlarge": 21.9576, "p5.48xlarge": 55.04, "g3.4xlarge": 1.14, "p2.xlarge": 0.90, "g3s.xlarge": 0.75,
}


def test_catalog_lists_the_original_studys_machines_and_todays_common_ones():
    catalog = load_catalog()
    for itype in STUDY_TYPES + CURRENT_TYPES:
        assert catalog.get(itype) is not None, itype


def test_catalog_prices_match_the_reference_prices_and_say_where_they_came_from():
    catalog = load_catalog()
    for itype, price in REFERENCE_PRICES.items():
        inst = catalog.get(itype)
        assert inst.price_per_hour == pytest.approx(price), itype
        assert inst.region == "us-east-1"
        assert "issue 5" in inst.price_source
    for inst in catalog:
        assert inst.price_date and inst.price_source


def test_p2_g3_and_p3_are_marked_retired_and_current_types_are_not():
    catalog = load_catalog()
    for inst in catalog:
        family = inst.instance_type.split(".")[0]
        assert inst.retired == (family in ("p2", "g3", "g3s", "p3")), inst.instance_type


def test_m60_is_a_graphics_gpu_and_the_others_are_for_ml():
    catalog = load_catalog()
    assert catalog.get("g3.4xlarge").gpu_purpose == "graphics"
    for itype in ("p2.xlarge", "p3.2xlarge", "g4dn.xlarge", "g5.xlarge", "g6.xlarge", "p4d.24xlarge", "p5.48xlarge"):
        assert catalog.get(itype).gpu_purpose == "ml", itype


def test_the_studys_g4_xlarge_is_noted_as_g3_4xlarge():
    inst = load_catalog().get("g3.4xlarge")
    assert (inst.vcpus, inst.gpu, inst.gpu_count) == (16, "M60", 1)
    assert "g4.xlarge" in inst.notes


def test_multi_gpu_instances_state_their_gpu_count_and_memory_per_gpu():
    catalog = load_catalog()
    assert (catalog.get("p4d.24xlarge").gpu_count, catalog.get("p4d.24xlarge").gpu_memory_gb) == (8, 40)
    assert (catalog.get("p5.48xlarge").gpu_count, catalog.get("p5.48xlarge").gpu_memory_gb) == (8, 80)


def test_lookup_ignores_case_and_unknown_types_give_none():
    catalog = load_catalog()
    assert catalog.get("G4DN.XLARGE").instance_type == "g4dn.xlarge"
    assert catalog.get("g99.mega") is None
    assert catalog.get(None) is None


def _shipped_lines() -> list[str]:
    return DEFAULT_CATALOG.read_text(encoding="utf-8").splitlines()


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _header_index(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith("instance_type,"))


def test_a_user_catalog_with_the_same_columns_loads(tmp_path):
    lines = _shipped_lines()
    h = _header_index(lines)
    catalog = load_catalog(_write(tmp_path, [lines[h], lines[h + 1]]))
    assert len(catalog) == 1


def test_a_negative_price_names_the_file_the_row_and_the_column(tmp_path):
    lines = _shipped_lines()
    h = _header_index(lines)
    bad = lines[h + 1].replace(",0.75,", ",-0.75,")
    assert bad != lines[h + 1]
    with pytest.raises(KpbenchError) as e:
        load_catalog(_write(tmp_path, [lines[h], bad]))
    message = str(e.value)
    assert message.startswith("mine.csv: row 2, column price_per_hour")
    assert "-0.75 must be a non-negative number" in message
    assert "\n" not in message


def test_a_missing_column_in_the_header_is_named(tmp_path):
    lines = _shipped_lines()
    h = _header_index(lines)
    header = lines[h].replace("price_per_hour,spot_price_per_hour", "spot_price_per_hour")
    rows = [line.replace(",0.75,,", ",,") for line in lines[h + 1 : h + 2]]
    with pytest.raises(KpbenchError, match=r"^mine\.csv: row 1, column price_per_hour\W+missing from the header$"):
        load_catalog(_write(tmp_path, [header] + rows))


def test_a_row_with_a_missing_cell_names_its_row(tmp_path):
    lines = _shipped_lines()
    h = _header_index(lines)
    short = ",".join(lines[h + 1].split(",")[:5])
    with pytest.raises(KpbenchError, match=r"^mine\.csv: row 3\W+5 cells, expected \d+"):
        load_catalog(_write(tmp_path, [lines[h], lines[h + 2], short]))


def test_an_empty_required_cell_and_a_non_number_are_named(tmp_path):
    header = ",".join(REQUIRED_COLUMNS)
    row = "x1.big,aws,us-east-1,4,16,T4,1,16,ml,{price},2026-01-01,{source}"
    with pytest.raises(KpbenchError, match=r"^mine\.csv: row 2, column price_source\W+empty$"):
        load_catalog(_write(tmp_path, [header, row.format(price="1.0", source="")]))
    with pytest.raises(KpbenchError, match=r"row 2, column price_per_hour\W+'cheap' is not a number"):
        load_catalog(_write(tmp_path, [header, row.format(price="cheap", source="me")]))


def test_comment_lines_are_skipped_but_rows_keep_their_line_numbers(tmp_path):
    header = ",".join(REQUIRED_COLUMNS)
    row = "x1.big,aws,us-east-1,4,16,T4,1,16,ml,-2,2026-01-01,me"
    with pytest.raises(KpbenchError, match=r"row 3, column price_per_hour"):
        load_catalog(_write(tmp_path, ["# my prices", header, row]))


def test_a_missing_catalog_file_is_a_user_error(tmp_path):
    with pytest.raises(KpbenchError, match="no such catalog file"):
        load_catalog(tmp_path / "nope.csv")
