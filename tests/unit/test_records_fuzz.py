"""Property-based: any JSON as a Record and any text as a catalog gives a loaded object or ONE KpbenchError.

Never another exception, and the message is one line naming the file. CI runs a few
dozen examples per property; a longer hunt: KPBENCH_FUZZ_EXAMPLES=5000 pytest tests/test_records_fuzz.py
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import paths_of
from kpbench.bench.record import load_record
from kpbench.cost.catalog import DEFAULT_CATALOG, REQUIRED_COLUMNS, load_catalog
from kpbench.cost.compare import compare
from kpbench.errors import KpbenchError

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "record_cpu.json").read_text())
EXAMPLES = int(os.environ.get("KPBENCH_FUZZ_EXAMPLES", "40"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)




FIXTURE_PATHS = [p for p in paths_of(FIXTURE) if p]


def replaced(record: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(record)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def names_the_file(message: str, path: Path) -> bool:
    return message.startswith((path.name, str(path))) and "\n" not in message


def loads_or_one_line_error(path: Path) -> None:
    try:
        rec = load_record(path)
    except KpbenchError as e:
        assert names_the_file(str(e), path)
        return
    compare([rec, FIXTURE])  # a Record that loads is one compare can price and rank without a traceback


@fuzz
@given(value=json_values)
def test_any_json_value_is_a_record_or_one_error_naming_the_file(tmp_path, value):
    path = tmp_path / "any.json"
    path.write_text(json.dumps(value))
    loads_or_one_line_error(path)


@fuzz
@given(where=st.sampled_from(FIXTURE_PATHS), value=json_values)
def test_a_record_with_any_one_value_replaced_loads_or_is_one_error(tmp_path, where, value):
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(replaced(FIXTURE, where, value)))
    loads_or_one_line_error(path)


@fuzz
@given(cut=st.integers(0, len(json.dumps(FIXTURE))))
def test_a_truncated_record_is_one_error(tmp_path, cut):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(FIXTURE)[:cut])
    loads_or_one_line_error(path)


SHIPPED_LINES = DEFAULT_CATALOG.read_text(encoding="utf-8").splitlines()
cells = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6) | st.sampled_from(
    ["", "1", "-1", "nan", "inf", "1e400", "yes", "ml", "graphics", "2026-01-01"])


def catalog_loads_or_one_line_error(path: Path) -> None:
    try:
        load_catalog(path)
    except KpbenchError as e:
        assert names_the_file(str(e), path)


@fuzz
@given(text=st.text(max_size=300))
def test_any_text_is_a_catalog_or_one_error_naming_the_file(tmp_path, text):
    path = tmp_path / "any.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    catalog_loads_or_one_line_error(path)


@fuzz
@given(line=st.integers(0, len(SHIPPED_LINES) - 1), column=st.integers(0, len(REQUIRED_COLUMNS) - 1), cell=cells)
def test_the_shipped_catalog_with_any_one_cell_changed_loads_or_is_one_error(tmp_path, line, column, cell):
    lines = list(SHIPPED_LINES)
    parts = lines[line].split(",")
    if column < len(parts):
        parts[column] = cell
    lines[line] = ",".join(parts)
    path = tmp_path / "edited.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    catalog_loads_or_one_line_error(path)


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00garbage", b"instance_type\n" + b"\x00" * 10])
def test_a_catalog_that_is_not_text_is_one_error(tmp_path, raw):
    path = tmp_path / "binary.csv"
    path.write_bytes(raw)
    catalog_loads_or_one_line_error(path)
