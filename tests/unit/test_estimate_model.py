"""The cost model on fixed inputs, and the GPU table it reads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kpbench.errors import KpbenchError
from kpbench.estimate import ops
from kpbench.estimate.gpus import gpu, load_gpus
from kpbench.estimate.model import OpArrays, band, device_times, load_constants, pipeline_s, predict_step


def arrays(*, flops=0.0, nbytes=0.0, kernels=1, parallel=1e9, kind=ops.ELEMENTWISE, precision="fp32", n=1,
           conv_class="") -> OpArrays:
    return OpArrays(flops=np.full(n, float(flops)), bytes=np.full(n, float(nbytes)), kernels=np.full(n, float(kernels)),
                    parallel=np.full(n, float(parallel)), kind=np.full(n, ops.KINDS.index(kind)),
                    conv_class=np.full(n, conv_class), precision=np.full(n, precision), module_calls=0)


@pytest.fixture
def c():
    return load_constants()


def test_a_large_elementwise_operator_runs_at_the_fitted_share_of_datasheet_bandwidth(c):
    a = arrays(nbytes=1e9, parallel=1e12)
    t, bound, _ = device_times(a, gpu("V100"), c)
    assert t[0] == pytest.approx(1e9 / (900e9 * c.memory["default"]), rel=1e-3) and bound[0] == 1  # memory


def test_a_small_operator_cannot_fill_a_big_gpu(c):
    small, large = arrays(nbytes=4e5, parallel=1e5), arrays(nbytes=4e8, parallel=1e8)
    h100 = gpu("H100")
    rate_small = 4e5 / device_times(small, h100, c)[0][0]
    rate_large = 4e8 / device_times(large, h100, c)[0][0]
    assert rate_small < rate_large / 2


def test_a_tiny_kernel_takes_the_kernel_floor(c):
    t, bound, _ = device_times(arrays(nbytes=8, parallel=2), gpu("A100"), c)
    assert t[0] == pytest.approx(c.kernel_floor_s) and bound[0] == 0  # launch


def test_a_large_matmul_is_compute_bound_on_the_tensor_cores(c):
    n = 8192
    a = arrays(flops=2.0 * n**3, nbytes=3 * n * n * 2, parallel=n * n, kind=ops.GEMM, precision="bf16")
    t, bound, paths = device_times(a, gpu("A100"), c)
    assert bound[0] == 2 and paths == ["half"]
    assert 2.0 * n**3 / t[0] == pytest.approx(312e12 * c.gemm["half"], rel=0.02)


def test_fp32_convolutions_use_tf32_on_ampere_but_matmuls_stay_fp32():
    a100 = gpu("A100")
    assert a100.math_path("fp32", ops.CONV) == ("tf32", 156)
    assert a100.math_path("fp32", ops.GEMM) == ("fp32", 19.5)


@pytest.mark.parametrize("name, expected", [("K80", "fp32"), ("M60", "fp32"), ("V100", "fp32"), ("T4", "fp32"),
                                            ("A10G", "bf16"), ("L4", "bf16"), ("A100", "bf16"), ("H100", "bf16")])
def test_auto_precision_is_what_kpbench_train_runs_bf16_only_with_bf16_tensor_cores(name, expected):
    assert gpu(name).auto_precision() == expected


def test_v100_and_t4_have_fp16_tensor_cores_and_no_bf16():
    for name in ("V100", "T4"):
        assert gpu(name).supports("fp16") and not gpu(name).supports("bf16")
        assert gpu(name).math_path("fp16", ops.CONV)[0] == "half"


def test_a_step_with_many_tiny_operators_is_host_bound(c):
    a = arrays(nbytes=8, parallel=2, n=1000)
    p = predict_step(a, gpu("H100"), c, dispatch_s=20e-6, module_s=0.0)
    assert p.bound == "host" and p.step_s == pytest.approx(p.host_s)
    assert p.host_s == pytest.approx(1000 * (20e-6 + c.launch_s))


def test_a_training_step_takes_the_longer_of_device_and_host_time(c):
    a = arrays(nbytes=1e9, parallel=1e12, n=3)
    p = predict_step(a, gpu("T4"), c, dispatch_s=1e-6, module_s=0.0)
    assert p.step_s == pytest.approx(max(p.device_s, p.host_s)) and p.bound == "memory"


def test_a_synchronised_pass_waits_for_the_host_to_issue_each_kernel():
    # host issues at 1, 2, 3 s; kernels take 0.5 s: each starts when issued, the last ends at 3.5 s
    assert pipeline_s(np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5])) == pytest.approx(3.5)
    # a GPU slower than the host queues up: 1 + 3 × 2 = 7 s
    assert pipeline_s(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0])) == pytest.approx(7.0)


def test_an_architecture_without_a_calibration_point_gets_the_wider_band(c):
    conv = arrays(flops=1e12, nbytes=1e6, parallel=1e9, kind=ops.CONV)
    assert predict_step(conv, gpu("V100"), c).calibrated
    assert not predict_step(conv, gpu("M60"), c).calibrated  # Maxwell: no published point
    (lo_c, hi_c), (lo_u, hi_u) = band(c, True), band(c, False)
    assert lo_u < lo_c < 1 < hi_c < hi_u


def test_the_band_brackets_the_estimate(c):
    low, high = band(c, True)
    assert low < 1 < high


def test_every_gpu_row_names_its_source_and_a_status():
    for g in load_gpus().values():
        assert g.source and g.status in ("datasheet", "derived", "unconfirmed")
        assert g.fp32_tflops > 0 and g.mem_bw_gb_s > 0 and g.sms > 0


def test_the_a10g_is_not_the_a10():
    a10g = gpu("A10G")
    assert a10g.sms == 80 and a10g.bf16_tensor_tflops == pytest.approx(70.0)  # the A10: 72 SMs, 125 TFLOPS
    assert "not the A10" in a10g.note


def test_a_k80_row_is_one_die_of_the_board():
    k80 = gpu("K80")
    assert k80.fp32_tflops == pytest.approx(8.73 / 2, rel=0.01) and "one GK210" in k80.instance_share


def test_an_unknown_gpu_lists_the_known_ones():
    with pytest.raises(KpbenchError, match="known: K80, M60"):
        gpu("GTX 1080")


def test_a_gpu_table_row_with_a_bad_number_names_its_row_and_column(tmp_path):
    from kpbench.estimate.gpus import GPUS_CSV

    lines = GPUS_CSV.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("gpu,"))
    bad = lines[header + 1].replace(",240,", ",fast,", 1)
    path = tmp_path / "gpus.csv"
    path.write_text("\n".join(lines[: header + 1] + [bad]) + "\n", encoding="utf-8")
    with pytest.raises(KpbenchError, match=rf"gpus.csv: row {header + 2}, column mem_bw_gb_s: 'fast' is not a number"):
        load_gpus(path)


def test_constants_have_an_efficiency_for_every_architecture_through_their_default(c):
    for path in ("fp32", "tf32", "half"):
        assert 0 < c.efficiency(path, "Maxwell") <= 1
    assert replace(c).meta.get("points", 0) >= 30


def _cpu(peak_flops: float = 1e11):
    from kpbench.estimate.machine import Cpu, Host

    cpu = Cpu(model="test CPU", threads=2, clock_ghz=2.5, lanes=8, fma_units=2, peak_flops=peak_flops,
              bandwidth_gb_s=1e6, thread_bandwidth_gb_s=1e6, note="")
    return cpu, Host(dispatch_s=0.0, module_s=0.0)


def test_a_convolution_over_one_input_channel_runs_further_below_the_cpu_peak(c):
    from kpbench.estimate.model import cpu_conv_efficiency, predict_cpu_step

    one_channel, wide = 9, 32  # 3×3 over 1 grey channel into 32; 3×3 over 32 channels into 32
    e = cpu_conv_efficiency(np.array([one_channel, wide]), np.array([False, False]), c)
    assert e[0] < e[1] / 3
    assert 0 < e[1] < c.cpu["conv_forward"]
    cpu, host = _cpu()
    steps = []
    for width in (one_channel, wide):
        a = replace(arrays(flops=1e9, kind=ops.CONV), conv_width=np.array([float(width)]), backward=np.array([False]))
        steps.append(predict_cpu_step(a, cpu, host, c).step_s)
    assert steps[0] > 3 * steps[1]  # the same FLOPs take far longer on the narrow layer


def test_a_convolutions_backward_pass_runs_below_its_forward_pass_on_the_cpu(c):
    from kpbench.estimate.model import cpu_conv_efficiency

    fwd, bwd = cpu_conv_efficiency(np.array([64, 64]), np.array([False, True]), c)
    assert bwd < fwd


def test_the_trace_gives_each_convolution_the_narrow_side_of_its_weight_matrix():
    from kpbench.estimate.trace import trace_step

    t = trace_step("bncnn", batch_size=2)
    widths = {o.conv_width for o in t.ops if o.kind == ops.CONV}
    assert min(widths) == 9  # the first layer: 3×3 taps over one grey channel
    assert all(o.conv_width == 0 for o in t.ops if o.kind != ops.CONV)
    a = OpArrays.of(t)
    assert a.backward.any() and (a.conv_width > 0).sum() == sum(o.kind == ops.CONV for o in t.ops)
