"""The files a plan directory holds about itself, read back: ``plan.json`` and ``launch/<type>.json``.

Both are kpbench's own but a person may edit them, so each read checks them whole before anything
uses them: a regular file of bounded size, JSON without NaN, the schema below (types, ranges), an
instance type matching the strict pattern, and every path it names confined to the plan directory
(``<type>.yaml``, ``logs/<type>.log``: derived from the instance type, never taken as given). A
file that fails is one line naming it and what is wrong, exit 2, before anything is launched or
written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kpbench.bench.record import parse_json
from kpbench.bench.validate import SchemaViolation, validate
from kpbench.cloud.tasks import MAX_EPOCHS, MAX_MINUTES, MAX_NODES, MAX_REPEATS, MIN_MINUTES, WHEEL_NAME
from kpbench.errors import KpbenchError
from kpbench.inputs import STATE_LIMIT_BYTES, instance_type, read_text

PLAN_FILE = "plan.json"
PLAN_SCHEMA = "kpbench.cloud-plan/1"
LAUNCH_DIR, LOG_DIR = "launch", "logs"
STATUSES = ("pending", "launching", "running", "succeeded", "launch-failed", "job-failed", "timed-out", "interrupted")
_EPOCH_S = {"type": ["number", "null"], "minimum": 0, "maximum": 1e11}
_TEXT = {"type": ["string", "null"], "maxLength": 10_000}
_INT = {"type": ["integer", "null"], "minimum": -(2**31), "maximum": 2**31}
WORKLOAD_SCHEMA = {
    "type": "object",
    "required": ["data", "model", "epochs", "repeats", "nodes", "max_minutes"],
    "properties": {
        "data": {"type": "string", "maxLength": 300},
        "model": {"type": ["string", "null"], "maxLength": 64},
        "epochs": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_EPOCHS},
        "repeats": {"type": "integer", "minimum": 1, "maximum": MAX_REPEATS},
        "nodes": {"type": "integer", "minimum": 1, "maximum": MAX_NODES},
        "max_minutes": {"type": "number", "minimum": MIN_MINUTES, "maximum": MAX_MINUTES},
    },
}
PLAN_JSON_SCHEMA = {
    "type": "object",
    "required": ["schema", "plan_dir", "wheel", "use_spot", "autostop_minutes", "workload", "entries"],
    "properties": {
        "schema": {"const": PLAN_SCHEMA},
        "plan_dir": {"type": ["string", "null"], "maxLength": 4096},
        "wheel": {"type": "string", "maxLength": 300},
        "use_spot": {"type": "boolean"},
        "autostop_minutes": {"type": "integer", "minimum": 1, "maximum": 24 * 60},
        "workload": WORKLOAD_SCHEMA,
        "entries": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
            "type": "object",
            "required": ["instance_type", "yaml"],
            "properties": {"instance_type": {"type": "string"}, "yaml": {"type": "string"},
                           "price_per_hour": {"type": ["number", "null"], "minimum": 0, "maximum": 1e5}},
        }},
    },
}
LAUNCH_STATE_SCHEMA = {
    "type": "object",
    "required": ["instance_type", "cluster", "status", "use_spot", "nodes", "launched_at_s", "job_start_at_s"],
    "properties": {
        "instance_type": {"type": "string"},
        "cluster": {"type": "string", "pattern": "^kpbench-[a-z0-9-]{1,60}$"},
        "yaml": {"type": "string"},
        "use_spot": {"type": "boolean"},
        "nodes": {"type": "integer", "minimum": 1, "maximum": MAX_NODES},
        "max_minutes": {"type": "number", "minimum": 0, "maximum": MAX_MINUTES},
        "status": {"enum": list(STATUSES)},
        "request_id": _TEXT, "error": _TEXT, "down": _TEXT, "log": _TEXT,
        "launched_at_s": _EPOCH_S, "job_start_at_s": _EPOCH_S, "job_id": _INT, "job_exit_code": _INT,
    },
}


def read_plan(plan_dir: Path) -> dict:
    """plan.json of a plan directory, checked whole; one-line errors for anything else."""
    path = Path(plan_dir) / PLAN_FILE
    if not path.exists() and not path.is_symlink():
        raise KpbenchError(f"{plan_dir}: not a plan directory (no {PLAN_FILE}; write one with `kpbench cloud plan`)")
    obj = _checked(path, read_text(path, what="plan"), PLAN_JSON_SCHEMA, f"{PLAN_SCHEMA} plan")
    if not WHEEL_NAME.fullmatch(obj["wheel"]):
        raise KpbenchError(f"{path}: wheel: {obj['wheel'][:60]!r} is not a kpbench wheel name")
    for i, entry in enumerate(obj["entries"]):
        itype = instance_type(entry["instance_type"], f"{path}: entries[{i}].instance_type")
        if entry["yaml"] != task_file(itype):
            raise KpbenchError(f"{path}: entries[{i}].yaml must be {task_file(itype)!r} (a file of this plan "
                               f"directory named by its instance type), not {entry['yaml'][:60]!r}")
    return obj


def read_launch_states(plan_dir: Path) -> list[dict]:
    """Every ``launch/<type>.json``, checked whole, in name order; KpbenchError when there is none."""
    files = sorted((Path(plan_dir) / LAUNCH_DIR).glob("*.json"))
    if not files:
        raise KpbenchError(f"{plan_dir}: nothing launched yet (no {LAUNCH_DIR}/); run `kpbench cloud launch {plan_dir}`")
    return [read_launch_state(f) for f in files]


def read_launch_state(path: Path) -> dict:
    obj = _checked(path, read_text(path, what="launch state", limit=STATE_LIMIT_BYTES), LAUNCH_STATE_SCHEMA,
                   "kpbench launch state")
    itype = instance_type(obj["instance_type"], f"{path}: instance_type")
    if path.name != state_file(itype).name:
        raise KpbenchError(f"{path}: holds the state of {itype}, which belongs in {state_file(itype)}")
    return obj


def own_subdir(plan_dir: Path, name: str) -> Path:
    """``plan_dir/name``, which kpbench writes into: refused when it is a link (it could lead out of the plan)."""
    path = Path(plan_dir) / name
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise KpbenchError(f"{path}: a link or a file where this plan's {name}/ directory belongs; "
                           "kpbench writes only inside the plan directory")
    return path


def task_file(itype: str) -> str:
    return f"{itype}.yaml"


def state_file(itype: str) -> Path:
    return Path(LAUNCH_DIR) / f"{itype}.json"


def log_file(itype: str, *, launch: bool = False) -> Path:
    return Path(LOG_DIR) / f"{itype}{'.launch' if launch else ''}.log"


def _checked(path: Path, text: str, schema: dict, what: str) -> Any:
    obj = parse_json(text, str(path), what)
    try:
        validate(obj, schema)
    except SchemaViolation as e:
        raise KpbenchError(f"{path}: not a valid {what}: {e}") from None
    except RecursionError:
        raise KpbenchError(f"{path}: not a valid {what} (nested too deeply)") from None
    return obj
