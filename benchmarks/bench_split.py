"""The seed network's bench on faces15, warm and cold: does the split add up, and what does a cold start cost?

Not yet measured on a quiet machine (the figures in docs/bench.md come from the JSON this writes).
Expected on the 2-core Zen 4 VM: about 6 minutes for the default 3 + 3 repeats of 2 epochs.

What is run, in one go:
  1. `python -c "import torch"` in a fresh process, IMPORT_REPEATS times (spawn to the import done):
     the floor init_s must reach;
  2. `kpbench bench` of the seed network at batch 32 on faces15, warm (one warm-up repeat fills the
     parse cache and the page cache, then --repeats counted ones);
  3. the same with --cold: the page cache evicted before every repeat (kpbench.bench.cold).
Targets (docs/bench.md): per repeat unattributed_s <= 2 % of wall_s; init_s >= the import's time;
cold init reported next to warm init.

Writes benchmarks/results/DATE-seed-faces15-bench-warm.json and …-cold.json (the Records) and
DATE-bench-split.json (import times, the checks). Shrunk check: `--epochs 1 --repeats 1 --rows 256
--results /tmp/split`.

    python benchmarks/bench_split.py [--epochs 2] [--repeats 3] [--rows N] [--results DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kpbench.atomic import write_json  # noqa: E402
from kpbench.bench import BenchConfig, run_bench  # noqa: E402
from kpbench.bench.output import print_record  # noqa: E402

HERE = Path(__file__).resolve().parent
FACES15 = HERE.parent.parent / "shared" / "datasets" / "faces15" / "training.zip"
IMPORT_REPEATS = 5
UNATTRIBUTED_MAX = 0.02


def import_torch_s() -> list[float]:
    """A fresh `python -c "import torch"`: spawn to the import done (its exit left out), IMPORT_REPEATS times."""
    times = []
    code = "import torch, time; print(repr(time.time()), flush=True)"
    for _ in range(IMPORT_REPEATS):
        spawn = time.time()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        times.append(float(out.strip()) - spawn)
    return times


def bench(args: argparse.Namespace, cold: bool, results: Path, date: str) -> dict:
    cfg = BenchConfig(data=str(args.data), model="seed", batch_size=32, epochs=args.epochs, repeats=args.repeats,
                      warmup_repeats=0 if cold else 1, rows=args.rows, cold=cold,
                      label=f"seed on faces15, {'cold' if cold else 'warm'}")
    with tempfile.TemporaryDirectory(prefix="kpbench-split-") as tmp:
        record, path = run_bench(cfg, tmp, progress=True)
        kept = results / f"{date}-seed-faces15-bench-{'cold' if cold else 'warm'}.json"
        shutil.copyfile(path, kept)
    print_record(record, str(kept))  # what `kpbench bench` prints: the README's example output
    return record


def checks(record: dict, import_s: list[float]) -> dict:
    runs = [r for r in record["runs"] if r["ok"]]
    shares = [r["phases"]["unattributed_s"] / r["wall_s"] for r in runs]
    floor = statistics.median(import_s)
    return {
        "cold": record["cold"],
        "unattributed_share_max": max(shares),
        "unattributed_ok": max(shares) <= UNATTRIBUTED_MAX,
        "init_s_min": min(r["figures"]["init_s"] for r in runs),
        "init_s_median": record["figures"]["init_s"]["median"],
        "import_torch_s_median": floor,
        "init_covers_import": min(r["figures"]["init_s"] for r in runs) >= floor,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=FACES15)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rows", type=int, default=None, help="the first N rows only (a shrunk check)")
    p.add_argument("--results", type=Path, default=HERE / "results")
    args = p.parse_args()
    date = time.strftime("%Y-%m-%d")
    args.results.mkdir(parents=True, exist_ok=True)
    started = time.time()
    import_s = import_torch_s()
    print(f"import torch (fresh process): median {statistics.median(import_s):.2f} s of {import_s}")
    out = {"date": date, "import_torch_s": import_s, "args": {k: str(v) for k, v in vars(args).items()}}
    for cold in (False, True):
        record = bench(args, cold, args.results, date)
        out["cold" if cold else "warm"] = checks(record, import_s)
        print(("cold" if cold else "warm"), out["cold" if cold else "warm"])
    out["elapsed_s"] = time.time() - started
    write_json(args.results / f"{date}-bench-split.json", out)
    print(f"wrote {args.results}/{date}-bench-split.json and the two Records ({out['elapsed_s']:.0f} s)")
    return 0 if all(out[k]["unattributed_ok"] and out[k]["init_covers_import"] for k in ("warm", "cold")) else 1


if __name__ == "__main__":
    sys.exit(main())
