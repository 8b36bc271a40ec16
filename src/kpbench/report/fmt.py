"""Re-export of kpbench.fmt, the one number-formatting module (kept while report/ switches imports)."""

from kpbench.fmt import DASH, humanize, num, si, spread, usd

__all__ = ["DASH", "humanize", "num", "si", "spread", "usd"]
