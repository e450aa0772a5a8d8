r"""torchvision's ``torchvision.ops.sigmoid_focal_loss``, computed by losskit.

Change ``from torchvision.ops import sigmoid_focal_loss`` to
``from losskit.compat.torchvision import sigmoid_focal_loss``: same positional order, same defaults,
the same numbers (0/1 or soft targets), and the call gains losskit's checks (shapes,
logits-vs-probabilities, target range) and, for integer or bool 0/1 targets, its fused kernel on CUDA. The loss is :func:`losskit.functional.sigmoid_focal_loss`;
see its docstring for the formula and the likelihood view.

Defaults next to losskit's (``docs/migrating.md`` has the full table):

============= ====================== =============================================
option        torchvision (here)     :func:`losskit.functional.sigmoid_focal_loss`
============= ====================== =============================================
``alpha``     ``0.25`` (``-1``: off) ``None`` (off)
``gamma``     ``2``                  ``2.0``
``reduction`` ``"none"``             ``"mean"``
soft targets  ``BCE·(1 - p_t)^γ``    the expectation over ``y ~ Bernoulli(t)``
============= ====================== =============================================

For 0/1 targets the two formulas are the same number; for soft targets in (0, 1) losskit's default is
the expected focal loss (linear in the target), torchvision's the BCE times a focusing factor of the
soft ``p_t`` -- losskit's ``soft_target="peers"``, which this drop-in passes for floating targets.
"""

from __future__ import annotations

from torch import Tensor

from ..functional import sigmoid_focal_loss as _sigmoid_focal_loss

__all__ = ["sigmoid_focal_loss"]


def sigmoid_focal_loss(
    inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2, reduction: str = "none"
) -> Tensor:
    r"""torchvision's sigmoid focal loss (RetinaNet): :math:`-\alpha_t (1-p_t)^\gamma \log p_t` per element.

    Args:
        inputs: logits of any shape.
        targets: targets of the same shape (float): 0/1 labels, or soft targets in [0, 1], on which
            torchvision's ``BCE (1 - p_t)^gamma`` is kept (losskit's ``soft_target="peers"``).
        alpha: weight of the positive term in [0, 1] (negatives get ``1 - alpha``); a negative value
            (torchvision's ``-1``) turns it off. Default 0.25 (losskit's default is off).
        gamma: focusing exponent, ``>= 0``.
        reduction: ``"none"`` (default, the elementwise loss), ``"mean"`` over every element or ``"sum"``.

    Returns:
        The loss reduced as ``reduction`` says, in the dtype of ``inputs``.

    Example:
        >>> import torch
        >>> x, t = torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])
        >>> sigmoid_focal_loss(x, t, 0.25, 2, "sum")
        tensor(0.0174)
        >>> from losskit.functional import sigmoid_focal_loss as lk
        >>> lk(x, t, alpha=0.25, gamma=2.0, reduction="sum")
        tensor(0.0174)
    """
    balance: float | None = alpha
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha < 0:
        balance = None  # torchvision: alpha < 0 means no class-balance factor
    # torchvision's BCE (1 - p_t)^gamma on a soft p_t is losskit's soft_target="peers"; integer or bool targets
    # are 0/1, where both forms are one number, so they keep the default form (which the CUDA kernel serves)
    form = "peers" if isinstance(targets, Tensor) and targets.is_floating_point() else "expected"
    return _sigmoid_focal_loss(inputs, targets, alpha=balance, gamma=gamma, soft_target=form, reduction=reduction)
