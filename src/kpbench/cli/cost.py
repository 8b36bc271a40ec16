"""CLI: `kpbench compare` (Records → cost table, verdicts, files) and `kpbench catalog`.

Thin: reads Records and the catalog, calls kpbench.cost.compare, prints. Compare
never re-measures; it prices what the Records hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


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
    from kpbench.cost.output import print_comparison

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
    from kpbench.cost.output import print_catalog

    print_catalog(cat)
