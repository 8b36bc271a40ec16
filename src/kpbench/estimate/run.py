"""run_estimate: the one function `kpbench estimate` calls; every export reads its EstimateResult.

Trace the step once per precision (fake tensors, on this CPU), price it on each target GPU with
the cost model, and turn it into the study's columns for the workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kpbench.errors import KpbenchError
from kpbench.estimate import machine, model, network, study
from kpbench.estimate import workload as workload_mod
from kpbench.estimate.gpus import Gpu, gpu, load_gpus
from kpbench.estimate.model import OpArrays
from kpbench.estimate.trace import PRECISIONS, Trace
from kpbench.train.config import DEFAULT_EPOCHS

REQUEST_PRECISIONS = ("auto", *PRECISIONS)


@dataclass
class EstimateRequest:
    """The options of `kpbench estimate`, as plain data."""

    model: str = workload_mod.TRAIN.model
    input_shape: tuple[int, ...] | None = None
    batch_size: int | None = None  # None: train's default, or the batch of the run --from names
    precision: str = "auto"
    gpus: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    study: bool = False
    epochs: int | None = None
    rows: int | None = None
    from_path: Path | None = None
    catalog: Path | None = None

    def check(self) -> EstimateRequest:
        chosen = sum(bool(x) for x in (self.gpus, self.instances, self.study))
        if chosen != 1:
            raise KpbenchError("say where to estimate: exactly one of --gpu, --instances or --study")
        if self.precision not in REQUEST_PRECISIONS:
            raise KpbenchError(f"--precision {self.precision!r} is not one of: {', '.join(REQUEST_PRECISIONS)}")
        if self.from_path is not None and (self.epochs is not None or self.rows is not None):
            raise KpbenchError("--from gives the steps: do not combine it with --epochs or --rows")
        if self.batch_size is not None and self.batch_size < 1:
            raise KpbenchError(f"--batch-size must be positive, got {self.batch_size}")
        return self


@dataclass
class EstimateResult:
    network: str
    workload: workload_mod.Workload
    traces: dict[str, Trace]
    estimates: list[study.Estimate]
    skipped: list[dict]
    host: machine.Host
    constants: model.Constants

    def to_dict(self) -> dict:
        first = next(iter(self.traces.values()))
        return {"trace": first.to_dict(), "traces": {p: t.to_dict() for p, t in self.traces.items()},
                "workload": self.workload.to_dict(), "estimates": [e.to_dict() for e in self.estimates],
                "skipped": self.skipped, "host": self.host.to_dict(), "calibration": self.constants.meta}


def run_estimate(req: EstimateRequest, *, measured: list[dict] | None = None) -> EstimateResult:
    """Estimates for the request's targets; ``measured`` bench Records add measured rows (the report, the demo)."""
    req.check()
    from kpbench.cost import load_catalog

    net = network.resolve(req.model, req.input_shape)
    work = _workload(req)
    catalog = load_catalog(req.catalog)
    targets, skipped = _targets(req, catalog)
    c = model.load_constants()
    record = work.record or next(iter(measured or []), None)
    startup = _startup_of(record) or machine.startup_s()  # a Record measured this machine already
    host = machine.host()
    traces = _Traces(net, work)
    estimates = [_gpu_estimate(inst, g, req.precision, traces, work, c, host, startup) for inst, g in targets]
    if req.study:
        records = ([work.record] if work.record is not None else []) + list(measured or [])
        rows = [row for r in records if (row := _measured(r, work, catalog, skipped)) is not None]
        estimates += rows or [_cpu_estimate(traces, work, c, host, startup)]
    return EstimateResult(network=net.label, workload=work, traces=traces.steps, estimates=estimates, skipped=skipped,
                          host=host, constants=c)


def _startup_of(record: dict | None) -> float | None:
    """A Record's process start and imports, median seconds: interpreter start and imports (a v1 Record
    has imports alone, which then began at the spawn)."""
    phases = (record or {}).get("phases", {})
    parts = [phases[name]["median"] for name in ("interpreter_s", "imports_s") if name in phases]
    return sum(parts) if parts else None


def _workload(req: EstimateRequest) -> workload_mod.Workload:
    if req.from_path is None:
        return workload_mod.from_epochs(req.epochs or DEFAULT_EPOCHS, req.rows, req.batch_size or workload_mod.TRAIN.batch_size)
    work = workload_mod.from_path(req.from_path)
    if req.batch_size is not None and req.batch_size != work.batch_size:
        raise KpbenchError(f"{req.from_path}: ran batch {work.batch_size}; --batch-size {req.batch_size} would "
                           "change its step count (leave --batch-size out)")
    return work


