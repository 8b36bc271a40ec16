"""`kpbench dist scale` across machines: every node runs the same command with its own --node-rank."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from kpbench.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_multi_node_needs_the_rendezvous_endpoint(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["dist", "scale", "--nnodes", "2", "--out", str(tmp_path)])
    assert e.value.code == 2 and "--rdzv-endpoint" in capsys.readouterr().err


def test_node_rank_must_lie_inside_the_cluster(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["dist", "scale", "--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "127.0.0.1:1", "--out", str(tmp_path)])
    assert e.value.code == 2 and "--node-rank 2" in capsys.readouterr().err


@pytest.mark.slow
def test_two_nodes_on_loopback_measure_one_world_and_node_0_writes_the_record(tmp_path):
    endpoint = f"127.0.0.1:{_free_port()}"

    def node(rank: int) -> subprocess.Popen:
        argv = ["dist", "scale", "--nnodes", "2", "--node-rank", str(rank), "--rdzv-endpoint", endpoint,
                "--nproc", "1", "--steps", "2", "--data", "synthetic:160", "--model", "convonly",
                "--allreduce-max-mb", "0.1", "--out", str(tmp_path / f"node{rank}")]
        return subprocess.Popen([sys.executable, "-m", "kpbench", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    nodes = [node(0), node(1)]
    outputs = [p.communicate(timeout=240)[0] for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], "\n---\n".join(o[-3000:] for o in outputs)
    record = json.loads((tmp_path / "node0" / "dist-scale.json").read_text())
    assert [r["nproc"] for r in record["rows"]] == [2]  # one world of two workers, one per node
    assert not (tmp_path / "node1" / "dist-scale.json").exists()
    assert "node 0 writes the Record" in outputs[1]
