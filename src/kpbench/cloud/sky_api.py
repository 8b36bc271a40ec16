"""The one place kpbench calls SkyPilot (0.14's Python SDK). Tests put a fake ``sky`` module here.

Every SDK call returns a request id that ``sky.get`` waits on; this module hides that, so the
rest of kpbench calls plain functions. ``import sky`` happens on first use only: kpbench works
without the ``cloud`` extra until a command needs a cloud.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, TextIO

from kpbench.errors import KpbenchError

INSTALL_HINT = "pip install 'kpbench[cloud]'"
_sky: ModuleType | None = None


def sky() -> ModuleType:
    """The SkyPilot module; a one-line error naming the extra when it is not installed."""
    global _sky
    if _sky is None:
        try:
            _sky = importlib.import_module("sky")
        except ImportError as e:
            raise KpbenchError(f"SkyPilot is not installed ({e}); {INSTALL_HINT}") from None
    return _sky


def use(module: ModuleType | None) -> None:
    """Tests: route every call to ``module`` (None: import the real SkyPilot again on next use)."""
    global _sky
    _sky = module


def check_aws() -> None:
    """SkyPilot's own credential check for AWS; KpbenchError (one line) when AWS is not usable."""
    s = sky()
    try:
        enabled = s.get(s.check(("aws",), verbose=False))
    except Exception as e:  # noqa: BLE001 - any SDK failure here means we cannot launch
        raise KpbenchError(f"SkyPilot cannot check AWS credentials: {one_line(e)}") from None
    clouds = {c.lower() for per_ws in (enabled or {}).values() for c in (per_ws or {})}
    if "aws" not in clouds:
        raise KpbenchError("SkyPilot has no usable AWS credentials (`sky check aws` says why); nothing launched")


def task_from_yaml(path: str) -> Any:
    return sky().Task.from_yaml(path)


def launch(task: Any, cluster: str, *, idle_minutes_to_autostop: int) -> str:
    """Submit the launch (provision, setup, job); returns its request id at once."""
    return sky().launch(task, cluster_name=cluster, down=True, idle_minutes_to_autostop=idle_minutes_to_autostop)


def wait(request_id: str, stream: TextIO | None = None) -> Any:
    """The request's result; with ``stream``, its log (provisioning, for a launch) is written there."""
    if stream is None:
        return sky().get(request_id)
    return sky().stream_and_get(request_id, output_stream=stream)


def tail_logs(cluster: str, job_id: int | None, stream: TextIO) -> int:
    """Follow the job's log into ``stream`` until it ends; the job's exit code (0 = succeeded)."""
    return sky().tail_logs(cluster, job_id, follow=True, output_stream=stream)


def job_start_at(cluster: str, job_id: int | None) -> float | None:
    """sky.queue's ``start_at`` (epoch s, when the job turned RUNNING) of ``job_id``, if known."""
    s = sky()
    for job in s.get(s.queue(cluster)) or []:
        if _field(job, "job_id") == job_id or job_id is None:
            start = _field(job, "start_at")
            return float(start) if isinstance(start, (int, float)) and start > 0 else None
    return None


def down(cluster: str) -> bool:
    """Tear the cluster down and wait; False when it did not exist (already gone)."""
    s = sky()
    try:
        s.get(s.down(cluster))
    except Exception as e:  # noqa: BLE001
        if type(e).__name__ == "ClusterDoesNotExist":
            return False
        raise
    return True


def cancel(request_ids: list[str]) -> None:
    """Best effort: stop launch requests still in flight (Ctrl-C)."""
    if request_ids:
        try:
            sky().api_cancel(request_ids)
        except Exception:  # noqa: BLE001 - the clusters are downed next in any case
            pass


def _field(obj: Any, name: str) -> Any:
    # 0.14 returns pydantic ClusterJobRecord objects; older clients returned dicts.
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."
