"""The instance catalog as a Markdown table: `kpbench catalog --markdown`, and the table in docs/cost.md.

The docs never keep a hand copy: `make docs` (benchmarks/docs.py) rewrites docs/cost.md's block from
the catalog itself, and a test fails when the block and the catalog differ.
"""

from __future__ import annotations

from kpbench.cost import Catalog


def catalog_markdown(catalog: Catalog) -> str:
    """One row per instance, in file order; each distinct price source is a numbered note under the table."""
    sources = list(dict.fromkeys(i.price_source for i in catalog))
    lines = [
        "| instance | vCPU | RAM GiB | GPU | GPU built for | $/h | price date | source | status |",
        "|---|---:|---:|---|---|---:|---|---|---|",
    ]
    for i in catalog:
        gpu = f"{i.gpu_count}× {i.gpu}" + (f" ({i.gpu_memory_gb:g} GB)" if i.gpu_memory_gb else "") if i.gpu_count else "–"
        status = ("retired" + (f" {i.retired_date}" if i.retired_date else "")) if i.retired else ""
        lines.append(f"| {i.instance_type} | {i.vcpus} | {i.memory_gb:g} | {gpu} | {i.gpu_purpose or '–'} "
                     f"| {i.price_per_hour:g} | {i.price_date} | [{sources.index(i.price_source) + 1}] | {status} |")
    lines.append("")
    lines += [f"[{n}] {source}  " for n, source in enumerate(sources, 1)]
    lines[-1] = lines[-1].rstrip()
    return "\n".join(lines) + "\n"
