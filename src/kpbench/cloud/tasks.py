"""One SkyPilot task per instance type: resources, a setup that installs this kpbench, a run that benches.

The task is plain data (a dict in SkyPilot's task-YAML layout) so that it can be written,
validated by SkyPilot's own schema, and launched with ``sky launch FILE`` by hand as well as by
``kpbench cloud launch``. ``to_yaml`` writes it without needing PyYAML.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from kpbench.cloud.transfer import stamp_command
from kpbench.cost.catalog import Instance

REMOTE_VENV = "~/kpbench-venv"
REMOTE_WHEEL_DIR = "~/kpbench-dist"
REMOTE_DATA_DIR = "~/kpbench-data"
REMOTE_OUT = "~/kpbench-out"
RDZV_PORT = 29500
PYTHON_VERSION = "3.11"  # kpbench needs >= 3.11; uv fetches it whatever the image ships
TORCH_INDEX = "https://download.pytorch.org/whl/{}"
# torch wheel flavour per GPU model. Recalled from PyTorch's release notes, verify before relying on
# it: the CUDA 12.8 builds dropped Maxwell (M60) and Volta (V100); no current build runs a K80.
_TORCH_FLAVOUR = {"M60": "cu126", "V100": "cu126"}
DEFAULT_CUDA_FLAVOUR = "cu128"


@dataclass(frozen=True)
class Workload:
    """What every task runs: the `kpbench bench` (or `dist scale`) options, the same on each instance."""

    data: str = "synthetic"  # "synthetic[:ROWS[:SEED]]", or the remote path of a mounted file
    model: str | None = None
    epochs: int | None = None
    repeats: int = 3
    nodes: int = 1
    max_minutes: float = 30.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def torch_index_url(instance: Instance) -> str | None:
    """The PyTorch wheel index fit for this instance's GPU; None when no current build supports it."""
    if not instance.gpu_count:
        return TORCH_INDEX.format("cpu")
    if instance.gpu == "K80":
        return None
    return TORCH_INDEX.format(_TORCH_FLAVOUR.get(instance.gpu or "", DEFAULT_CUDA_FLAVOUR))


def task_name(instance_type: str) -> str:
    """kpbench-g5-xlarge: SkyPilot names allow letters, digits, dashes (and dots, avoided here)."""
    return "kpbench-" + re.sub(r"[^a-z0-9]+", "-", instance_type.lower()).strip("-")


def build_task(instance: Instance, workload: Workload, *, wheel_name: str, mounts: dict[str, str],
               use_spot: bool, price_per_hour: float | None) -> dict:
    """The task dict. ``mounts``: remote path → local absolute path (the wheel, the data)."""
    index = torch_index_url(instance)
    resources: dict = {"cloud": "aws", "instance_type": instance.instance_type}
    if use_spot:
        resources["use_spot"] = True
    task: dict = {"name": task_name(instance.instance_type)}
    if workload.nodes > 1:
        task["num_nodes"] = workload.nodes
    task["resources"] = resources
    task["file_mounts"] = dict(mounts)
    task["setup"] = setup_script(index, f"{REMOTE_WHEEL_DIR}/{wheel_name}")
    task["run"] = run_script(instance, workload, price_per_hour)
    return task


def setup_script(torch_index: str | None, remote_wheel: str) -> str:
    """Install a Python with uv, torch from ``torch_index``, then this very kpbench wheel."""
    pip = f"uv pip install --quiet --python {REMOTE_VENV}/bin/python"
    torch = f"{pip} torch --index-url {torch_index}" if torch_index else "# no torch build supports this GPU"
    return "\n".join([
        "set -euo pipefail",
        stamp_command("setup"),
        'export PATH="$HOME/.local/bin:$PATH"',
        "command -v uv >/dev/null || python3 -m pip install --user --quiet uv"
        " || curl -LsSf https://astral.sh/uv/install.sh | sh",
        f"uv venv --quiet --allow-existing --python {PYTHON_VERSION} {REMOTE_VENV}",
        torch,
        f"{pip} {remote_wheel}",
        f"{REMOTE_VENV}/bin/python -m kpbench version",
    ]) + "\n"