def _targets(req: EstimateRequest, catalog) -> tuple[list[tuple], list[dict]]:
    """(instance or None, GPU row) per target, and the targets that get no estimate, with the reason."""
    if req.gpus:
        return [(None, gpu(name)) for name in req.gpus], []
    names = list(study.STUDY_INSTANCES + study.REPLACEMENTS) if req.study else req.instances
    targets, skipped = [], []
    for name in names:
        inst = catalog.get(name)
        if inst is None:
            known = ", ".join(i.instance_type for i in catalog)
            raise KpbenchError(f"unknown instance type {name!r}; the catalog ({catalog.path.name}) lists: {known}")
        if not inst.gpu_count:
            skipped.append({"instance_type": inst.instance_type, "reason": "no GPU: kpbench estimates GPUs, and this "
                            "machine's CPU; it cannot estimate another CPU (run `kpbench bench` there)"})
        elif inst.gpu.upper() not in load_gpus():
            skipped.append({"instance_type": inst.instance_type, "reason": f"{inst.gpu} is not in the GPU table"})
        else:
            targets.append((inst, gpu(inst.gpu)))
    return targets, skipped


class _Traces:
    """Each precision's training step and evaluation pass, traced once."""

    def __init__(self, net: network.Network, work: workload_mod.Workload) -> None:
        self.net, self.work = net, work
        self.steps: dict[str, Trace] = {}
        self._arrays: dict[tuple[str, bool], OpArrays] = {}

    def arrays(self, precision: str, *, evaluation: bool = False) -> OpArrays:
        key = (precision, evaluation)
        if key not in self._arrays:
            if evaluation:
                batch = min(workload_mod.EVAL_BATCH, self.work.val_rows)
                t = self.net.trace(batch_size=batch, precision=precision, inference=True)
            else:
                t = self.net.trace(batch_size=self.work.batch_size, precision=precision)
                self.steps[precision] = t
            self._arrays[key] = OpArrays.of(t)
        return self._arrays[key]


def _gpu_estimate(inst, g: Gpu, requested: str, traces: _Traces, work, c, host, startup: float) -> study.Estimate:
    precision = g.auto_precision() if requested == "auto" else requested if g.supports(requested) else "fp32"
    step = model.predict_step(traces.arrays(precision), g, c, dispatch_s=host.dispatch_s, module_s=host.module_s)
    evaluation = model.predict_step(traces.arrays(precision, evaluation=True), g, c, dispatch_s=host.dispatch_s,
                                    module_s=host.module_s)
    low, high = model.band(c, step.calibrated)
    train, train_low, train_high, to_target = study.training_s(work, step, evaluation.step_s, (low, high))
    notes = study.gpu_notes(g, precision, requested)
    if not step.calibrated:
        notes.append(f"outside the calibration ({g.arch}, {'/'.join(step.paths)}): wider band")
    est = study.Estimate(
        gpu=g.name, instance_type=inst.instance_type if inst else None, precision=precision, step_s=step.step_s,
        step_s_low=step.step_s * low, step_s_high=step.step_s * high, images_per_s=work.batch_size / step.step_s,
        bound=step.bound, train_s=train, train_s_low=train_low, train_s_high=train_high, init_s=None, init_s_low=None,
        init_s_high=None, cost_per_run_usd=None, cost_per_run_usd_low=None, cost_per_run_usd_high=None,
        basis=f"estimated: {g.name} ({g.arch}) {precision}, per-operator model fitted to published measurements",
        calibrated=step.calibrated, time_to_target_s=to_target, notes=notes, prediction=step)
    study.with_init(est, study.init_parts(startup, gpu=True, instance=inst is not None))
    return study.priced(est, inst)


def _cpu_estimate(traces: _Traces, work, c, host, startup: float) -> study.Estimate:
    """This machine's CPU through the same model (its own peak and bandwidth); not calibrated, so the wide band."""
    cpu = machine.cpu()
    step = model.predict_cpu_step(traces.arrays("fp32"), cpu, host, c)
    evaluation = model.predict_cpu_step(traces.arrays("fp32", evaluation=True), cpu, host, c)
    low, high = model.band(c, False)
    train, train_low, train_high, to_target = study.training_s(work, step, evaluation.step_s, (low, high))
    est = study.Estimate(
        gpu=None, instance_type=None, precision="fp32", step_s=step.step_s, step_s_low=step.step_s * low,
        step_s_high=step.step_s * high, images_per_s=work.batch_size / step.step_s, bound=step.bound, train_s=train,
        train_s_low=train_low, train_s_high=train_high, init_s=None, init_s_low=None, init_s_high=None,
        cost_per_run_usd=None, cost_per_run_usd_low=None, cost_per_run_usd_high=None,
        basis=f"estimated: this machine's CPU ({cpu.note}); no measured Record given", calibrated=False,
        time_to_target_s=to_target, notes=["no price (not a catalog instance)"], prediction=step)
    return study.with_init(est, study.init_parts(startup, gpu=False, instance=False))


def _measured(record: dict, work: workload_mod.Workload, catalog, skipped: list[dict]) -> study.Estimate | None:
    """A bench Record as a study row: its own figures, or its step time × this workload's steps."""
    from kpbench.estimate.measured import measured_estimate

    try:
        return measured_estimate(record, work, catalog)
    except KpbenchError as e:
        skipped.append({"instance_type": record["machine"].get("instance_type") or "this machine", "reason": str(e)})
        return None
