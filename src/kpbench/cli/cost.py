"""CLI: `kpbench compare` (Records → cost table, verdicts, files) and `kpbench catalog`.

Thin: reads Records and the catalog, calls kpbench.cost.compare, prints. Compare
never re-measures; it prices what the Records hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from kpbench.cost.types import Comparison


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("compare")(compare_command)
    app.command("catalog")(catalog_command)


def compare_command(
    records: list[Path] = typer.Argument(..., metavar="RECORDS",
                                         help="Record JSON files written by `kpbench bench` (or `kpbench estimate`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON instead of a table."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write compare.csv, compare.md, compare.json and PNG charts here."
    ),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Instance catalog CSV (default: the shipped one)."),
    price_per_hour: Optional[float] = typer.Option(
        None, "--price-per-hour", min=0.0,
        help="USD per hour for Records without their own price (overrides the catalog)."
    ),
    spot: bool = typer.Option(False, "--spot", help="Use the catalog's spot prices where it has them."),
) -> None:
    """Compare Records across machines: cost per run, cost to target, Pareto front, verdicts."""
    from kpbench.cost import load_catalog, write_comparison
    from kpbench.estimate.compare import compare_files  # bench Records measured, estimate Records apart

    comp = compare_files(records, load_catalog(catalog), price_per_hour=price_per_hour, spot=spot)
    paths = write_comparison(comp, out) if out is not None else {}
    if as_json:
        print(json.dumps(comp.to_dict(), indent=2))
        return
    print_comparison(comp)
    if paths:
        print(f"wrote {', '.join(p.name for p in paths.values())} in {out}")


def catalog_command(
    as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON."),
    as_markdown: bool = typer.Option(False, "--markdown", help="Print the catalog as the Markdown table in docs/cost.md."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Instance catalog CSV (default: the shipped one)."),
) -> None:
    """List the instance catalog: hardware, on-demand price, its date and source; retired types marked."""
    from kpbench.cost import load_catalog

    cat = load_catalog(catalog)
    if as_json:
        print(json.dumps(cat.to_dict(), indent=2))
        return
    if as_markdown:
        from kpbench.report.catalog import catalog_markdown

        print(catalog_markdown(cat), end="")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Instance catalog ({cat.path.name})", padding=(0, 0))
    for name, justify in [("instance", "left"), ("vCPU", "right"), ("RAM GB", "right"), ("GPU", "left"),
                          ("GPU GB", "right"), ("purpose", "left"), ("$/h", "right"), ("spot $/h", "right"),
                          ("price date", "left"), ("status", "left")]:
        table.add_column(name, justify=justify, no_wrap=name in ("instance", "status", "$/h"))
    for i in cat:
        gpu = "–" if not i.gpu_count else f"{i.gpu_count}× {i.gpu}"
        status = ("retired" + (f" {i.retired_date}" if i.retired_date else "")) if i.retired else ""
        table.add_row(
            i.instance_type, str(i.vcpus), f"{i.memory_gb:g}", gpu,
            "–" if i.gpu_memory_gb is None else f"{i.gpu_memory_gb:g}", i.gpu_purpose or "–",
            f"{i.price_per_hour:g}", "–" if i.spot_price_per_hour is None else f"{i.spot_price_per_hour:g}",
            i.price_date, status, style="dim" if i.retired else None,
        )
    console = Console()
    console.print(table)
    for source in dict.fromkeys(i.price_source for i in cat):
        console.print(f"source: {source}", highlight=False, markup=False)


def print_comparison(comp: Comparison) -> None:
    # Terminals are often 80 columns: machine and GPU go under the label, notes under the
    # table, and $/M images (in --json, --out) only when there is room.
    from rich import box
    from rich.console import Console
    from rich.markup import escape
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
        table.add_row(f"{escape(label)}\n[dim]{escape(machine)} · {escape(gpu)}[/]", *(cells[i] for i in numbers))
        if note:
            notes.append(f"{label}: {note}")
    console.print(table)
    if "★" in (c for cells in body for c in cells):
        console.print("★ = on the Pareto front of time vs cost per run", style="dim", highlight=False)
    if comp.estimates:
        console.print("(estimate) rows are kpbench estimate's, not measurements: band (low … high), "
                      "☆ = on the estimates' own Pareto front", style="dim", highlight=False)
    for line in notes:
        console.print(line, style="dim", highlight=False, markup=False)
    for line in comp.verdicts:
        console.print(line, highlight=False, markup=False)
    for m in comp.config_mismatches:
        console.print(f"[bold yellow]config mismatch:[/] {escape(m.message)}", highlight=False)
    console.print(f"[dim]method: {escape(comp.method)}[/]", highlight=False)
