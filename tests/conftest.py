"""Shared fixtures: small synthetic faces and Kaggle-layout files; a private cache dir per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpbench.data import FaceSet, synth_faces, write_synthetic

FACES15 = Path(__file__).resolve().parents[1].parent / "shared/datasets/faces15"
TESTS = Path(__file__).resolve().parent
SLOW_TIERS = ("process", "integration")  # subprocesses, torchrun, namespaces, real faces, a browser


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tier is the folder: everything under tests/process and tests/integration is `slow`."""
    for item in items:
        parts = Path(item.fspath).resolve().relative_to(TESTS).parts
        if parts and parts[0] in SLOW_TIERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def kpbench_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty KPBENCH_CACHE_DIR: the user's cache is never touched."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("KPBENCH_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never send traffic off loopback: instance metadata is off (subprocesses inherit it).

    Tests that need the fake metadata server on 127.0.0.1 set KPBENCH_IMDS_URL themselves.
    """
    monkeypatch.setenv("KPBENCH_IMDS_URL", "off")


@pytest.fixture(scope="session")
def synthetic_faces() -> FaceSet:
    """64 synthetic training faces, seed 0 (about a third complete). Shared: don't modify."""
    return synth_faces(64, 0)


@pytest.fixture(scope="session")
def _synthetic_dir_original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(out, rows=64, seed=0, test_rows=16)
    return out


@pytest.fixture
def synthetic_dir(_synthetic_dir_original: Path, tmp_path: Path) -> Path:
    """A fresh directory with training.csv (64 rows), test.csv (16), IdLookupTable.csv, SampleSubmission.csv."""
    out = tmp_path / "synthetic"
    shutil.copytree(_synthetic_dir_original, out)
    return out


@pytest.fixture
def faces15() -> Path:
    """../shared/datasets/faces15 (real faces in Kaggle's layout); skips the test when absent."""
    if not (FACES15 / "training.zip").is_file():
        pytest.skip("../shared/datasets/faces15 is absent")
    return FACES15


@pytest.fixture
def full_disk(tmp_path: Path):
    """A directory on a 1 MiB tmpfs (root only; else skipped): writes of more than ~1 MiB fail with ENOSPC."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("a full-disk test mounts a tmpfs, which needs root")
    mount = tmp_path / "full"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def scale_raw():
    """A factory: scale_raw(n) is a kpbench.scaling.worker result for n workers, timed as the α-β model implies."""
    from kpbench.scaling import alphabeta as ab

    buckets, alpha, beta = [1 << 20, 16 << 20, 2 << 20], 50e-6, 1e-9

    def make(n: int, steps: int = 6) -> dict:
        ready = [0.0, 0.01, 0.2]
        exposed = ab.exposed_comm_s(ready, buckets, n, alpha, beta)
        step = {"forward_s": 0.05, "backward_s": 0.25, "exposed_comm_s": exposed, "optimizer_s": 0.02, "stop_s": 1e-4,
                "comm_s": 0.2 + exposed, "overlap_window_s": 0.2, "finalize_s": 0.0, "loss": 0.1, "agreed": True,
                "bucket_bytes": buckets, "ready_offsets_s": ready, "step_s": (0.05 + 0.25 + exposed + 0.02) * 1.01}
        points = [] if n == 1 else [{"size_bytes": s, "nproc": n, "time_s": ab.ring_allreduce_s(s, n, alpha, beta),
                                     "calls": 5} for s in (4, 1024, 1 << 20, 1 << 24)]
        return {"nproc": n, "threads": max(1, 2 // n), "steps": [dict(step) for _ in range(steps)], "allreduce": points,
                "val_rmse_px": 3.5, "batch_size": 32}

    return make
