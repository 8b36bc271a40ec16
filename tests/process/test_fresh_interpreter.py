"""What only a fresh interpreter shows: which packages importing an area pulls in (this test process
has imported everything already), and the exit status of `python -m kpbench.cloud.transfer`, the
command a cloud task runs last."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_importing_kpbench_data_loads_neither_torch_nor_pandas():
    code = "import sys, kpbench.data; print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"
    assert _python(code).strip() == "[]"


def test_the_cost_package_does_not_import_torch():
    assert _python("import sys, kpbench.cost, kpbench.cli.cost; print('torch' in sys.modules)").strip() == "False"


def test_the_bench_package_does_not_import_cost():
    code = ("import sys, kpbench.bench.runner, kpbench.bench.worker, kpbench.bench.export, kpbench.bench.output; "
            "print(sorted(m for m in sys.modules if m.startswith('kpbench.cost')))")
    assert _python(code).strip() == "[]"


def test_the_remote_side_command_fails_when_there_is_nothing_to_send(tmp_path):
    r = subprocess.run([sys.executable, "-m", "kpbench.cloud.transfer", "emit", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 3 and "no result files" in r.stderr