def run_script(instance: Instance, workload: Workload, price_per_hour: float | None) -> str:
    """Stamp the job's start, bench (or scale across nodes) under a time limit, print the results."""
    limit_s = max(1, int(workload.max_minutes * 60))
    out = f"{REMOTE_OUT}/records"
    lines = ["set -euo pipefail", stamp_command("job"), f"source {REMOTE_VENV}/bin/activate"]
    if workload.nodes > 1:
        lines += [
            'HEAD_IP=$(echo "$SKYPILOT_NODE_IPS" | head -n1)',
            'NPROC=$(( ${SKYPILOT_NUM_GPUS_PER_NODE:-0} > 0 ? SKYPILOT_NUM_GPUS_PER_NODE : 1 ))',
            f"timeout {limit_s} {_join(scale_argv(workload, out))}",
            f'if [ "$SKYPILOT_NODE_RANK" = 0 ]; then python -m kpbench.cloud.transfer emit {out}; fi',
        ]
    else:
        lines += [f"timeout {limit_s} {_join(bench_argv(instance, workload, out, price_per_hour))}",
                  f"python -m kpbench.cloud.transfer emit {out}"]
    return "\n".join(lines) + "\n"


def bench_argv(instance: Instance, workload: Workload, out: str, price_per_hour: float | None) -> list[str]:
    argv = ["kpbench", "bench", "--data", workload.data, "--repeats", str(workload.repeats),
            "--instance-type", instance.instance_type, "--out", out]
    argv += _options(workload)
    if price_per_hour is not None:
        argv += ["--price-per-hour", f"{price_per_hour:g}"]
    return argv


def scale_argv(workload: Workload, out: str) -> list[str]:
    # dist scale's multi-node options; the shell expands the $VARIABLES SkyPilot sets on each node.
    argv = ["kpbench", "dist", "scale", "--data", workload.data, "--nproc", "$NPROC",
            "--nnodes", "$SKYPILOT_NUM_NODES", "--node-rank", "$SKYPILOT_NODE_RANK",
            "--rdzv-endpoint", f"$HEAD_IP:{RDZV_PORT}", "--out", out]
    return argv + _options(workload)


def _options(workload: Workload) -> list[str]:
    argv = []
    if workload.model:
        argv += ["--model", workload.model]
    if workload.epochs is not None:
        argv += ["--epochs", str(workload.epochs)]
    return argv


def _join(argv: list[str]) -> str:
    # Quote what needs quoting, but leave $VARIABLES (and ~/paths) for the remote shell to expand.
    def one(arg: str) -> str:
        if arg.startswith("~/"):
            return "~/" + shlex.quote(arg[2:])
        if "$" in arg and re.fullmatch(r"[A-Za-z0-9_./:,=@+-]*(\$[A-Z_]+[A-Za-z0-9_./:,=@+-]*)+", arg):
            return f'"{arg}"'
        return shlex.quote(arg)
    return " ".join(one(a) for a in argv)


def to_yaml(obj: dict, indent: int = 0) -> str:
    """YAML for the task dict: nested mappings, scalars as JSON (a YAML subset), scripts as ``|`` blocks."""
    pad = " " * indent
    out = []
    for key, value in obj.items():
        if isinstance(value, dict):
            out.append(f"{pad}{_key(key)}:" + ("" if value else " {}"))
            if value:
                out.append(to_yaml(value, indent + 2).rstrip("\n"))
        elif isinstance(value, str) and "\n" in value and not value[:1].isspace():  # a block needs a flush first line
            body = value if value.endswith("\n") else value + "\n"
            out.append(f"{pad}{_key(key)}: |" + ("" if value.endswith("\n") else "-"))
            out.extend(f"{pad}  {line}" if line else "" for line in body.splitlines())
        else:
            out.append(f"{pad}{_key(key)}: {json.dumps(value)}")
    return "\n".join(out) + "\n"


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)
