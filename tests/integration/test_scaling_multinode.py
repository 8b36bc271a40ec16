"""`kpbench dist scale` across machines: every node runs the same command with its own --node-rank.
(Its bad options, in process: tests/unit/test_scaling_cli.py.)"""

from __future__ import annotations

import json
import socket
import subprocess

from helpers import start_kpbench


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_on_loopback_measure_one_world_and_node_0_writes_the_record(tmp_path):
    endpoint = f"127.0.0.1:{_free_port()}"

    def node(rank: int) -> subprocess.Popen:
        argv = ["dist", "scale", "--nnodes", "2", "--node-rank", str(rank), "--rdzv-endpoint", endpoint,
                "--nproc", "1", "--steps", "2", "--data", "synthetic:160", "--model", "convonly",
                "--allreduce-max-mb", "0.1", "--out", str(tmp_path / f"node{rank}")]
        return start_kpbench(*argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    nodes = [node(0), node(1)]
    outputs = [p.communicate(timeout=240)[0] for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], "\n---\n".join(o[-3000:] for o in outputs)
    record = json.loads((tmp_path / "node0" / "dist-scale.json").read_text())
    assert [r["nproc"] for r in record["rows"]] == [2]  # one world of two workers, one per node
    assert not (tmp_path / "node1" / "dist-scale.json").exists()
    assert "node 0 writes the Record" in outputs[1]
