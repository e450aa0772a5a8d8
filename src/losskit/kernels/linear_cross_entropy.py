"""The chunk step of :func:`losskit.functional.linear_cross_entropy` by the fused cross-entropy kernels.

The functional walks the tokens in chunks; for each chunk of logits ``x_c W^T + b`` it asks for the
``"linear_cross_entropy_chunk"`` primitive: the loss per row and the gradient of ``sum_i s_i loss_i``
with respect to the chunk's logits. Here the forward kernel reads the logits once (loss and
log-sum-exp per row) and the backward kernel reads them again and overwrites them with the gradient
(no second buffer). Extra memory: one chunk of logits plus the gradients themselves.
"""

import torch
from torch import Tensor

from . import _dispatch
from ._triton import can_run
from .cross_entropy import _DTYPES

__all__ = ["linear_cross_entropy_chunk"]


def _supports(
    logits: Tensor, target: Tensor, weight, ignore_index, label_smoothing, row_scale, *, z_loss, softcap
) -> bool:
    """Class-index targets and 2-D float32/bfloat16/float16 logits on a device Triton can run on (the other
    arguments, those of :func:`linear_cross_entropy_chunk`, are named so that an unknown one is a TypeError)."""
    return not target.is_floating_point() and logits.dtype in _DTYPES and logits.dim() == 2 and can_run(logits)


@_dispatch.register("linear_cross_entropy_chunk", supports=_supports)
def linear_cross_entropy_chunk(
    logits: Tensor, target: Tensor, weight, ignore_index, label_smoothing, row_scale, *, z_loss, softcap
) -> tuple[Tensor, Tensor | None]:
    """(loss per row in float32, the gradient of ``sum_i row_scale_i loss_i`` written over ``logits``); the
    arguments are those of :func:`losskit.functional._primitives.cross_entropy_rows_and_grad`, the formula
    this kernel stands in for."""
    x3 = logits.unsqueeze(-1)  # (rows, C, 1): a view, C contiguous
    w = None if weight is None else weight.to(device=logits.device, dtype=torch.float32).contiguous()
    zeta, cap = float(z_loss), float(softcap or 0.0)
    rows, m, logl, _ = torch.ops.losskit.cross_entropy_fwd(
        x3, target, w, ignore_index, label_smoothing, zeta, cap, True
    )
    if row_scale is None:
        return rows, None
    torch.ops.losskit.cross_entropy_bwd_(
        row_scale.float(), x3, target, w, m, logl, ignore_index, label_smoothing, zeta, cap
    )
    return rows, logits
