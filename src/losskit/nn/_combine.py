"""``CombinedLoss``: a weighted sum of named losses; see :func:`losskit.functional.combined_loss`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch  # noqa: F401  (used in the example)
from torch import Tensor, nn

from .._options import Precomputed, combination_parts
from ..functional import combined_loss_components

__all__ = ["CombinedLoss"]


class CombinedLoss(nn.Module):
    r"""Weighted sum of named losses: :math:`L = \sum_k \lambda_k L_k(x, y)`.

    ``forward`` returns the total (a plain tensor). The unweighted parts of the last call are in
    ``module.last_components`` (a dict of detached tensors, for logging);
    ``module.components(x, y)`` returns ``(total, {name: L_k})`` with the parts still attached.

    Parts that are modules (also inside :func:`precomputed`) are registered as sub-modules, so
    their buffers follow ``.to()`` and ``state_dict``. Parts wrapped in :func:`precomputed` share
    one ``log_softmax`` (or ``logsigmoid``) of the logits per call; see
    :mod:`losskit.functional._combine` for the protocol.

    Args:
        losses: mapping ``name -> part`` (a loss module, a function ``f(logits, target)``, or
            ``precomputed(loss, takes="probs"|"log_probs", activation=..., **kwargs)``).
        weights: mapping ``name -> lambda`` (missing names weigh 1). Stored in ``module.weights``
            (a plain dict you may change between steps, e.g. for a schedule).

    Example:
        >>> import torch.nn.functional as F
        >>> from losskit.functional import precomputed
        >>> from losskit.nn import FocalLoss
        >>> loss = CombinedLoss({"ce": precomputed(F.nll_loss, takes="log_probs"), "focal": FocalLoss()},
        ...                     weights={"focal": 2.0})
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> round(loss(logits, torch.tensor([0, 2])).item(), 4)
        0.2208
        >>> {k: round(v.item(), 4) for k, v in loss.last_components.items()}
        {'ce': 0.2056, 'focal': 0.0076}
    """

    last_components: dict[str, Tensor]

    def __init__(self, losses: Mapping[str, Callable], weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        self.weights = combination_parts(losses, weights)
        self._parts: dict[str, Callable] = dict(losses)
        self.parts = nn.ModuleDict()
        for name, part in losses.items():
            inner = part.loss if isinstance(part, Precomputed) else part
            if isinstance(inner, nn.Module):
                self.parts[name] = inner
        self.last_components = {}

    def components(self, input: Tensor, target: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {name: unweighted part})``; also updates ``last_components``."""
        total, parts = combined_loss_components(input, target, self._parts, weights=self.weights)
        self.last_components = {k: v.detach() for k, v in parts.items()}
        return total, parts

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self.components(input, target)[0]

    def extra_repr(self) -> str:
        return f"weights={self.weights!r}"
