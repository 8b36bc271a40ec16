"""`kpbench dist scale` keeps what it measured: a failing job is one line and a row, the Record is rewritten after
every job, --out is locked and its files are not replaced without --force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_kpbench
from kpbench.errors import KpbenchError
from kpbench.lock import run_dir_lock
from kpbench.scaling import scale
from kpbench.scaling.scale import JobFailed, ScaleConfig
from kpbench.scaling.study import run_scale
from kpbench.train.supervise import Outcome

ABORT = "op.preamble.length <= op.nbytes. 532 vs 500. Received data size doesn't match expected size."


def _fails(what: str, rank: int = 1) -> JobFailed:
    return JobFailed(what, Outcome(returncode=1, failed_rank=rank, failed_exitcode=-6, causes={rank: ABORT},
                                   log=Path("DIR/dist-scale.log")))


@pytest.fixture
def jobs(monkeypatch, scale_raw):
    """scale.run_job replaced: each call is recorded; a job whose label or size is in ``fail`` fails (rank 1, SIGABRT)."""
    calls: list[tuple[int, dict]] = []
    fail: set = set()

    def run_job(cfg, n, workdir, *, log=None, label="", **over):
        calls.append((n, over))
        if label in fail or n in fail:
            raise _fails(label or f"{n} worker(s)")
        return scale_raw(n)

    monkeypatch.setattr(scale, "run_job", run_job)
    monkeypatch.setattr(scale, "usable_cores", lambda: 2)
    return calls, fail


def _cfg(**kw) -> ScaleConfig:
    return ScaleConfig(**{"nproc": [1, 2], "cores": 2, **kw}).resolved()


def test_a_failing_variant_is_a_row_with_its_rank_and_cause_and_the_others_are_measured(jobs, tmp_path, capsys):
    calls, fail = jobs
    fail.add("PowerSGD rank 1")
    record = run_scale(_cfg(), tmp_path, budget_s=8)
    rows = {c["variant"]: c for c in record["compare"]}
    assert len(rows) == 7 and rows["PowerSGD rank 1"]["error"] == f"rank 1: {ABORT} (killed by SIGABRT)"
    assert all("images_per_s" in c for name, c in rows.items() if name != "PowerSGD rank 1")
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("kpbench: ")]
    assert lines == [f"kpbench: PowerSGD rank 1 failed: rank 1: {ABORT} (killed by SIGABRT); log: {tmp_path / 'dist-scale.log'}"]
    on_disk = json.loads((tmp_path / "dist-scale.json").read_text())
    assert on_disk["complete"] and on_disk["compare"] == record["compare"]


def test_the_record_on_disk_holds_every_job_done_so_far(jobs, tmp_path):
    calls, fail = jobs
    seen = []
    real_write = scale.analysis.prediction  # any call during the study: read the Record as it stands on disk

    def spy(*a, **kw):
        path = tmp_path / "dist-scale.json"
        if path.exists():
            seen.append(json.loads(path.read_text()))
        return real_write(*a, **kw)

    scale.analysis.prediction = spy
    try:
        run_scale(_cfg(), tmp_path, budget_s=8)
    finally:
        scale.analysis.prediction = real_write
    assert [len(r["rows"]) for r in seen[:2]] == [1, 2]  # after the 1-worker job, then the 2-worker job
    assert [len(r.get("compare", [])) for r in seen[2:]] == list(range(1, 8))
    assert not any(r["complete"] for r in seen)


def test_a_failing_worker_count_is_a_failure_in_the_record_and_the_study_goes_on(jobs, tmp_path, capsys):
    calls, fail = jobs
    fail.add(2)
    record = run_scale(_cfg(), tmp_path)
    assert [r["nproc"] for r in record["rows"]] == [1]
    assert record["failures"] == [{"job": "2 worker(s)", "nproc": 2, "message": f"rank 1: {ABORT} (killed by SIGABRT)"}]
    assert capsys.readouterr().out.count("failed: rank 1") == 1


def test_nothing_measured_is_exit_3_and_the_partial_record_says_why(jobs, tmp_path):
    calls, fail = jobs
    fail.update({1, 2})
    r = run_kpbench("dist", "scale", "--nproc", "1,2", "--out", tmp_path)
    assert r.code == 3 and r.error_line.startswith("kpbench: error: nothing could be measured (2 job(s) failed)")
    assert len(json.loads((tmp_path / "dist-scale.json").read_text())["failures"]) == 2


def test_an_earlier_record_in_out_is_not_replaced_without_force(jobs, tmp_path):
    (tmp_path / "dist-scale.json").write_text("{}")
    r = run_kpbench("dist", "scale", "--nproc", "1", "--out", tmp_path)
    assert r.code == 2 and "already holds dist-scale.json; pass --force" in r.error_line
    assert (tmp_path / "dist-scale.json").read_text() == "{}"
    assert run_kpbench("dist", "scale", "--nproc", "1", "--out", tmp_path, "--force").code == 0


def test_out_is_locked_while_the_study_runs(jobs, tmp_path):
    calls, _ = jobs
    with run_dir_lock(tmp_path):  # another writer (here: this thread) holds it: the study sees it taken
        import threading

        box = {}
        t = threading.Thread(target=lambda: box.setdefault("r", _try(tmp_path)))
        t.start()
        t.join()
    assert "in use by" in box["r"] and not calls


def _try(out: Path) -> str:
    try:
        run_scale(_cfg(), out)
    except KpbenchError as e:
        return str(e)
    return "ran"


def test_more_workers_than_cores_is_refused_unless_oversubscribed(jobs, tmp_path):
    r = run_kpbench("dist", "scale", "--nproc", "1,4", "--out", tmp_path)
    assert r.code == 2 and "--nproc 4 exceeds the 2 usable cores" in r.error_line and "--oversubscribe" in r.error_line
    assert run_kpbench("dist", "scale", "--nproc", "1,4", "--out", tmp_path, "--oversubscribe").code == 0
