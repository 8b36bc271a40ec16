"""This kpbench, as a wheel the task installs: built from the source tree it runs from.

A wheel, not ``pip install git+…@commit``: it carries uncommitted changes too, needs no access
to the repository from the cloud, and is exactly the code that wrote the plan.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kpbench.cloud.tasks import WHEEL_NAME
from kpbench.errors import KpbenchError
from kpbench.inputs import shown

_TREE_FILES = ("pyproject.toml", "README.md", "LICENSE")


def source_root() -> Path | None:
    """The checkout kpbench was imported from (src layout), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "kpbench"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def build_wheel(out_dir: Path, root: Path | None = None) -> Path:
    """Build kpbench's wheel into ``out_dir`` from a clean copy of the tree (the checkout is not touched)."""
    root = root or source_root()
    if root is None:
        raise KpbenchError("no kpbench source tree to build a wheel from; pass --wheel FILE (a kpbench wheel)")
    with tempfile.TemporaryDirectory(prefix="kpbench-wheel-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        for name in _TREE_FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, tree / name)
        shutil.copytree(root / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
               "--no-index", "--wheel-dir", str(out_dir), str(tree)]
        r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise KpbenchError(f"building the kpbench wheel failed: {last}; pass --wheel FILE instead")
    wheels = sorted(out_dir.glob("kpbench-*.whl"))
    if not wheels:
        raise KpbenchError("building the kpbench wheel produced no kpbench-*.whl; pass --wheel FILE instead")
    return wheels[-1]


def check_wheel(path: Path) -> Path:
    """A user's --wheel: it must exist and be named like a kpbench wheel."""
    if not path.is_file():
        raise KpbenchError(f"{path}: no such wheel")
    if not WHEEL_NAME.fullmatch(path.name):
        raise KpbenchError(f"--wheel {shown(path.name)}: not a kpbench wheel name (kpbench-VERSION-TAGS.whl: "
                           "letters, digits and . _ + - only; the task's setup installs it by name)")
    return path
