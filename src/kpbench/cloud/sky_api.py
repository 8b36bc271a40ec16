"""The one place kpbench calls SkyPilot (0.14's Python SDK). Tests put a fake ``sky`` module here.

Every name kpbench uses is in ``SDK``, as a path from the ``sky`` package: the client calls live
in ``sky.client.sdk`` (in 0.14 ``sky.check`` is the server's credential module, not the call).
``tests/unit/test_cloud_contract.py`` checks each path against the installed SkyPilot (it resolves
to a callable, accepts the arguments passed here, answers with a request id or a value as handled
here), and the fake SDK of the tests is built from the same recorded signatures.

The calls in ``REQUESTS`` answer with a request id that ``sky.get`` (or ``stream_and_get``) waits
on; this module hides that, so the rest of kpbench calls plain functions. ``import sky`` happens
on first use only: kpbench works without the ``cloud`` extra until a command needs a cloud.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, TextIO

from kpbench.errors import KpbenchError

INSTALL_HINT = "pip install 'kpbench[cloud]'"
SDK: dict[str, str] = {
    "check": "client.sdk.check",
    "launch": "client.sdk.launch",
    "get": "client.sdk.get",
    "stream_and_get": "client.sdk.stream_and_get",
    "tail_logs": "client.sdk.tail_logs",
    "queue": "client.sdk.queue",
    "down": "client.sdk.down",
    "api_cancel": "client.sdk.api_cancel",
    "task_from_yaml": "Task.from_yaml",
}
REQUESTS = ("check", "launch", "queue", "down", "api_cancel")  # answer with a request id
CLOUD = "aws"
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


def sdk(name: str) -> Any:
    """The callable at ``SDK[name]``; a one-line error when this SkyPilot has none there."""
    obj: Any = sky()
    for part in SDK[name].split("."):
        obj = getattr(obj, part, None)
    if not callable(obj):
        version = getattr(sky(), "__version__", "?")
        raise KpbenchError(f"SkyPilot {version} has no callable sky.{SDK[name]}; kpbench needs SkyPilot 0.14 "
                           f"({INSTALL_HINT})")
    return obj


def check_aws() -> None:
    """SkyPilot's own credential check for AWS; KpbenchError (one line) when AWS is not usable."""
    more = f"(`sky check {CLOUD}` tells more); nothing launched"
    try:
        enabled = sdk("get")(sdk("check")((CLOUD,), verbose=False))
    except KpbenchError:
        raise
    except Exception as e:  # noqa: BLE001 - any SDK failure here means we cannot launch
        raise KpbenchError(f"SkyPilot cannot check the {CLOUD.upper()} credentials: {one_line(e)} {more}") from None
    if not has_compute(enabled, CLOUD):
        raise KpbenchError(f"SkyPilot has no usable {CLOUD.upper()} credentials {more}")


def has_compute(enabled: Any, cloud: str) -> bool:
    """Whether ``sky.check``'s answer ({workspace: {cloud: [capability, …]}}) enables ``cloud`` to compute."""
    if not isinstance(enabled, dict):
        return False
    for per_workspace in enabled.values():
        for name, capabilities in (per_workspace or {}).items() if isinstance(per_workspace, dict) else ():
            caps = {str(getattr(c, "value", c)).lower() for c in capabilities or ()}
            if str(name).lower() == cloud and (not caps or "compute" in caps):
                return True
    return False


def task_from_yaml(path: str) -> Any:
    return sdk("task_from_yaml")(path)


def launch(task: Any, cluster: str, *, idle_minutes_to_autostop: int) -> str:
    """Submit the launch (provision, setup, job); returns its request id at once."""
    return sdk("launch")(task, cluster_name=cluster, down=True, idle_minutes_to_autostop=idle_minutes_to_autostop)


def wait(request_id: str, stream: TextIO | None = None) -> Any:
    """The request's result; with ``stream``, its log (provisioning, for a launch) is written there."""
    if stream is None:
        return sdk("get")(request_id)
    return sdk("stream_and_get")(request_id, output_stream=stream)


def tail_logs(cluster: str, job_id: int | None, stream: TextIO) -> int:
    """Follow the job's log into ``stream`` until it ends; the job's exit code (0 = succeeded)."""
    return sdk("tail_logs")(cluster, job_id, follow=True, output_stream=stream)


def job_start_at(cluster: str, job_id: int | None) -> float | None:
    """sky.queue's ``start_at`` (epoch s, when the job turned RUNNING) of ``job_id``, if known."""
    for job in sdk("get")(sdk("queue")(cluster)) or []:
        if _field(job, "job_id") == job_id or job_id is None:
            start = _field(job, "start_at")
            ok = isinstance(start, (int, float)) and not isinstance(start, bool) and 0 < start < 1e11
            return float(start) if ok else None
    return None


def down(cluster: str) -> bool:
    """Tear the cluster down and wait; False when it did not exist (already gone)."""
    try:
        sdk("get")(sdk("down")(cluster))
    except Exception as e:  # noqa: BLE001
        if type(e).__name__ == "ClusterDoesNotExist":
            return False
        raise
    return True


def cancel(request_ids: list[str]) -> None:
    """Best effort: stop launch requests still in flight (Ctrl-C)."""
    if request_ids:
        try:
            sdk("api_cancel")(request_ids)  # its request id is not waited on: the downs follow at once
        except Exception:  # noqa: BLE001 - the clusters are downed next in any case
            pass


def _field(obj: Any, name: str) -> Any:
    # 0.14 returns pydantic ClusterJobRecord objects; older clients returned dicts.
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."
