"""kpbench.cost: instance catalog (dated prices) × Records → $/run, $/target, verdicts.

Public interface (docs/design.md, "cost"):
    load_catalog(path=None) -> Catalog;  Catalog.get(instance_type) -> Instance | None
    billed_s(seconds), cost_usd(seconds, price_per_hour), cost_per_million_images_usd(...)
    compare(records, catalog=None, *, price_per_hour=None, spot=False) -> Comparison
    plot_time / plot_cost / plot_pareto(comparison, path)  (kpbench.cost.charts)
    write_comparison(comparison, out_dir), comparison_csv / comparison_markdown  (kpbench.cost.export)
No torch here: comparing Records never re-measures.
"""

from kpbench.cost.billing import MINIMUM_BILLED_S, billed_s, cost_per_million_images_usd, cost_usd
from kpbench.cost.catalog import DEFAULT_CATALOG, Catalog, Instance, load_catalog
from kpbench.cost.charts import plot_cost, plot_pareto, plot_time
from kpbench.cost.compare import compare, config_mismatches
from kpbench.cost.export import write_comparison
from kpbench.cost.types import Comparison, Mismatch, Row
from kpbench.cost.verdicts import pareto_front, speedup

__all__ = [
    "MINIMUM_BILLED_S", "billed_s", "cost_usd", "cost_per_million_images_usd",
    "DEFAULT_CATALOG", "Catalog", "Instance", "load_catalog",
    "Comparison", "Mismatch", "Row", "compare", "config_mismatches", "pareto_front", "speedup",
    "plot_time", "plot_cost", "plot_pareto", "write_comparison",
]
