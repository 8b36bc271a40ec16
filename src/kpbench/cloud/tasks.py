"""One SkyPilot task per instance type: resources, a setup that installs this kpbench, a run that benches.

The task is plain data (a dict in SkyPilot's task-YAML layout) so that it can be written,
validated by SkyPilot's own schema, and launched with ``sky launch FILE`` by hand as well as by
``kpbench cloud launch``. ``to_yaml`` writes it without needing PyYAML.

No value reaches ``setup``, ``run`` or ``file_mounts`` unchecked: each is refused unless it matches a
strict pattern of its kind (``check_task_values``), and every word of a command is quoted for the
remote shell (``shlex.quote``) except ``Shell`` text, which only kpbench itself writes ($SKYPILOT_…
variables, ``~/`` of its own remote directories).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from kpbench.cloud.transfer import stamp_command
from kpbench.cost.catalog import Instance
from kpbench.errors import KpbenchError
from kpbench.inputs import instance_type, number, shown

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
MAX_REPEATS, MAX_NODES, MAX_EPOCHS, MIN_MINUTES, MAX_MINUTES = 1000, 512, 100_000, 0.001, 7 * 24 * 60.0
SYNTHETIC_SPEC = re.compile(r"synthetic(:[0-9]{1,9}(:[0-9]{1,9})?)?")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")  # a file kpbench ships: wheel, data file
WHEEL_NAME = re.compile(r"kpbench-[A-Za-z0-9._+-]{1,200}\.whl")
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A local path SkyPilot copies from: SkyPilot itself puts it into rsync commands in Python-repr quotes, so
# a quote, $, ` or \ in it could run on this machine. Letters, digits, spaces and path punctuation only.
LOCAL_PATH = re.compile(r"/[\w /.,+=@%:~-]{0,4000}")


class Shell(str):
    """Text kpbench itself writes for the remote shell to expand: never a value from a user or a file."""


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
    check_task_values(instance, workload, wheel_name, mounts, price_per_hour)
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


def check_task_values(instance: Instance, workload: Workload, wheel_name: str, mounts: dict[str, str],
                      price_per_hour: float | None) -> None:
    """KpbenchError (one line) for any value that is not of its kind; the task is built from these alone."""
    instance_type(instance.instance_type, "instance type")
    if not WHEEL_NAME.fullmatch(wheel_name):
        raise KpbenchError(f"wheel {shown(wheel_name)}: not a kpbench wheel name (kpbench-VERSION-TAGS.whl, "
                           "letters, digits and . _ + - only)")
    if not (SYNTHETIC_SPEC.fullmatch(workload.data) or is_remote_data(workload.data)):
        raise KpbenchError(f"--data {shown(workload.data)}: expected 'synthetic', 'synthetic:ROWS' or "
                           f"'synthetic:ROWS:SEED', or Kaggle files (uploaded to {REMOTE_DATA_DIR})")
    check_workload_numbers(workload)
    if price_per_hour is not None:
        number(price_per_hour, "price per hour", lo=0, hi=1e5)
    for remote, local in mounts.items():
        check_mount(remote, local)


def check_workload_numbers(w: Workload) -> None:
    """The model name and every count and duration of the workload: whole or finite numbers, in range."""
    if w.model is not None and not MODEL_NAME.fullmatch(w.model):
        raise KpbenchError(f"--model {shown(w.model)}: not a model name")
    number(w.repeats, "--repeats", lo=1, hi=MAX_REPEATS, integer=True)
    number(w.nodes, "--nodes", lo=1, hi=MAX_NODES, integer=True)
    if w.epochs is not None:
        number(w.epochs, "--epochs", lo=1, hi=MAX_EPOCHS, integer=True)
    number(w.max_minutes, "--max-minutes", lo=MIN_MINUTES, hi=MAX_MINUTES)


def is_remote_data(remote: str) -> bool:
    """``~/kpbench-data`` or a file directly in it, as plan writes them."""
    head, sep, name = remote.partition(REMOTE_DATA_DIR)
    return bool(sep) and head == "" and (name == "" or (name[:1] == "/" and FILE_NAME.fullmatch(name[1:]) is not None))


def check_mount(remote: str, local: str) -> None:
    """A file mount: one of kpbench's remote directories and a plain file name; a local path SkyPilot can quote."""
    folder, _, name = remote.rpartition("/")
    if folder not in (REMOTE_WHEEL_DIR, REMOTE_DATA_DIR) or not FILE_NAME.fullmatch(name):
        raise KpbenchError(f"file mount {shown(remote)}: not a file in {REMOTE_WHEEL_DIR} or {REMOTE_DATA_DIR}")
    if not LOCAL_PATH.fullmatch(local):
        raise KpbenchError(f"{shown(local)}: a path SkyPilot cannot be trusted to quote (quotes, $, `, \\ or "
                           "control characters); move or rename it to letters, digits, spaces and - _ . , + = @ only")


def home_path(path: str) -> Shell:
    """A path under the remote home, ``~/…``: the tilde expands, the rest is quoted."""
    assert path.startswith("~/"), path
    return Shell("~/" + shlex.quote(path[2:]))


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
        f"{pip} {home_path(remote_wheel)}",
        f"{REMOTE_VENV}/bin/python -m kpbench version",
    ]) + "\n"


def run_script(instance: Instance, workload: Workload, price_per_hour: float | None) -> str:
    """Stamp the job's start, bench (or scale across nodes) under a time limit, print the results."""
    limit_s = max(1, int(workload.max_minutes * 60))
    out = home_path(f"{REMOTE_OUT}/records")
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


def _data(workload: Workload) -> str:
    return home_path(workload.data) if is_remote_data(workload.data) else workload.data


def bench_argv(instance: Instance, workload: Workload, out: str, price_per_hour: float | None) -> list[str]:
    argv = ["kpbench", "bench", "--data", _data(workload), "--repeats", str(workload.repeats),
            "--instance-type", instance.instance_type, "--out", out]
    argv += _options(workload)
    if price_per_hour is not None:
        argv += ["--price-per-hour", f"{price_per_hour:g}"]
    return argv


def scale_argv(workload: Workload, out: str) -> list[str]:
    # dist scale's multi-node options; the shell expands the $VARIABLES SkyPilot sets on each node.
    argv = ["kpbench", "dist", "scale", "--data", _data(workload), "--nproc", Shell('"$NPROC"'),
            "--nnodes", Shell('"$SKYPILOT_NUM_NODES"'), "--node-rank", Shell('"$SKYPILOT_NODE_RANK"'),
            "--rdzv-endpoint", Shell(f'"$HEAD_IP:{RDZV_PORT}"'), "--out", out]
    return argv + _options(workload)


def _options(workload: Workload) -> list[str]:
    argv = []
    if workload.model:
        argv += ["--model", workload.model]
    if workload.epochs is not None:
        argv += ["--epochs", str(workload.epochs)]
    return argv


def _join(argv: list[str]) -> str:
    # Every word quoted, but for kpbench's own Shell text ($VARIABLES, ~/paths) for the remote shell to expand.
    return " ".join(a if isinstance(a, Shell) else shlex.quote(a) for a in argv)


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
