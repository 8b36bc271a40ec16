"""MLPerf-style event log: one ``:::MLLOG {json}`` line per event.

The keys follow MLPerf's logging (namespace, time_ms, event_type, key, value,
metadata) so tools that read MLPerf logs can read ours. The worker collects
events as it runs (``EventLog``); the runner writes every repeat's events into
one file beside the Record, each tagged with ``metadata.repeat``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kpbench import atomic

PREFIX = ":::MLLOG "
INTERVAL_START = "INTERVAL_START"
INTERVAL_END = "INTERVAL_END"
POINT_IN_TIME = "POINT_IN_TIME"
_EVENT_TYPES = {
    "init_start": INTERVAL_START,
    "init_stop": INTERVAL_END,
    "run_start": INTERVAL_START,
    "run_stop": INTERVAL_END,
    "epoch_start": INTERVAL_START,
    "epoch_stop": INTERVAL_END,
    "block_start": INTERVAL_START,
    "block_stop": INTERVAL_END,
}


class EventLog:
    """Events of one repeat, in the order they happened."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace
        self.events: list[dict] = []

    def log(self, key: str, value: Any = None, *, time_s: float | None = None, **metadata: Any) -> None:
        """Record an event now (or at ``time_s``, seconds since the epoch)."""
        self.events.append(
            {
                "namespace": self.namespace,
                "time_ms": int(round((time.time() if time_s is None else time_s) * 1000)),
                "event_type": _EVENT_TYPES.get(key, POINT_IN_TIME),
                "key": key,
                "value": value,
                "metadata": metadata,
            }
        )


def format_events(events: Iterable[dict]) -> str:
    return "".join(PREFIX + json.dumps(e, default=str) + "\n" for e in events)


def write_mllog(path: str | Path, runs: list[dict]) -> None:
    """Every repeat's events, tagged with its repeat number, atomically."""
    events = []
    for run in runs:
        for e in run.get("events", []):
            events.append({**e, "metadata": {**e.get("metadata", {}), "repeat": run["repeat"]}})
    atomic.write_text(path, format_events(events))


def read_mllog(path: str | Path) -> list[dict]:
    """The events of an MLLOG file (lines without the prefix are ignored, as MLPerf does)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(PREFIX):
            out.append(json.loads(line[len(PREFIX):]))
    return out
