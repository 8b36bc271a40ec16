"""Loading a big training.csv holds about one copy of the images, never the whole text: the peak is
measured in a fresh process (the benchmark's own child script, benchmarks/parse.py PEAK_CHILD)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpbench.data import load_faces
from kpbench.data.csvwrite import write_training_csv


def _peak_child_script() -> str:
    """benchmarks/parse.py PEAK_CHILD: prints the bytes a load added at its peak (VmHWM less VmRSS
    before), the bytes of the images, and how they were loaded."""
    path = Path(__file__).resolve().parents[2] / "benchmarks/parse.py"
    spec = importlib.util.spec_from_file_location("parse_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PEAK_CHILD


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_loading_holds_about_one_copy_of_the_images_not_the_whole_file(tmp_path):
    faces = load_faces("synthetic:200:1")
    write_training_csv(tmp_path / "one.csv", faces)
    header, *rows = (tmp_path / "one.csv").read_bytes().splitlines()
    with open(tmp_path / "training.csv", "wb") as f:  # 6000 rows, ~200 MB: 30 copies of the 200
        f.write(header + b"\n" + b"\n".join(rows * 30) + b"\n")
    size = (tmp_path / "training.csv").stat().st_size
    for expected in ("parse", "cache"):
        out = subprocess.run([sys.executable, "-c", _peak_child_script(), str(tmp_path / "training.csv")],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "KPBENCH_CACHE_DIR": str(tmp_path / "cache")}).stdout
        grown, array, how = out.split()
        assert how == expected
        # generous: one copy of the images plus a few MB of blocks; the whole text would be 3.7 times the images
        assert int(grown) < max(2.5 * int(array), 0.7 * size), (expected, int(grown) / int(array))
