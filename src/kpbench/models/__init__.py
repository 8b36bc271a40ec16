"""kpbench.models: networks by name and their summaries (layers, shapes, params, FLOPs).

Every network takes float (B, 1, 96, 96) normalised images and returns (B, 30): 15 × (x, y)
in normalised coordinates, pixel = 48 + 48 · value.
"""

from __future__ import annotations

from collections.abc import Callable

from kpbench.errors import KpbenchError
from kpbench.models.summary import ModelSummary, summarize

__all__ = ["MODEL_NAMES", "DEFAULT_MODEL", "MODEL_HELP", "build_model", "summarize", "ModelSummary"]


def _seed():
    from kpbench.models.seed import SeedNet

    return SeedNet()


def _bncnn():
    from kpbench.models.bncnn import BnCnn

    return BnCnn()


def _heatmap():
    from kpbench.models.heatmap import HeatmapNet

    return HeatmapNet()


def _convonly():
    from kpbench.models.convonly import ConvOnly

    return ConvOnly()


_BUILDERS: dict[str, Callable] = {"bncnn": _bncnn, "heatmap": _heatmap, "seed": _seed, "convonly": _convonly}
MODEL_NAMES: tuple[str, ...] = tuple(_BUILDERS)
DEFAULT_MODEL = "heatmap"  # the most accurate in a minute of CPU training (docs/training.md)
MODEL_HELP = {
    "heatmap": "bncnn's trunk with a heatmap per keypoint and its soft-argmax (default, 0.32 M params): the most accurate",
    "bncnn": "small BatchNorm CNN with a dense head: the fastest per image",
    "seed": "the competition's classic 3-conv + 2-dense network (8 M params)",
    "convonly": "convolutions only, GroupNorm (0.12 M params): little to all-reduce in data-parallel training",
}


def build_model(name: str):
    """A freshly initialised network (uses torch's global RNG: seed it first)."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise KpbenchError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}") from None
    return builder()
