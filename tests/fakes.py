"""Fake inputs that several test files build on: Records on disk, run directories, scaling workers'
timings, a kpbench wheel, SkyPilot and a cloud plan.

Each is small and written here once, so that the report, its browser check, the scaling study's CLI
and the cloud commands in a subprocess see the same inputs as their unit tests.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RECORD_CPU = FIXTURES / "record_cpu.json"
CLOUD_RECORDS = sorted((FIXTURES / "records").glob("*.json"))
CLOUD = FIXTURES / "cloud"  # the fake SkyPilot (fakesky/sky) and validate_tasks.py
FAKESKY = CLOUD / "fakesky"
THREE_INSTANCES = ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"]


def fake_metrics(missing: str = "mask", final: float = 2.9, epochs: int = 3) -> dict:
    """A metrics.json as kpbench.train writes it (docs/design.md, train), small."""
    return {
        "config": {"model": "seed", "epochs": epochs, "time_budget_s": 10.0, "optimizer": "adamw", "lr": 1e-3,
                   "weight_decay": 1e-4, "schedule": "onecycle", "batch_size": 64, "missing": missing,
                   "val_frac": 0.2, "seed": 0, "augment": True, "flip": True, "target_rmse_px": 3.0,
                   "precision": "fp32", "device": "cpu"},
        "data": {"source": "/nowhere/training.csv", "rows": 200},  # not at hand: no data section unless --data
        "history": [{"epoch": i + 1, "train_loss": 0.1 / (i + 1), "val_rmse_px": final + 2 / (i + 1), "epoch_s": 1.0,
                     "images": 160} for i in range(epochs)],
        "final_val_rmse_px": final,
        "val_rmse_per_keypoint_px": {"left_eye_center": final - 0.5, "nose_tip": final + 0.5},
        "time_to_target_s": None,
        "train_s": 3.1,
        "model_summary": {
            "layers": [{"name": "conv1", "type": "Conv2d", "output_shape": [32, 94, 94], "params": 320,
                        "forward_flops": 5_000_000}],
            "params": 320, "forward_flops_per_image": 5e6, "train_flops_per_image": 1.5e7,
        },
    }


def make_run(path: Path, **kwargs) -> Path:
    """A run directory holding fake_metrics(**kwargs) and its learning curves."""
    from kpbench.train.pictures import plot_curves

    path.mkdir(parents=True)
    m = fake_metrics(**kwargs)
    (path / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    plot_curves(m["history"], path / "curves.png")
    return path


ALPHA, BETA = 40e-6, 8 / 1e9  # what the fake all-reduces follow: 1 Gbit/s
BUCKETS = [1_000_000, 30_000_000, 160_000]


def fake_raw(n: int, steps: int = 6) -> dict:
    """A scaling worker's result as kpbench.scaling.worker writes it, with the timings the α-β model implies."""
    from kpbench.scaling import alphabeta as ab

    ready = [0.0, 0.01, 0.2]
    exposed = ab.exposed_comm_s(ready, BUCKETS, n, ALPHA, BETA)
    step = {"forward_s": 0.05, "backward_s": 0.25, "exposed_comm_s": exposed, "optimizer_s": 0.02,
            "comm_s": 0.2 + exposed, "overlap_window_s": 0.2, "finalize_s": 0.0, "loss": 0.1,
            "bucket_bytes": BUCKETS, "ready_offsets_s": ready}
    step["step_s"] = (0.05 + 0.25 + exposed + 0.02) * 1.01
    points = [] if n == 1 else [{"size_bytes": s, "nproc": n, "time_s": ab.ring_allreduce_s(s, n, ALPHA, BETA), "calls": 5}
                                for s in (4, 1024, 1 << 20, 1 << 24)]
    return {"nproc": n, "threads": max(1, 2 // n), "steps": [dict(step) for _ in range(steps)], "allreduce": points,
            "val_rmse_px": 3.5}


def fake_wheel(tmp_path: Path) -> Path:
    """A file named like a kpbench wheel: plan ships it, nothing installs it in these tests."""
    path = tmp_path / "wheels" / "kpbench-0.1.0-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really a wheel")
    return path


def load_fake_sky():
    """A fresh instance of the fake ``sky`` module (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location("fake_sky_for_tests", FAKESKY / "sky" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_sky_env(env: dict, scenario: str, calls: Path) -> dict:
    """Environment for a subprocess that imports the fake as ``sky``."""
    env = dict(env)
    env["PYTHONPATH"] = str(FAKESKY) + ((":" + env["PYTHONPATH"]) if env.get("PYTHONPATH") else "")
    env["FAKE_SKY_SCENARIO"] = scenario
    env["FAKE_SKY_CALLS"] = str(calls)
    return env


def fake_plan(tmp_path: Path, instances=THREE_INSTANCES, max_minutes: float = 30.0, nodes: int = 1) -> Path:
    """A plan directory (`kpbench cloud plan`) for ``instances`` with a fake wheel and synthetic data."""
    from kpbench.cloud import PlanConfig, Workload, make_plan, write_plan

    plan = make_plan(PlanConfig(list(instances), Workload(max_minutes=max_minutes, nodes=nodes)))
    return write_plan(plan, tmp_path / "plan", wheel=fake_wheel(tmp_path), data="synthetic")
