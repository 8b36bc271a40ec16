"""What compare and catalog print on a terminal (rich): the figures come from the Comparison and the Catalog.

Text that came from a file (labels, machines, notes, a catalog's columns) goes through ``fmt.plain``
or ``fmt.rich_text``: no control character reaches the terminal and no markup in it is applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpbench.fmt import plain, rich_text

if TYPE_CHECKING:
    from kpbench.cost.catalog import Catalog
    from kpbench.cost.types import Comparison


def print_catalog(cat: Catalog) -> None:
    """The catalog as a table: hardware, on-demand and spot price, its date; retired types dimmed."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Instance catalog ({rich_text(cat.path.name)})", padding=(0, 0))
    for name, justify in [("instance", "left"), ("vCPU", "right"), ("RAM GB", "right"), ("GPU", "left"),
                          ("GPU GB", "right"), ("purpose", "left"), ("$/h", "right"), ("spot $/h", "right"),
                          ("price date", "left"), ("status", "left")]:
        table.add_column(name, justify=justify, no_wrap=name in ("instance", "status", "$/h"))
    for i in cat:
        gpu = "–" if not i.gpu_count else f"{i.gpu_count}× {i.gpu}"
        status = ("retired" + (f" {i.retired_date}" if i.retired_date else "")) if i.retired else ""
        table.add_row(
            rich_text(i.instance_type), str(i.vcpus), f"{i.memory_gb:g}", rich_text(gpu),
            "–" if i.gpu_memory_gb is None else f"{i.gpu_memory_gb:g}", rich_text(i.gpu_purpose or "–"),
            f"{i.price_per_hour:g}", "–" if i.spot_price_per_hour is None else f"{i.spot_price_per_hour:g}",
            rich_text(i.price_date), rich_text(status), style="dim" if i.retired else None,
        )
    console = Console()
    console.print(table)
    for source in dict.fromkeys(i.price_source for i in cat):
        console.print(f"source: {plain(source)}", highlight=False, markup=False)


def print_comparison(comp: Comparison) -> None:
    # Terminals are often 80 columns: machine and GPU go under the label, notes under the
    # table, and $/M images (in --json, --out) only when there is room.
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from kpbench.cost.export import table_cells

    console = Console()
    header, body = table_cells(comp)
    numbers = [i for i in range(3, len(header) - 1) if console.width >= 100 or header[i] != "$/M images"]
    table = Table(title="Cost per machine" + (" (spot where known)" if comp.spot else " (on-demand)")
                  + "; times in s, costs in USD",
                  box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column("run · machine · GPU", min_width=20, overflow="fold")
    short = {"init s": "init", "train s": "train", "billed s": "billed", "$/M images": "$/M img", "Pareto": "★"}
    for i in numbers:
        table.add_column(short.get(header[i], header[i]), justify="right", no_wrap=True)
    notes = []
    for cells in body:
        label, machine, gpu, note = cells[0], cells[1], cells[2], cells[-1]
        table.add_row(f"{rich_text(label)}\n[dim]{rich_text(machine)} · {rich_text(gpu)}[/]",
                      *(rich_text(cells[i]) for i in numbers))
        if note:
            notes.append(plain(f"{label}: {note}"))
    console.print(table)
    if "★" in (c for cells in body for c in cells):
        console.print("★ = on the Pareto front of time vs cost per run", style="dim", highlight=False)
    if comp.estimates:
        console.print("(estimate) rows are kpbench estimate's, not measurements: band (low … high), "
                      "☆ = on the estimates' own Pareto front", style="dim", highlight=False)
    for line in notes:
        console.print(line, style="dim", highlight=False, markup=False)
    for line in comp.verdicts:
        console.print(plain(line), highlight=False, markup=False)
    for m in comp.config_mismatches:
        console.print(f"[bold yellow]config mismatch:[/] {rich_text(m.message)}", highlight=False)
    console.print(f"[dim]method: {rich_text(comp.method)}[/]", highlight=False)
