"""Loading Kaggle's training.csv: pandas + np.fromstring vs kpbench's parser vs kpbench's cache.

Last measured 2026-11-24 on the 2-core development VM (Intel Xeon, AVX512-BF16, no AMX),
Python 3.11.7, numpy 2.4.6, quiet (load average ~1.7), 100 MB training.csv of faces15
(3066 faces), medians of 3 repeats:
  pandas read_csv + fromstring   5.35 s
  kpbench first load             0.80 s   6.7 ± 1.9x faster than pandas   (target >= 5x)
  kpbench cached load            0.042 s  128 ± 64x faster than pandas    (target >= 50x)
(On the same VM under load average ~6: 11.8 s, 1.91 s, 0.096 s; 6.2x and 123x.)
Re-run 2026-12-01 with the streaming parser, same VM under load average ~11 (six other jobs):
pandas 16.3 s, first load 4.06 s, cached 0.056 s: 4.0 ± 1.3x and 290 ± 107x (too noisy to
compare with the quiet figures above; side by side with the previous parser on a 6000-row CSV
the streaming one was as fast or faster: 8.5/7.6/8.9 s against 9.4/7.9/10.4 s).

Peak memory of a load (the --memory-rows part), 2026-12-01, same VM, 50,000 rows (1633 MB CSV
of training.csv's rows repeated), each load in a fresh process:
  kpbench first load    516 MB = 1.12 x the 461 MB of uint8 images
  kpbench cached load   467 MB = 1.01 x
(The previous parser, which read the whole file into memory, measured the same way on 10,000
rows: 5.0 x on a first load and on a cached load found by content; a hostile-input probe saw 4.1 GB at 50,000.)
Command: python benchmarks/parse.py --repeats 3 --memory-rows 50000

Memory: VmHWM (peak resident set) of a fresh process less its VmRSS just before load_faces,
divided by the bytes of the images it returns; the CSV is training.csv's rows repeated.

What is timed, side by side in one run, each repeat interleaved (pandas, cold, cached)
so that drifting load on a shared machine hits all three alike:
  pandas   pd.read_csv(training.csv), then np.fromstring(Image, sep=" ") per row
           and np.vstack: the usual Kaggle-kernel way, float64 pixels.
  cold     kpbench.data.load_faces(training.csv) with a fresh, empty cache dir:
           read, hash (sha256), parse, write the .npz cache entry.
  cached   load_faces again: stat → cached hash → read the .npz.
Every approach reads the same extracted training.csv (from faces15/training.zip)
from the page cache. Results: medians of the repeats; ratios as hyperfine does,
"A is r ± σ times faster than B" (σ from the robust spread of each side).

Run:  python benchmarks/parse.py [--zip PATH] [--repeats 3] [--memory-rows 50000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from kpbench.bench.fingerprint import cpu_model

# --- setup --------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = REPO.parent / "shared/datasets/faces15/training.zip"


# --- the three ways to load -----------------------------------------------------


def load_pandas(csv: Path) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    df = pd.read_csv(csv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pixels = df["Image"].apply(lambda im: np.fromstring(im, sep=" "))
    images = np.vstack(pixels.values).reshape(-1, 96, 96)
    keypoints = df.drop(columns="Image").to_numpy(np.float32).reshape(-1, 15, 2)
    return images, keypoints


def load_kpbench(csv: Path):
    from kpbench.data import load_faces

    return load_faces(csv, progress=False)


def timed(fn, *args):
    start_s = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start_s, out


# --- measuring ------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="training.zip (default: ../shared/datasets/faces15)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, default=50_000,
                        help="rows of the CSV whose peak memory is measured (0: skip; 50,000 rows is ~1.7 GB on disk)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kpbench-parse-bench-"))
    try:
        with zipfile.ZipFile(args.zip) as zf:
            zf.extract("training.csv", work)
        csv = work / "training.csv"
        print(f"{csv.stat().st_size / 1e6:.1f} MB training.csv from {args.zip}")
        print(f"{cpu_model()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
              f"numpy {np.__version__}, load average before {os.getloadavg()[0]:.2f}")

        times: dict[str, list[float]] = {"pandas": [], "cold": [], "cached": []}
        for repeat in range(args.repeats):
            cache = work / f"cache-{repeat}"  # a fresh, empty cache: the first load must parse
            os.environ["KPBENCH_CACHE_DIR"] = str(cache)
            t_pandas, (images, keypoints) = timed(load_pandas, csv)
            t_cold, cold = timed(load_kpbench, csv)
            t_cached, cached = timed(load_kpbench, csv)
            assert (cold.meta["load"], cached.meta["load"]) == ("parse", "cache"), (cold.meta, cached.meta)
            if repeat == 0:  # the same numbers, whichever way they were read
                assert np.array_equal(images, cold.images) and np.array_equal(cold.images, cached.images)
                assert np.allclose(keypoints, cold.keypoints, equal_nan=True, atol=1e-4)
            for name, t in (("pandas", t_pandas), ("cold", t_cold), ("cached", t_cached)):
                times[name].append(t)
            print(f"  repeat {repeat + 1}: pandas {t_pandas:.3f} s, kpbench first load {t_cold:.3f} s, cached {t_cached:.4f} s")
            del images, keypoints, cold, cached

        # --- results ------------------------------------------------------------
        print(f"\nload average after {os.getloadavg()[0]:.2f}; medians of {args.repeats} repeats:")
        for name, label in (("pandas", "pandas read_csv + fromstring"), ("cold", "kpbench first load"), ("cached", "kpbench cached load")):
            v = times[name]
            print(f"  {label:30s} {statistics.median(v):8.4f} s  (range {min(v):.4f} … {max(v):.4f})")
        for name, label in (("cold", "kpbench first load"), ("cached", "kpbench cached load")):
            ratio, sigma = speedup(times["pandas"], times[name])
            print(f"{label} is {ratio:.1f} ± {sigma:.1f}x faster than pandas")
        if args.memory_rows:
            measure_memory(csv, work, args.memory_rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- memory: peak resident memory of a load, in a fresh process, over the size of the images ---

# VmHWM (this process's peak) less VmRSS before loading: what the load itself added.
# Not ru_maxrss: that survives exec and would count the parent's size.
PEAK_CHILD = """
import sys
from kpbench.data import load_faces
def kib(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))
before = kib("VmRSS")
faces = load_faces(sys.argv[1], progress=False)
print((kib("VmHWM") - before) * 1024, faces.images.nbytes, faces.meta["load"])
"""


def measure_memory(csv: Path, work: Path, rows: int) -> None:
    """A CSV of ``rows`` rows (training.csv's rows, repeated), loaded cold then from the cache."""
    big = work / "memory.csv"
    header, *lines = csv.read_bytes().splitlines()
    with open(big, "wb") as f:
        f.write(header + b"\n")
        for i in range(rows):
            f.write(lines[i % len(lines)] + b"\n")
    del lines
    print(f"\npeak memory of a load, {rows:,} rows ({big.stat().st_size / 1e6:.0f} MB CSV), each in a fresh process:")
    env = {**os.environ, "KPBENCH_CACHE_DIR": str(work / "memory-cache")}
    for label in ("kpbench first load", "kpbench cached load"):
        out = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(big)], capture_output=True, text=True, check=True, env=env)
        grown_b, array_b, how = out.stdout.split()
        print(f"  {label:30s} ({how}) peak {int(grown_b) / 1e6:7.0f} MB = {int(grown_b) / int(array_b):.2f} x the "
              f"{int(array_b) / 1e6:.0f} MB of uint8 images")
    big.unlink()


def speedup(slow: list[float], fast: list[float]) -> tuple[float, float]:
    """Ratio of the medians and its σ, propagated from each side's robust relative spread
    (1.4826 × median absolute deviation: one disturbed repeat on a shared machine doesn't swamp it)."""
    a, b = statistics.median(slow), statistics.median(fast)
    ratio = a / b
    return ratio, ratio * (robust_rel_sigma(slow) ** 2 + robust_rel_sigma(fast) ** 2) ** 0.5


def robust_rel_sigma(values: list[float]) -> float:
    m = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - m) for v in values) / m


if __name__ == "__main__":
    main()
