"""The NCCL path on a machine with two or more GPUs (skipped elsewhere; CI has none).

The code path is the one the gloo tests cover (same collectives through torch.distributed); what
this adds is CUDA tensors, NCCL, and the check that nothing synchronises the host with the device
in the forward or the backward (torch.cuda.set_sync_debug_mode("error") around each call).
"""

import pytest
import torch
import torch.distributed as dist

from ._ranks import Ranks
from .test_vocab_parallel import CE_CASES, LINEAR_CASES, case_cross_entropy, case_linear_cross_entropy

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        torch.cuda.device_count() < 2 or not dist.is_nccl_available(), reason="needs two CUDA devices and NCCL"
    ),
]


@pytest.fixture(scope="module")
def nccl_ranks():
    pool = Ranks(2, backend="nccl")
    pool.wait_ready()
    yield pool
    pool.close()


@pytest.mark.parametrize(
    "case",
    [
        "weights and ignored targets",
        "z-loss and smoothing, none, an in-range ignore_index",
        "probabilities, weights, smoothing, z-loss",
        "bf16 weights, smoothing, z-loss",
    ],
)
def test_vocab_parallel_cross_entropy_on_nccl_without_host_sync(nccl_ranks, case):
    nccl_ranks.run(case_cross_entropy, {**CE_CASES[case], "device": "cuda"}, (3, 5))


@pytest.mark.parametrize(
    "case", ["weights, ignored targets, smoothing, sum", "z-loss and weights, none", "bf16 weights, smoothing"]
)
def test_vocab_parallel_linear_cross_entropy_on_nccl_without_host_sync(nccl_ranks, case):
    nccl_ranks.run(case_linear_cross_entropy, {**LINEAR_CASES[case], "device": "cuda"}, (3, 5))
