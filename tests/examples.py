"""Valid random inputs for every catalog loss: ``EXAMPLES[name](generator) -> (args, kwargs)``.

The floating tensors in ``args`` that require grad are the differentiable inputs (float64, so that
``gradcheck`` applies). The catalog-wide guarantee tests iterate :mod:`losskit.catalog` and fail for
a loss that has no factory here, so a new loss is covered the day it lands.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Example = Callable[[torch.Generator], tuple[tuple, dict]]
EXAMPLES: dict[str, Example] = {}


def example(name: str):
    def deco(fn: Example) -> Example:
        EXAMPLES[name] = fn
        return fn

    return deco


def inputs(name: str, seed: int = 0) -> tuple[list, dict]:
    """``(args, kwargs)`` of the factory of ``name`` with a generator seeded by ``seed``."""
    g = torch.Generator().manual_seed(seed)
    args, kwargs = EXAMPLES[name](g)
    return list(args), dict(kwargs)


def randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> Tensor:
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).requires_grad_()


def class_weight(g: torch.Generator, c: int) -> Tensor:
    return torch.rand(c, generator=g, dtype=torch.float64) + 0.5


def signs(g: torch.Generator, n: int) -> Tensor:
    return torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1


def binary(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randint(0, 2, shape, generator=g).to(torch.float64)


# ---- cross-entropy -------------------------------------------------------------------------------


@example("cross_entropy")
def _(g):
    target = torch.randint(0, 5, (4, 3), generator=g)
    target[0, 0] = -100
    return (randn(g, 4, 5, 3), target), {"weight": class_weight(g, 5), "label_smoothing": 0.1}


@example("nll_loss")
def _(g):
    log_probs = torch.log_softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1).requires_grad_()
    target = torch.randint(0, 4, (6,), generator=g)
    target[0] = -100
    return (log_probs, target), {"weight": class_weight(g, 4)}


@example("generalized_cross_entropy")
def _(g):
    target = torch.randint(0, 5, (6, 2), generator=g)
    target[0, 0] = -100
    return (randn(g, 6, 5, 2), target), {"q": 0.7, "weight": class_weight(g, 5)}


@example("linear_cross_entropy")
def _(g):
    x, w, b = randn(g, 7, 5), randn(g, 11, 5), randn(g, 11)
    y = torch.randint(0, 11, (7,), generator=g)
    y[2] = -100
    return (x, w, y), {"linear_bias": b, "chunk_size": 3}


# ---- binary ----------------------------------------------------------------------------------------


@example("binary_cross_entropy_with_logits")
def _(g):
    return (randn(g, 6, 3), binary(g, 6, 3)), {"pos_weight": class_weight(g, 3), "label_smoothing": 0.05}


@example("binary_cross_entropy")
def _(g):
    probs = torch.rand(6, 3, generator=g, dtype=torch.float64).mul(0.98).add(0.01).requires_grad_()
    return (probs, binary(g, 6, 3)), {"weight": class_weight(g, 3)}


# ---- focal and Poly-1 ---------------------------------------------------------------------------


def _multilabel(g, **kwargs):
    return (randn(g, 4, 3, 2, scale=2.0), binary(g, 4, 3, 2)), kwargs


def _multiclass(g, **kwargs):
    return (randn(g, 5, 4, 3, scale=2.0), torch.randint(0, 4, (5, 3), generator=g)), kwargs


EXAMPLES["sigmoid_focal_loss"] = lambda g: _multilabel(g, alpha=0.25, gamma=2.0)
EXAMPLES["poly1_sigmoid_focal_loss"] = lambda g: _multilabel(g, epsilon=1.0, gamma=2.0)
EXAMPLES["asymmetric_loss"] = lambda g: _multilabel(g, gamma_pos=1.0, gamma_neg=4.0, clip=0.05)
EXAMPLES["binary_focal_loss"] = lambda g: (
    (torch.rand(4, 3, 2, generator=g, dtype=torch.float64).mul(0.98).add(0.01).requires_grad_(), binary(g, 4, 3, 2)),
    {"alpha": 0.25, "gamma": 2.0},
)
EXAMPLES["focal_loss"] = lambda g: _multiclass(
    g, gamma=2.0, alpha=torch.tensor([0.5, 1.0, 1.5, 1.0], dtype=torch.float64)
)
EXAMPLES["asymmetric_single_label_loss"] = lambda g: _multiclass(g, gamma_pos=1.0, gamma_neg=4.0, label_smoothing=0.1)
EXAMPLES["poly1_cross_entropy"] = lambda g: _multiclass(g, epsilon=1.0)
EXAMPLES["poly1_focal_loss"] = lambda g: _multiclass(g, epsilon=1.0, gamma=2.0)


# ---- segmentation ---------------------------------------------------------------------------------


def _seg_multiclass(g):
    return (randn(g, 2, 3, 4, 5), torch.randint(0, 3, (2, 4, 5), generator=g)), {"mode": "multiclass"}


def _seg_multilabel(g):
    target = (torch.rand(2, 3, 6, generator=g, dtype=torch.float64) < 0.5).to(torch.float64)
    target[:, :, 0] = 1.0  # every class present, so no ratio is excluded
    return (randn(g, 2, 3, 6), target), {"mode": "multilabel", "per_image": True}


def _seg_binary(g):
    target = (torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64) < 0.4).to(torch.float64)
    return (randn(g, 3, 1, 4, 4), target), {"mode": "binary", "smooth": 1.0}


EXAMPLES["dice_loss"] = _seg_multiclass
EXAMPLES["tversky_loss"] = _seg_multilabel
EXAMPLES["focal_tversky_loss"] = _seg_multiclass
EXAMPLES["jaccard_loss"] = _seg_binary
EXAMPLES["generalized_dice_loss"] = lambda g: (lambda a: (a[0], {**a[1], "per_image": True}))(_seg_multiclass(g))
EXAMPLES["lovasz_softmax_loss"] = _seg_multiclass
EXAMPLES["lovasz_hinge_loss"] = lambda g: (_seg_binary(g)[0], {"mode": "binary"})
EXAMPLES["mcc_loss"] = lambda g: (_seg_binary(g)[0], {"mode": "binary"})


# ---- regression ---------------------------------------------------------------------------------------


def _pair(g, **kwargs):
    return (randn(g, 8, 5), torch.randn(8, 5, generator=g, dtype=torch.float64)), kwargs


EXAMPLES["mse_loss"] = _pair
EXAMPLES["l1_loss"] = _pair
EXAMPLES["huber_loss"] = lambda g: ((lambda a: (a[0], a[1] * 2))(_pair(g)[0]), {"delta": 0.7})
EXAMPLES["smooth_l1_loss"] = lambda g: ((lambda a: (a[0], a[1] * 2))(_pair(g)[0]), {"beta": 0.5})


@example("gaussian_nll_loss")
def _(g):
    x = randn(g, 8, 5)
    y = torch.randn(8, 5, generator=g, dtype=torch.float64)
    var = (torch.rand(8, 1, generator=g, dtype=torch.float64) + 0.1).requires_grad_()
    return (x, y, var), {"full": True}


EXAMPLES["log_cosh_loss"] = lambda g: ((randn(g, 8, 5), 3 * torch.randn(8, 5, generator=g, dtype=torch.float64)), {})


@example("poisson_nll_loss")
def _(g):
    x = randn(g, 8, 5, scale=0.5)
    y = torch.poisson(torch.full((8, 5), 2.0, dtype=torch.float64), generator=g)
    return (x, y), {"full": True}


# ---- margin --------------------------------------------------------------------------------------------


@example("soft_margin_loss")
def _(g):
    return (randn(g, 6, 3), binary(g, 6, 3) * 2 - 1), {}


@example("multilabel_soft_margin_loss")
def _(g):
    return (randn(g, 6, 4), binary(g, 6, 4)), {"weight": class_weight(g, 4)}


@example("multi_margin_loss")
def _(g):
    return (randn(g, 6, 4), torch.randint(0, 4, (6,), generator=g)), {
        "p": 2,
        "margin": 1.5,
        "weight": class_weight(g, 4),
    }


@example("multilabel_margin_loss")
def _(g):
    target = torch.tensor([[3, 0, -1, 1], [1, -1, 0, 0], [0, 1, 2, -1], [2, -1, -1, -1]])
    return (randn(g, 4, 4), target), {}


@example("margin_ranking_loss")
def _(g):
    return (randn(g, 16), randn(g, 16), signs(g, 16)), {"margin": 0.5}


@example("hinge_embedding_loss")
def _(g):
    d = (torch.rand(16, generator=g, dtype=torch.float64) * 2).requires_grad_()
    return (d, signs(g, 16)), {"margin": 1.0}


@example("cosine_embedding_loss")
def _(g):
    return (randn(g, 8, 6), randn(g, 8, 6), signs(g, 8)), {"margin": 0.2}


EXAMPLES["triplet_margin_loss"] = lambda g: (
    (randn(g, 8, 6), randn(g, 8, 6), randn(g, 8, 6)),
    {"margin": 2.0, "swap": True},
)
EXAMPLES["triplet_margin_with_distance_loss"] = lambda g: (
    (randn(g, 8, 6), randn(g, 8, 6), randn(g, 8, 6)),
    {"margin": 2.0},
)


@example("hinge_loss")
def _(g):
    return (randn(g, 6, 3), binary(g, 6, 3)), {"labels": "01"}


@example("squared_hinge_loss")
def _(g):
    return (randn(g, 6, 3), binary(g, 6, 3) * 2 - 1), {"margin": 0.8}


@example("categorical_hinge_loss")
def _(g):
    return (randn(g, 6, 4, 2), torch.randint(0, 4, (6, 2), generator=g)), {"margin": 1.5}


# ---- divergences -------------------------------------------------------------------------------------


@example("kl_div")
def _(g):
    log_q = torch.log_softmax(torch.randn(5, 4, generator=g, dtype=torch.float64), 1).requires_grad_()
    p = torch.softmax(torch.randn(5, 4, generator=g, dtype=torch.float64), 1)
    return (log_q, p), {"reduction": "batchmean"}


@example("generalized_kl_divergence")
def _(g):
    x = (torch.rand(5, 4, generator=g, dtype=torch.float64) * 2 + 0.1).requires_grad_()
    t = torch.rand(5, 4, generator=g, dtype=torch.float64) * 3
    return (x, t), {"reduction": "batchmean"}


@example("jsd_cross_entropy")
def _(g):
    # (S, M, C) layout: the guarantees resize dim 0, i.e. the number of splits
    return (randn(g, 3, 4, 5), torch.randint(0, 5, (4,), generator=g)), {
        "num_splits": None,
        "alpha": 12.0,
        "label_smoothing": 0.1,
    }
