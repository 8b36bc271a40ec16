"""A hand-edited plan.json or launch/<type>.json: checked whole, confined to the plan directory, one line.

launch and collect read these files back; a missing key, a wrong type, a list where an object belongs,
a path out of the plan directory or a file that is not a regular one is one line naming the file (exit
2), before anything launches or is written. collect writes every Record or none, and a bad Record is
named by the job log and instance type it came from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fakes import fake_wheel  # noqa: E402
from helpers import run_kpbench  # noqa: E402
from kpbench.cloud import PlanConfig, collect, launch_plan, make_plan, write_plan  # noqa: E402
from kpbench.cloud.transfer import encode_file  # noqa: E402
from kpbench.errors import KpbenchError  # noqa: E402

TWO = ["g4dn.xlarge", "g5.xlarge"]


def planned(tmp_path: Path, instances=TWO) -> Path:
    return write_plan(make_plan(PlanConfig(list(instances))), tmp_path / "plan", wheel=fake_wheel(tmp_path),
                      data="synthetic")


def launched(tmp_path: Path, instances=TWO) -> Path:
    plan_dir = planned(tmp_path, instances)
    launch_plan(plan_dir, say=lambda line: None, poll_s=0.01)
    return plan_dir


def edit(path: Path, change) -> None:
    obj = json.loads(path.read_text())
    path.write_text(json.dumps(change(obj)))


def one_line(argv: list[str]) -> str:
    code, _, err = run_kpbench(*argv)
    assert code == 2 and err.startswith("kpbench: error: ") and err.count("\n") == 1, err
    return err


PLAN_EDITS = {
    "no entries": lambda p: {k: v for k, v in p.items() if k != "entries"},
    "no workload": lambda p: {k: v for k, v in p.items() if k != "workload"},
    "entries not a list": lambda p: {**p, "entries": {"instance_type": "g4dn.xlarge"}},
    "an entry not an object": lambda p: {**p, "entries": ["g4dn.xlarge"]},
    "an entry without its type": lambda p: {**p, "entries": [{"yaml": "g4dn.xlarge.yaml"}]},
    "workload a list": lambda p: {**p, "workload": [1, 2]},
    "max_minutes a string": lambda p: {**p, "workload": {**p["workload"], "max_minutes": "30"}},
    "max_minutes huge": lambda p: {**p, "workload": {**p["workload"], "max_minutes": 1e300}},
    "nodes zero": lambda p: {**p, "workload": {**p["workload"], "nodes": 0}},
    "autostop a float": lambda p: {**p, "autostop_minutes": 2.5},
    "use_spot a string": lambda p: {**p, "use_spot": "no"},
    "yaml out of the plan": lambda p: {**p, "entries": [{**p["entries"][0], "yaml": "../../etc/x.yaml"}]},
    "the whole plan a list": lambda p: [p],
}


@pytest.mark.parametrize("what", sorted(PLAN_EDITS))
def test_a_hand_edited_plan_is_one_line_and_launches_nothing(tmp_path, fake_sky, what):
    plan_dir = planned(tmp_path)
    edit(plan_dir / "plan.json", PLAN_EDITS[what])
    assert "plan.json" in one_line(["cloud", "launch", str(plan_dir)])
    assert fake_sky.calls == [] and not (plan_dir / "launch").exists()


STATE_EDITS = {
    "no instance type": lambda s: {k: v for k, v in s.items() if k != "instance_type"},
    "status unknown": lambda s: {**s, "status": "exploded"},
    "launched_at_s a string": lambda s: {**s, "launched_at_s": "yesterday"},
    "nodes a list": lambda s: {**s, "nodes": [1]},
    "the state a list": lambda s: [s],
    "another instance's state": lambda s: {**s, "instance_type": "g6.xlarge"},
    "a path as instance type": lambda s: {**s, "instance_type": "../../PWNED"},
}


@pytest.mark.parametrize("what", sorted(STATE_EDITS))
def test_a_hand_edited_launch_state_is_one_line_and_collects_nothing(tmp_path, fake_sky, what):
    plan_dir = launched(tmp_path)
    edit(plan_dir / "launch" / "g5.xlarge.json", STATE_EDITS[what])
    assert "g5.xlarge.json" in one_line(["cloud", "collect", str(plan_dir)])
    assert not (plan_dir / "records").exists()


def test_collect_reads_only_the_log_named_by_the_instance_type(tmp_path, fake_sky):
    plan_dir = launched(tmp_path, ["g4dn.xlarge"])
    elsewhere = tmp_path / "elsewhere.log"
    elsewhere.write_text("\n".join(encode_file("record-planted.json", b'{"planted": true}')) + "\n")
    edit(plan_dir / "launch" / "g4dn.xlarge.json", lambda s: {**s, "log": str(elsewhere)})
    result = collect(plan_dir)
    assert [p.name for p in result.others] == [] and not (plan_dir / "records" / "record-planted.json").exists()


def test_a_log_that_is_not_a_regular_file_is_refused(tmp_path, fake_sky):
    plan_dir = launched(tmp_path, ["g4dn.xlarge"])
    log = plan_dir / "logs" / "g4dn.xlarge.log"
    log.unlink()
    os.mkfifo(log)
    with pytest.raises(KpbenchError, match="not a regular file"):
        collect(plan_dir)


def test_collect_writes_every_record_or_none_and_names_the_log_of_a_bad_one(tmp_path, fake_sky):
    plan_dir = launched(tmp_path)
    log = plan_dir / "logs" / "g5.xlarge.log"
    bad = {"schema": "kpbench.record/1", "figures": {"init_s": "fast"}}
    log.write_text("\n".join(encode_file("record-g5.json", json.dumps(bad).encode())) + "\n")
    with pytest.raises(KpbenchError) as e:
        collect(plan_dir)
    assert "logs/g5.xlarge.log (g5.xlarge): record-g5.json" in str(e.value) and ".tmp" not in str(e.value)
    assert not (plan_dir / "records").exists() or list((plan_dir / "records").iterdir()) == []


def test_a_records_directory_that_is_a_link_out_of_the_plan_is_refused(tmp_path, fake_sky):
    plan_dir = launched(tmp_path, ["g4dn.xlarge"])
    (tmp_path / "outside").mkdir()
    (plan_dir / "records").symlink_to(tmp_path / "outside")
    with pytest.raises(KpbenchError, match="link"):
        collect(plan_dir)
    assert list((tmp_path / "outside").iterdir()) == []


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_plan_file_that_is_not_regular_is_refused(tmp_path, special):
    plan_dir = planned(tmp_path)
    (plan_dir / "plan.json").unlink()
    if special == "fifo":
        os.mkfifo(plan_dir / "plan.json")
    else:
        (plan_dir / "plan.json").symlink_to(special)
    assert "not a plan file" in one_line(["cloud", "launch", str(plan_dir)])


def test_collect_waits_for_no_launch_it_would_race(tmp_path, fake_sky):
    import fcntl

    plan_dir = launched(tmp_path, ["g4dn.xlarge"])
    fd = os.open(plan_dir / ".kpbench.lock", os.O_RDWR | os.O_CREAT)  # a launch of this plan in another process
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(KpbenchError, match="in use"):
            collect(plan_dir)
        assert not (plan_dir / "records").exists()
    finally:
        os.close(fd)
