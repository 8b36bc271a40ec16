"""Run by torchrun (2 workers) from test_dist_worker_failures.py: rank 0 all-reduces 10 floats, rank 1 twenty.

gloo aborts the process (a C++ exception on its thread) with "Received data size doesn't match expected size".
"""

import torch
import torch.distributed as dist

from kpbench.train.launch import enter_worker

enter_worker(stdout_too=True)
dist.init_process_group("gloo")
dist.all_reduce(torch.ones(10 if dist.get_rank() == 0 else 20))
dist.all_reduce(torch.ones(1))
