"""How long the README's two quick-start commands take on a fresh clone of this repository.

Clones the committed tree (HEAD) beside this checkout (so that ../shared is found as the tests expect),
then times `make demo` and `make test` there, one after the other (and the unit tier alone,
`make test-quick`), and writes
benchmarks/results/DATE-quickstart.json (the README's quick-start block is generated from it).
Run it with nothing else on the machine. `make` installs kpbench in editable mode from the clone; this
script installs this checkout again afterwards, so the Python environment points back here.

    python benchmarks/quickstart.py [--keep]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
COMMANDS = [("make demo", "synthetic faces → train → bench → estimate → report"),
            ("make test", "the test suite, as CI runs it")]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def timed(cmd: str, cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, shell=True, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args(argv)
    clone = ROOT.parent / f"kpbench-quickstart-{time.strftime('%Y%m%d%H%M%S')}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    try:
        commands, tests = [], ""
        for cmd, what in COMMANDS:
            wall, output = timed(cmd, clone)
            commands.append({"command": cmd, "what": what, "wall_s": round(wall, 1)})
            print(f"{cmd}: {wall:.0f} s")
            if cmd == "make test":
                m = re.search(r"(\d+ passed[^\n]*) in ", output)
                tests = m.group(1) if m else "?"
        unit_s, _ = timed("make test-quick", clone)  # the unit tier alone: the editing loop's cost
        print(f"make test-quick: {unit_s:.0f} s")
    finally:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-c", "constraints.txt", "-e", ".[test,cloud]"],
                       cwd=ROOT, capture_output=True)
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
    cores = len(__import__("os").sched_getaffinity(0))
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{cpu_model()}, {cores} cores", "commands": commands,
           "tests": tests, "unit_tier_s": round(unit_s, 1), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                                    capture_output=True, text=True).stdout.strip()}
    path = RESULTS / f"{out['date']}-quickstart.json"
    sys.path.insert(0, str(ROOT / "src"))
    from kpbench.atomic import write_json

    write_json(path, out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
