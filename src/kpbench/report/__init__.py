"""kpbench.report: Records + run directories → report.html (self-contained) and report.md.

`write_report(records, runs, out_dir, *, data=None) -> ReportPaths`; `kpbench.demo`
chains synthetic data → train → bench → report.
"""

from kpbench.report.write import ReportPaths, print_warnings, write_report

__all__ = ["ReportPaths", "print_warnings", "write_report"]
