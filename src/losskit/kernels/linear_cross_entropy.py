"""Triton path of :func:`losskit.functional.linear_cross_entropy`: the chunk loop of the functional,
with each chunk's cross-entropy done by the fused kernels of :mod:`losskit.kernels.cross_entropy`.

Per chunk of tokens: ``logits = x_c W^T + b`` (one GEMM, input dtype); the forward kernel reads the
logits once (loss and logsumexp per row); the backward kernel reads them again and overwrites them
with ``dloss/dlogits`` (no second buffer); then ``dx_c = dz W`` and ``dW += dz^T x_c`` (two GEMMs).
Extra memory: one chunk of logits plus the gradients themselves.
"""

from typing import Optional

import torch
from torch import Tensor

from . import _dispatch
from ._triton_util import HAS_TRITON, can_run

__all__: list[str] = []

# Logits per chunk on this path (elements, in the input dtype): 2**26 bf16 values = 128 MiB.
_CHUNK_ELEMENTS = 1 << 26


def _ce_chunk_triton(logits: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int,
                     label_smoothing: float, row_scale: Optional[Tensor]) -> tuple[Tensor, Optional[Tensor]]:
    """(loss per row fp32, gradient of sum_i scale_i loss_i written over ``logits``) for one chunk."""
    from . import cross_entropy as ce  # registers the custom ops

    x3 = logits.unsqueeze(-1)  # (rows, C, 1): a view, C contiguous
    w = None if weight is None else weight.to(device=logits.device, dtype=torch.float32).contiguous()
    rows, m, logl, _ = torch.ops.losskit.cross_entropy_fwd(x3, target, w, ignore_index, label_smoothing, 0.0, 0.0,
                                                           True)
    if row_scale is None:
        return rows, None
    torch.ops.losskit.cross_entropy_bwd_(row_scale.float(), x3, target, w, m, logl, ignore_index, label_smoothing,
                                         0.0, 0.0)
    del ce
    return rows, logits


def _entry(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias=None, weight=None, reduction="mean",
           ignore_index=-100, label_smoothing=0.0, chunk_size=None, all_ignored="nan", **options):
    if options:
        return None  # a keyword this path does not know
    if target.is_floating_point() or not can_run(input):
        return None  # probability targets: PyTorch path
    if input.dtype not in (torch.float32, torch.bfloat16, torch.float16) or linear_weight.dim() != 2:
        return None
    if weight is not None and weight.requires_grad:
        return None
    from ..functional._linear import _default_chunk, _linear_cross_entropy_chunked

    n, c = input.shape[0], linear_weight.shape[0]
    chunk = chunk_size or _default_chunk(n, c, _CHUNK_ELEMENTS)
    return _linear_cross_entropy_chunked(input, linear_weight, linear_bias, target, weight, int(ignore_index),
                                         float(label_smoothing), reduction, all_ignored, chunk, _ce_chunk_triton)


if HAS_TRITON:
    _dispatch.register_kernel("linear_cross_entropy", _entry)
