"""Shared fixtures: small synthetic faces and Kaggle-layout files, one trained run, a dist-scale Record;
a private cache dir per test. Session-scoped fixtures are shared read-only: copy before changing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpbench.data import FaceSet, synth_faces, write_synthetic

FACES15 = Path(__file__).resolve().parents[1].parent / "shared/datasets/faces15"
TESTS = Path(__file__).resolve().parent
SLOW_TIERS = ("process", "integration")  # subprocesses, torchrun, namespaces, real faces, a browser


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread in the test process: the networks here are tiny, and two threads on a shared
    2-core machine spin against each other (twice the CPU time, the same results)."""
    import torch

    torch.set_num_threads(1)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """Test modules are imported by their file name: two tiers holding the same name would collide."""
    if file_path.name.startswith("test_") and file_path.suffix == ".py":
        same = [p for p in TESTS.rglob(file_path.name) if p != file_path and "fixtures" not in p.parts]
        if same:
            raise pytest.UsageError(f"{file_path.relative_to(TESTS)} and {same[0].relative_to(TESTS)}: "
                                    "test files need unique names across tiers")


def _tier(item: pytest.Item) -> str:
    parts = Path(item.fspath).resolve().relative_to(TESTS).parts
    return parts[0] if parts else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tier is the folder: everything under tests/process and tests/integration is `slow`.

    Slow tiers run first (integration, then process, then the rest; file order kept within a tier): `make test`'s
    two xdist workers take whole files in this order (--no-loadscope-reorder), so the files of a minute start
    early and the unit tier's many short files fill the gaps at the end instead of one long file running alone."""
    for item in items:
        if _tier(item) in SLOW_TIERS:
            item.add_marker(pytest.mark.slow)
    rank = {"integration": 0, "process": 1}
    items.sort(key=lambda item: rank.get(_tier(item), 2))


@pytest.fixture(scope="session", autouse=True)
def session_environment(tmp_path_factory: pytest.TempPathFactory):
    """The same isolation for session- and module-scoped fixtures (they run before the per-test ones below)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KPBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("session-cache")))
        mp.setenv("KPBENCH_IMDS_URL", "off")
        yield


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


@pytest.fixture(scope="session")
def trained_run(_synthetic_dir_original: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished 1-epoch run (no pictures) on the synthetic Kaggle files: (run dir, data dir). Shared: don't modify."""
    from helpers import tiny_cfg
    from kpbench.data import load_faces
    from kpbench.train import train

    run = tmp_path_factory.mktemp("run")
    faces = load_faces(_synthetic_dir_original / "training.csv", cache=False, progress=False)
    train(faces, tiny_cfg(), out_dir=run, progress=False, pictures=False)
    return run, _synthetic_dir_original


@pytest.fixture
def run_copy(trained_run: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the trained run directory, free to damage."""
    return Path(shutil.copytree(trained_run[0], tmp_path / "run"))


@pytest.fixture
def scale_record() -> dict:
    """A dist-scale Record of a fake 1- and 2-worker study (fakes.fake_raw), fresh for each test."""
    from fakes import fake_raw
    from kpbench.scaling import analysis
    from kpbench.scaling.record import build_scale_record
    from kpbench.scaling.scale import ScaleConfig, record_config

    cfg = ScaleConfig(nproc=[1, 2], cores=2)
    raws = [fake_raw(1), fake_raw(2)]
    rows = [analysis.row(r, cfg.batch_size) for r in raws]
    analysis.add_speedups(rows)
    fit = analysis.allreduce(raws)
    return build_scale_record(record_config(cfg), rows, fit, analysis.prediction(rows, fit, 32, "none", None))


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


@pytest.fixture
def fixed_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kpbench estimate`'s figures of this machine, fixed: no second Python process, no bandwidth probe."""
    from kpbench.estimate import machine

    monkeypatch.setattr(machine, "startup_s", lambda: 2.0)
    cpu = machine.Cpu(model="test CPU", threads=2, clock_ghz=2.5, lanes=16, fma_units=1, peak_flops=160e9,
                      bandwidth_gb_s=10.0, thread_bandwidth_gb_s=8.0, note="fixed for tests")
    monkeypatch.setattr(machine, "cpu", lambda: cpu)
    monkeypatch.setattr(machine, "host", lambda: machine.Host(dispatch_s=3e-6, module_s=2e-6))


@pytest.fixture
def fake_sky():
    """The fake SkyPilot SDK (tests/fixtures/cloud/fakesky) behind kpbench.cloud.sky_api for one test."""
    from fakes import load_fake_sky
    from kpbench.cloud import sky_api

    sky = load_fake_sky()
    sky_api.use(sky)
    yield sky
    sky_api.use(None)
