"""kpbench.cloud: the study on cloud instances through SkyPilot (docs/cloud.md).

    make_plan(PlanConfig) -> Plan;  write_plan(plan, out_dir, wheel=, data=) -> Path   (cloud.plan)
    launch_plan(plan_dir) -> list[Launched]                                        (cloud.launch)
    collect(plan_dir) -> Collected: DIR/records, DIR/compare, DIR/report              (cloud.collect)
All SkyPilot calls go through cloud.sky_api; Records come home on marker lines (cloud.transfer).
Importing this package never imports SkyPilot.
"""

from kpbench.cloud.collect import Collected, collect
from kpbench.cloud.launch import Launched, launch_plan
from kpbench.cloud.plan import Plan, PlanConfig, make_plan, read_plan, write_plan
from kpbench.cloud.tasks import Workload

__all__ = ["Collected", "collect", "Launched", "launch_plan", "Plan", "PlanConfig", "make_plan",
           "read_plan", "write_plan", "Workload"]
