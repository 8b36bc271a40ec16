"""Property-based: hostile labels, instance types, file names and state files, for every injection class.

- An instance type or a workload value of any text either is refused (one KpbenchError) or reaches the
  task as one quoted word: the scripts do exactly what the scripts of plain values do (read as sh reads
  them), and the type names no file outside the plan directory.
- A file of any name beside a data set is never uploaded; what is uploaded has a plain name.
- A label of any text reaches the terminal without a control character or applied markup, a Markdown
  renderer without HTML, link or image, matplotlib without mathtext, a spreadsheet without a formula.
- The readers of plan.json, launch/<type>.json and catalog rows give their result or one line naming
  the file, whatever the content.

Quick by default; ``make fuzz`` runs thousands of examples (tests/hypothesis_profiles.py).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import re
import shlex
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import hypothesis_profiles  # noqa: F401 - the profile, before any test is collected
from helpers import paths_of, shell_structure  # noqa: E402
from kpbench import fmt  # noqa: E402
from kpbench.cloud.state import read_launch_state, read_plan, state_file, task_file  # noqa: E402
from kpbench.cloud.tasks import Workload, build_task  # noqa: E402
from kpbench.cost.catalog import DEFAULT_CATALOG, load_catalog  # noqa: E402
from kpbench.errors import KpbenchError  # noqa: E402
from kpbench.inputs import INSTANCE_TYPE  # noqa: E402

RECORDS = Path(__file__).parents[1] / "fixtures" / "records"
WHEEL = "kpbench-0.1.0-py3-none-any.whl"
SHELL_CHARS = "$`;|&<>()'\"\\\n\r\t\x1b[]{}*?!#~ /.:-_=+@%^,aZ09"
PAYLOADS = ["$(touch PWNED)", "`id`", "a;touch PWNED", "x' ; id ; '", "../../PWNED", "~/.ssh/id_rsa", "-rf",
            "\x1b]0;t\x07", "[bold]x[/]", "<script>alert(1)</script>", "[l](javascript:alert(1))",
            "![i](https://evil.example/p.png)", "$\\alpha$", "=HYPERLINK(\"x\")", "a\nb", "\u202eevil", "."]
hostile = st.one_of(st.sampled_from(PAYLOADS), st.text(alphabet=SHELL_CHARS, max_size=30), st.text(max_size=30))
INSTANCE = load_catalog().get("g4dn.xlarge")


def task(instance=INSTANCE, nodes: int = 1, wheel: str = WHEEL, **workload) -> dict:
    return build_task(instance, Workload(nodes=nodes, **workload), wheel_name=wheel,
                      mounts={f"~/kpbench-dist/{WHEEL}": f"/tmp/plan/dist/{WHEEL}"}, use_spot=False, price_per_hour=1.5)


BASELINES = {nodes: task(nodes=nodes) for nodes in (1, 2)}


def same_commands(got: dict, nodes: int) -> None:
    for key in ("setup", "run"):
        assert shell_structure(got[key]) == shell_structure(BASELINES[nodes][key]), key


@given(itype=hostile, nodes=st.sampled_from([1, 2]))
def test_an_instance_type_is_refused_or_one_quoted_word_naming_a_file_inside_the_plan(itype, nodes):
    try:
        got = task(replace(INSTANCE, instance_type=itype), nodes=nodes)
    except KpbenchError as e:
        assert "\n" not in str(e)
        return
    assert INSTANCE_TYPE.fullmatch(itype)
    for name in (task_file(itype), str(state_file(itype))):
        assert Path(name).name not in (".", "..") and (Path("/plan") / name).resolve().is_relative_to("/plan")
    same_commands(got, nodes)
    if nodes == 1:
        bench = next(line for line in got["run"].splitlines() if "kpbench bench" in line)
        words = shlex.split(bench)
        assert words[words.index("--instance-type") + 1] == itype


@given(field=st.sampled_from(["data", "model", "wheel"]), value=hostile, nodes=st.sampled_from([1, 2]))
def test_a_workload_value_is_refused_or_adds_no_command(field, value, nodes):
    try:
        got = task(nodes=nodes, wheel=value) if field == "wheel" else task(nodes=nodes, **{field: value})
    except KpbenchError as e:
        assert "\n" not in str(e)
        return
    same_commands(got, nodes)


def synthetic_files(folder: Path) -> None:
    from kpbench.data import synth_faces
    from kpbench.data.csvwrite import write_training_csv

    folder.mkdir(parents=True, exist_ok=True)
    write_training_csv(folder / "training.csv", synth_faces(8, 0))


@given(name=st.text(min_size=1, max_size=60).filter(lambda n: "/" not in n and "\x00" not in n and n not in (".", "..")))
def test_a_file_of_any_name_beside_a_data_set_is_never_uploaded(name):
    from kpbench.cloud.plan import _data_mounts

    try:
        name.encode()
    except UnicodeEncodeError:
        assume(False)
    assume(name not in ("training.csv", "test.csv", "IdLookupTable.csv", "SampleSubmission.csv", "test.zip",
                        "training.zip"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "faces"
        synthetic_files(folder)
        (folder / name).write_text("secret\n")
        try:
            remote, mounts = _data_mounts(str(folder))
        except KpbenchError as e:
            assert "\n" not in str(e)
            return
        assert [Path(p).name for p in mounts.values()] == ["training.csv"]
        assert all(re.fullmatch(r"~/kpbench-data/[A-Za-z0-9._+-]+", k) for k in mounts)


def labelled(label: str) -> list[dict]:
    out = []
    for i, name in enumerate(("g4dn_xlarge.json", "g5_xlarge.json")):
        rec = json.loads((RECORDS / name).read_text())
        rec["label"] = f"{label} {i}"
        out.append(rec)
    return out


CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@given(label=hostile)
def test_a_label_reaches_the_terminal_without_control_characters_or_applied_markup(label):
    from kpbench.cost import compare
    from kpbench.cost.output import print_comparison

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_comparison(compare(labelled(label)))
    assert CONTROL.search(buf.getvalue()) is None


@given(label=hostile)
def test_a_label_is_text_in_markdown_charts_and_spreadsheets(label):
    from markdown_it import MarkdownIt
    from matplotlib.text import Text

    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(fmt.markdown_text(label))
    assert "<script" not in html and "<a " not in html and "<img" not in html and "<em>" not in html
    assert html.count("<p>") <= 1 and "<h" not in html and "<li>" not in html and "<code>" not in html
    assert Text()._preprocess_math(fmt.chart_text(label))[1] is False  # never mathtext
    cell = fmt.csv_text(label)
    assert not cell.startswith(("=", "+", "-", "@")) and CONTROL.search(cell) is None


# -- the readers of state files ------------------------------------------------------------------

PLAN = {"schema": "kpbench.cloud-plan/1", "plan_dir": "/tmp/p", "wheel": WHEEL, "use_spot": False,
        "autostop_minutes": 10, "workload": {"data": "synthetic", "model": None, "epochs": None, "repeats": 3,
                                             "nodes": 1, "max_minutes": 30.0},
        "entries": [{"instance_type": "g4dn.xlarge", "yaml": "g4dn.xlarge.yaml", "price_per_hour": 0.526}]}
STATE = {"instance_type": "g4dn.xlarge", "cluster": "kpbench-g4dn-xlarge-0a1b", "yaml": "g4dn.xlarge.yaml",
         "use_spot": False, "nodes": 1, "max_minutes": 30.0, "status": "succeeded", "request_id": "r",
         "launched_at_s": 1.7e9, "job_id": 1, "job_exit_code": 0, "job_start_at_s": 1.7e9 + 40, "error": None,
         "down": "torn down", "log": "logs/g4dn.xlarge.log"}
scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | hostile
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                           max_size=3), max_leaves=6)




def mutated(base: dict, data) -> object:
    obj = copy.deepcopy(base)
    path = data.draw(st.sampled_from(list(paths_of(base))))
    action = data.draw(st.sampled_from(["replace", "delete"]) if path else st.just("replace"))
    new = data.draw(values)
    if not path:
        return new
    node = obj
    for key in path[:-1]:
        node = node[key]
    if action == "delete":
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return obj


def one_line_naming(e: KpbenchError, path: Path) -> bool:
    return "\n" not in str(e) and str(e).startswith((str(path), path.name, str(path.parent)))


@given(data=st.data())
def test_read_plan_gives_a_checked_plan_or_one_line_naming_the_file(data):
    obj = mutated(PLAN, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(obj))
        try:
            plan = read_plan(Path(tmp))
        except KpbenchError as e:
            assert one_line_naming(e, path), str(e)
            return
    for entry in plan["entries"]:
        assert INSTANCE_TYPE.fullmatch(entry["instance_type"]) and entry["yaml"] == task_file(entry["instance_type"])
    assert isinstance(plan["workload"]["nodes"], int) and 0 < plan["workload"]["max_minutes"] < 1e5


@given(data=st.data())
def test_read_launch_state_gives_a_checked_state_or_one_line_naming_the_file(data):
    obj = mutated(STATE, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "launch" / "g4dn.xlarge.json"
        path.parent.mkdir()
        path.write_text(json.dumps(obj))
        try:
            state = read_launch_state(path)
        except KpbenchError as e:
            assert one_line_naming(e, path), str(e)
            return
    assert state["instance_type"] == "g4dn.xlarge" and state["status"] in ("succeeded", "pending", "launching",
                                                                            "running", "launch-failed", "job-failed",
                                                                            "timed-out", "interrupted")


CATALOG_ROWS = [r for r in csv.reader(DEFAULT_CATALOG.read_text().splitlines()) if r and not r[0].startswith("#")]


@given(column=st.sampled_from(CATALOG_ROWS[0]), value=hostile)
def test_a_catalog_row_of_any_cell_is_read_or_one_line_naming_file_row_and_column(column, value):
    header, row = CATALOG_ROWS[0], list(next(r for r in CATALOG_ROWS if r[0] == "g4dn.xlarge"))
    row[header.index(column)] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.csv"
        with open(path, "w", newline="", encoding="utf-8", errors="surrogatepass") as f:
            csv.writer(f).writerows([header, row])
        try:
            cat = load_catalog(path)
        except KpbenchError as e:
            assert "\n" not in str(e) and str(e).startswith(("catalog.csv", str(path))), str(e)
            return
    for inst in cat:
        assert INSTANCE_TYPE.fullmatch(inst.instance_type)
        assert inst.replacement is None or INSTANCE_TYPE.fullmatch(inst.replacement)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_known_payload_is_refused_as_an_instance_type_or_is_a_plain_name(payload):
    try:
        task(replace(INSTANCE, instance_type=payload))
    except KpbenchError:
        return
    assert INSTANCE_TYPE.fullmatch(payload)
