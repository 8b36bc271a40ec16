"""What `kpbench cloud` prints on a terminal (rich): a Plan's price table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kpbench.fmt import plain, rich_text

if TYPE_CHECKING:
    from kpbench.cloud.plan import Plan


def print_plan(plan: Plan) -> None:
    """The tasks of a plan: instance, GPU, price, estimated seconds and dollars, the upper bound."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    w = plan.workload
    title = (f"Plan: {w.repeats} repeat(s) of `kpbench bench` on {w.nodes} node(s) each, "
             f"{'spot' if plan.spot else 'on-demand'}, at most {w.max_minutes:g} min per cluster")
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for name, justify in [("instance", "left"), ("GPU", "left"), ("$/h", "right"), ("est. s", "right"),
                          ("est. $", "right"), ("max $", "right"), ("estimate from", "left")]:
        table.add_column(name, justify=justify, overflow="fold")
    for e in plan.entries:
        gpu = f"{e.instance.gpu_count}× {e.instance.gpu}" if e.instance.gpu_count else "–"
        table.add_row(rich_text(e.instance.instance_type), rich_text(gpu), f"{e.price_per_hour:g}",
                      f"{e.estimate.seconds:.0f}", f"{e.estimate.cost_usd:.2f}", f"{e.upper_bound_usd:.2f}",
                      rich_text(e.estimate.basis))
    console = Console()
    console.print(table)
    console.print(f"estimated total ${plan.total_usd:.2f}; at most ${plan.upper_bound_usd:.2f} "
                  f"(every cluster to --max-minutes; prices from {plain(Path(plan.catalog_path).name)})",
                  highlight=False, markup=False)
