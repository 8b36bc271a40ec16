"""What kpbench's launcher knows about its workers: the world they describe, how many it starts, the rendezvous
timeout it passes on, and the one line it makes of how a job ended."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpbench.errors import KpbenchError, RunFailed
from kpbench.train import launch, supervise
from kpbench.train.launch import Launch, check_nproc, raise_for, worker_env
from kpbench.train.supervise import Outcome, cause_line, clean_stale_scratch
from kpbench.train.world import World, agree_step, from_env, rdzv_timeout_s


def test_a_stale_rank_without_a_world_size_is_a_world_of_one():
    assert from_env({"RANK": "1"}) == World() and from_env({"LOCAL_RANK": "3", "RANK": "7"}).main


@pytest.mark.parametrize("env, says", [
    ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK='2': expected a whole number >= 0 and below 2"),
    ({"WORLD_SIZE": "0"}, "WORLD_SIZE='0'"),
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two'"),
    ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_WORLD_SIZE": "3"}, "LOCAL_WORLD_SIZE='3'"),
])
def test_an_impossible_world_is_one_line(env, says):
    with pytest.raises(KpbenchError, match=says):
        from_env(env)


def test_a_world_of_one_agrees_with_itself_without_a_collective():
    assert agree_step(World(), True, 12.5, "cpu") == (True, 12.5)


@pytest.mark.parametrize("text", ["abc", "inf", "nan", "-5", "0", "1e9"])
def test_a_rendezvous_timeout_that_is_not_seconds_is_one_line(text):
    with pytest.raises(KpbenchError, match="KPBENCH_RDZV_TIMEOUT_S"):
        rdzv_timeout_s({"KPBENCH_RDZV_TIMEOUT_S": text})


def test_the_launcher_reads_the_timeout_once_and_passes_the_checked_value_on(monkeypatch):
    monkeypatch.setenv("KPBENCH_RDZV_TIMEOUT_S", "7.5")
    one = Launch(nnodes=2, rdzv_endpoint="h:1")
    assert one.rdzv_timeout_s == 7.5 and "join_timeout=7" in " ".join(one.torchrun_args())
    monkeypatch.setenv("KPBENCH_RDZV_TIMEOUT_S", " 7.5 ")  # what the workers get is the launcher's checked value
    assert worker_env(one)["KPBENCH_RDZV_TIMEOUT_S"] == "7.5"
    monkeypatch.setenv("KPBENCH_RDZV_TIMEOUT_S", "nan")
    with pytest.raises(KpbenchError, match="KPBENCH_RDZV_TIMEOUT_S='nan'"):
        Launch()


def test_more_workers_than_cores_are_refused_unless_oversubscribed():
    cores = len(os.sched_getaffinity(0))
    assert check_nproc(cores, "cpu", oversubscribe=False) is None
    with pytest.raises(KpbenchError, match=f"--nproc {cores * 500} is more than this machine's {cores} CPU cores.*--oversubscribe"):
        check_nproc(cores * 500, "cpu", oversubscribe=False)
    assert "share cores" in check_nproc(cores + 1, "cpu", oversubscribe=True)


def test_train_nproc_1000_starts_no_worker(monkeypatch, tmp_path):
    from helpers import run_kpbench

    started = []
    monkeypatch.setattr(launch, "run_job", lambda *a, **k: started.append(a))
    r = run_kpbench("train", "--data", "synthetic:64", "--out", tmp_path / "run", "--nproc", "1000", "--device", "cpu")
    assert r.code == 2 and "--nproc 1000 is more than" in r.error_line and not started


CAUSES = [
    ("terminate called after throwing an instance of 'gloo::EnforceNotMet'\n  what():  [enforce fail at gloo/pair.cc:456] "
     "op.preamble.length <= op.nbytes. 532 vs 500. Received data size doesn't match expected size.\n",
     "op.preamble.length <= op.nbytes. 532 vs 500. Received data size doesn't match expected size."),
    ("[rank1]: Traceback (most recent call last):\n[rank1]:   File \"x.py\", line 1\n"
     "[rank1]: RuntimeError: Connection reset by peer\n", "RuntimeError: Connection reset by peer"),
    ("-- attempt 0, pid 5\nall fine\n", None),
]


@pytest.mark.parametrize("text, cause", CAUSES)
def test_the_cause_is_the_line_of_a_workers_log_that_says_why(text, cause):
    assert cause_line(text) == cause


def test_a_failure_is_one_line_naming_the_rank_the_cause_the_signal_and_the_log():
    outcome = Outcome(returncode=1, failed_rank=1, failed_exitcode=-6, causes={1: "Received data size doesn't match"},
                      log=Path("RUN/workers.log"))
    assert outcome.failure() == "rank 1: Received data size doesn't match (killed by SIGABRT)"
    with pytest.raises(RunFailed) as e:
        raise_for(outcome, Launch(max_restarts=2))
    assert str(e.value) == ("worker rank 1 failed (Received data size doesn't match (killed by SIGABRT)) and torchrun's "
                            "restarts are exhausted (--max-restarts 2); log: RUN/workers.log")


def test_a_rendezvous_past_its_deadline_is_one_line_with_exit_2():
    outcome = Outcome(returncode=1, timed_out="rendezvous", agent_error="RendezvousTimeoutError", log=Path("L"))
    with pytest.raises(KpbenchError, match=r"^the workers' rendezvous at h:29400 did not form within 10 s "
                                           r"\(RendezvousTimeoutError\); .*; log: L$") as e:
        raise_for(outcome, Launch(nnodes=2, rdzv_endpoint="h:29400", rdzv_timeout_s=10))
    assert e.value.exit_code == 2


def test_the_agents_root_cause_names_the_first_rank_that_failed():
    agent = supervise._AgentLog(iter([]), None, "")
    agent.tail = ["Root Cause (first observed failure):\n", "[0]:\n", "  rank      : 1 (local_rank: 1)\n",
                  "  exitcode  : -9 (pid: 12)\n"]
    outcome = Outcome(returncode=1)
    agent.parse(outcome, 0)
    assert (outcome.failed_rank, outcome.failed_exitcode) == (1, -9)


def test_scratch_folders_of_dead_launchers_are_removed_and_ours_kept(tmp_path):
    dead, ours = tmp_path / "kpbench-999999999-workers-x", tmp_path / f"kpbench-{os.getpid()}-workers-y"
    dead.mkdir()
    ours.mkdir()
    assert clean_stale_scratch(tmp_path) == [dead] and ours.is_dir()


def test_each_local_worker_gets_its_own_share_of_the_cores(monkeypatch):
    from kpbench.train import world as w

    pinned = {}
    monkeypatch.setattr(w.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(w.os, "sched_setaffinity", lambda pid, cores: pinned.setdefault("cores", list(cores)))
    assert w.pin_to_cores(w.World(rank=3, size=4, local_rank=1, local_size=2), env={}) == [2, 3] == pinned["cores"]


def test_emulated_nodes_on_one_machine_share_its_cores_by_global_rank(monkeypatch):
    from kpbench.train import world as w

    monkeypatch.setattr(w.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(w.os, "sched_setaffinity", lambda pid, cores: None)
    one_node_each = w.World(rank=1, size=2, local_rank=0, local_size=1)
    assert w.pin_to_cores(one_node_each, env={}) is None  # a real node of its own keeps its cores
    assert w.pin_to_cores(one_node_each, env={w.SHARED_MACHINE_ENV: "1"}) == [1]


def test_workers_keep_every_core_when_they_could_not_have_one_each(monkeypatch):
    from kpbench.train import world as w

    monkeypatch.setattr(w.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(w.os, "sched_setaffinity", lambda pid, cores: pytest.fail("pinned"))
    assert w.pin_to_cores(w.World(), env={}) is None  # one worker
    assert w.pin_to_cores(w.World(rank=0, size=4, local_rank=0, local_size=4), env={}) is None  # more than cores
    assert w.pin_to_cores(w.World(rank=0, size=2, local_rank=0, local_size=2), threads=2, env={}) is None
