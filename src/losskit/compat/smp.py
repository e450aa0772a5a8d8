r"""segmentation_models_pytorch's losses (``smp.losses``), computed by losskit.

Change ``from segmentation_models_pytorch.losses import DiceLoss`` to
``from losskit.compat.smp import DiceLoss``: smp's constructor arguments and defaults (``mode``
``"binary"`` / ``"multiclass"`` / ``"multilabel"``, ``from_logits=True``, ``smooth=0``,
``eps=1e-7``, ``ignore_index``, ``classes``), shapes and reductions; the losses are
:func:`losskit.functional.dice_loss`, :func:`~losskit.functional.jaccard_loss`,
:func:`~losskit.functional.tversky_loss` and :func:`~losskit.functional.sigmoid_focal_loss` (their
docstrings give the formulas), with smp's conventions converted around them.

smp's conventions next to losskit's (``docs/migrating.md`` has the full table):

* one ratio per class over the whole batch (losskit's default, ``per_image=False``);
* a class absent from the batch's target counts as loss 0 **in** the mean over classes (smp);
  losskit leaves it out of the mean (``empty="exclude"``): here the mean of losskit's
  ``reduction="none"`` output, whose absent classes are 0, over every class (or over ``classes``);
* ``eps`` clamps the denominator in both; a ratio with denominator below ``eps`` is 1 in losskit
  (both masks empty) -- only absent classes reach it, and both count those as 0;
* ``TverskyLoss(gamma)`` raises the *mean* over classes to ``gamma`` (smp), unlike
  :func:`losskit.functional.focal_tversky_loss`, which raises each class's loss;
* ``FocalLoss`` is the sigmoid focal loss per element in every mode; in ``"multiclass"`` mode it is
  one-vs-rest per class and smp *adds* the per-class means, so ``"mean"`` is ``C`` times losskit's
  mean over elements; ignored positions are dropped (as losskit does), ``"none"`` returns the
  kept positions flattened (the class sum per pixel in multiclass mode, ``(N, *)`` without ``ignore_index``).

``log_loss=True`` is losskit's ``log_loss``. ``LovaszLoss`` is :func:`~losskit.functional.lovasz_softmax_loss`
(multiclass) or :func:`~losskit.functional.lovasz_hinge_loss` over an image's channels flattened together
(binary, multilabel). ``FocalLoss(normalized=True)`` and ``reduced_threshold`` are
:func:`~losskit.functional.sigmoid_focal_loss`'s ``normalized`` and ``reduced_threshold`` (with
``soft_target="peers"``); in ``"multiclass"`` mode each class is normalised by its own focal terms, as smp's
loop over classes does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .. import functional as LF

__all__ = [
    "DiceLoss",
    "JaccardLoss",
    "TverskyLoss",
    "FocalLoss",
    "LovaszLoss",
    "BINARY_MODE",
    "MULTICLASS_MODE",
    "MULTILABEL_MODE",
]

BINARY_MODE, MULTICLASS_MODE, MULTILABEL_MODE = "binary", "multiclass", "multilabel"
_MODES = (BINARY_MODE, MULTICLASS_MODE, MULTILABEL_MODE)


def _accepts(fn: Callable, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def _check_mode(cls: str, mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"{cls}: mode={mode!r} is not valid: use 'binary', 'multiclass' or 'multilabel' (smp's)")


class _Overlap(nn.Module):
    """smp's overlap losses: their shared signature (DiceLoss's, JaccardLoss's) and conventions."""

    _name = "DiceLoss"
    _fn: Callable = staticmethod(LF.dice_loss)

    def __init__(
        self,
        mode: str,
        classes: list[int] | None = None,
        log_loss: bool = False,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: int | None = None,
        eps: float = 1e-7,
    ) -> None:
        super().__init__()
        _check_mode(self._name, mode)
        if classes is not None and mode == BINARY_MODE:
            raise ValueError(
                f"{self._name}: classes={classes!r} selects channels, but mode='binary' has one; "
                "drop classes (smp's rule)"
            )
        self.mode, self.from_logits, self.smooth, self.eps = mode, from_logits, float(smooth), float(eps)
        self.log_loss, self.ignore_index = log_loss, ignore_index
        self.extra: dict = {}  # the options of a subclass's loss (TverskyLoss: alpha, beta)
        self.classes = None if classes is None else torch.as_tensor(classes, dtype=torch.long)
        if log_loss and not _accepts(self._fn, "log_loss"):
            raise NotImplementedError(
                f"{self._name}: log_loss=True (-log of the score) has no losskit equivalent yet in losskit.functional; "
                "use log_loss=False (1 - score)"
            )

    def _aggregate(self, loss: Tensor) -> Tensor:
        return loss.mean()

    def forward(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        kw = dict(self.extra)
        if self.log_loss:
            kw["log_loss"] = True
        # smp: one ratio per class over the batch; absent classes are 0 in the mean over classes
        loss = self._fn(
            y_pred,
            y_true,
            mode=self.mode,
            from_logits=self.from_logits,
            ignore_index=self.ignore_index,
            smooth=self.smooth,
            eps=self.eps,
            per_image=False,
            empty="exclude",
            reduction="none",
            **kw,
        )
        if self.classes is not None:
            loss = loss[self.classes.to(loss.device)]
        return self._aggregate(loss)


class DiceLoss(_Overlap):
    r"""smp's ``DiceLoss``: :math:`1 - (2I + s)/(P + T + s)` per class over the batch, averaged over classes
    (absent classes counting 0). Computed by :func:`losskit.functional.dice_loss`; see it.

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]], [[0.0, 0.0]]]]), torch.tensor([[[0, 1]]])
        >>> DiceLoss("multiclass")(x, y)
        tensor(0.0528)
    """

    _name = "DiceLoss"
    _fn = staticmethod(LF.dice_loss)


class JaccardLoss(_Overlap):
    r"""smp's ``JaccardLoss``: :math:`1 - (I + s)/(P + T - I + s)`; as :class:`DiceLoss` otherwise.
    Computed by :func:`losskit.functional.jaccard_loss`.

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]], [[0.0, 0.0]]]]), torch.tensor([[[0, 1]]])
        >>> JaccardLoss("multiclass")(x, y)
        tensor(0.0978)
    """

    _name = "JaccardLoss"
    _fn = staticmethod(LF.jaccard_loss)


class TverskyLoss(_Overlap):
    r"""smp's ``TverskyLoss``: :math:`\big(\operatorname{mean}_c [1 - (I + s)/(I + \alpha FP + \beta FN + s)]\big)^\gamma`.

    Computed by :func:`losskit.functional.tversky_loss`; smp's ``gamma`` raises the mean over
    classes (``gamma=1``, the default, is the plain Tversky loss).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]], [[0.0, 0.0]]]]), torch.tensor([[[0, 1]]])
        >>> TverskyLoss("multiclass", alpha=0.3, beta=0.7)(x, y)
        tensor(0.0677)
    """

    _name = "TverskyLoss"
    _fn = staticmethod(LF.tversky_loss)

    def __init__(
        self,
        mode: str,
        classes: list[int] | None = None,
        log_loss: bool = False,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: int | None = None,
        eps: float = 1e-7,
        alpha: float = 0.5,
        beta: float = 0.5,
        gamma: float = 1.0,
    ) -> None:
        super().__init__(mode, classes, log_loss, from_logits, smooth, ignore_index, eps)
        self.extra = dict(alpha=alpha, beta=beta)
        self.alpha, self.beta, self.gamma = alpha, beta, float(gamma)

    def _aggregate(self, loss: Tensor) -> Tensor:
        return loss.mean() ** self.gamma  # smp: the mean over classes, raised to gamma


class FocalLoss(nn.Module):
    r"""smp's ``FocalLoss``: the sigmoid focal loss per element (one-vs-rest per class in multiclass mode).

    Computed by :func:`losskit.functional.sigmoid_focal_loss` (see it). ``reduction``: ``"mean"``
    over the kept elements (multiclass: the sum over classes of each class's mean over kept pixels,
    i.e. ``C`` × losskit's mean), ``"sum"``, ``"batchwise_mean"`` (smp's sum over dim 0: of the
    flattened loss -- the sum -- in binary / multilabel mode or with ``ignore_index``, else of each
    class's ``(N, *)`` loss, added over classes) or ``"none"`` (binary / multilabel: the kept positions, flattened; multiclass: the class sum
    per pixel, ``(N, *)``, or flattened over the kept pixels with ``ignore_index``). With
    ``from_logits=False`` the probabilities are clamped to ``[eps, 1 - eps]`` and turned into logits
    as smp does (``log(p / (1 - p))``; ``log p`` in multiclass mode). ``normalized=True`` divides by the
    sum of the focal terms (per class in multiclass mode) and ``reduced_threshold=r`` replaces the focal
    term by 1 where :math:`p_t < r` and by :math:`((1-p_t)/r)^\gamma` elsewhere (smp's
    ``focal_loss_with_logits``; losskit's ``normalized`` / ``reduced_threshold`` with ``soft_target="peers"``).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]], [[0.0, 0.0]]]]), torch.tensor([[[0, 1]]])
        >>> FocalLoss("multiclass")(x, y)
        tensor(0.1769)
    """

    def __init__(
        self,
        mode: str,
        alpha: float | None = None,
        gamma: float | None = 2.0,
        ignore_index: int | None = None,
        from_logits: bool = True,
        eps: float = 1e-7,
        reduction: str | None = "mean",
        normalized: bool = False,
        reduced_threshold: float | None = None,
    ) -> None:
        super().__init__()
        _check_mode("FocalLoss", mode)
        if reduction not in ("mean", "sum", "batchwise_mean", "none"):
            raise ValueError(
                f"FocalLoss: reduction={reduction!r} is not valid: use 'mean', 'sum', 'batchwise_mean' "
                "or 'none' (smp's)"
            )
        self.mode, self.alpha, self.gamma = mode, alpha, 0.0 if gamma is None else float(gamma)
        self.ignore_index, self.from_logits, self.eps, self.reduction = ignore_index, from_logits, eps, reduction
        # smp's focal term is (1 - p_t)^gamma of the peers' form; normalized / reduced_threshold are its options
        self.options: dict = dict(soft_target="peers", normalized=True) if normalized else {}
        if reduced_threshold is not None:
            self.options.update(soft_target="peers", reduced_threshold=float(reduced_threshold))

    def forward(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        if not self.from_logits:
            p = y_pred.clamp(self.eps, 1 - self.eps)
            y_pred = torch.log(p) if self.mode == MULTICLASS_MODE else torch.log(p / (1 - p))
        red = "sum" if self.reduction in ("sum", "batchwise_mean") else self.reduction
        ig = self.ignore_index
        if self.mode == MULTICLASS_MODE:
            valid = None if ig is None else y_true != ig
            lab = y_true if valid is None else torch.where(valid, y_true, 0)
            # one-vs-rest targets (N, C, *); ignored pixels marked -1 in every channel
            t = torch.nn.functional.one_hot(lab.long(), y_pred.shape[1]).movedim(-1, 1).to(y_pred.dtype)
            if valid is not None:
                t = torch.where(valid.unsqueeze(1), t, -1.0)
            if not self.options.get("normalized"):
                return self._one_vs_rest(y_pred, t, valid, red)
            # smp normalises each class's focal loss by that class's own focal terms: one class at a time
            parts = [self._one_vs_rest(y_pred[:, k : k + 1], t[:, k : k + 1], valid, red) for k in range(t.shape[1])]
            return torch.stack(parts).sum(0)
        out = LF.sigmoid_focal_loss(
            y_pred,
            y_true.to(y_pred.dtype).reshape(y_pred.shape),
            alpha=self.alpha,
            gamma=self.gamma,
            ignore_index=ig,
            reduction=red,
            **self.options,
        )
        if red == "none":
            out = out.reshape(-1)
            return out if ig is None else out[(y_true != ig).reshape(-1)]
        return out

    def _one_vs_rest(self, y_pred: Tensor, t: Tensor, valid: Tensor | None, red: str) -> Tensor:
        """smp's multiclass focal loss of the classes in ``y_pred``'s dim 1 (targets ``t``, -1 where ignored)."""
        c = y_pred.shape[1]
        out = LF.sigmoid_focal_loss(
            y_pred,
            t,
            alpha=self.alpha,
            gamma=self.gamma,
            ignore_index=None if valid is None else -1.0,
            reduction=red,
            **self.options,
        )
        if red == "mean":
            return c * out  # smp adds the C per-class means over kept pixels
        if self.reduction == "batchwise_mean" and valid is None:
            # smp: each class's (N, *) loss summed over dim 0, added over classes
            kw = dict(alpha=self.alpha, gamma=self.gamma, reduction="none", **self.options)
            return LF.sigmoid_focal_loss(y_pred, t, **kw).sum((0, 1))
        if red == "none":
            out = out.sum(1)  # smp adds the per-class (N, *) losses (the kept pixels, flattened, with ignore_index)
            return out if valid is None else out[valid]
        return out


class LovaszLoss(nn.Module):
    r"""smp's ``LovaszLoss`` (Berman et al. 2018): the Lovász extension of the Jaccard loss.

    ``"multiclass"``: :func:`losskit.functional.lovasz_softmax_loss` (softmax over dim 1, the classes
    present in the target); ``"binary"`` and ``"multilabel"``: :func:`losskit.functional.lovasz_hinge_loss`
    on the logits, with -- as smp -- one hinge over **every channel and pixel** of an image
    (``per_image=True``) or of the whole batch (``per_image=False``, smp's default), not one per
    channel. Ignored pixels are dropped; ``per_image=True`` averages over every image (an image whose
    pixels are all ignored counts 0, as smp's). As in smp, ``from_logits`` is accepted and changes
    nothing (the hinge takes logits, the multiclass form applies the softmax).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]], [[0.0, 0.0]]]]), torch.tensor([[[0, 1]]])
        >>> LovaszLoss("multiclass")(x, y)
        tensor(0.1332)
    """

    def __init__(
        self, mode: str, per_image: bool = False, ignore_index: int | None = None, from_logits: bool = True
    ) -> None:
        super().__init__()
        _check_mode("LovaszLoss", mode)
        self.mode, self.per_image, self.ignore_index, self.from_logits = mode, per_image, ignore_index, from_logits

    def forward(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        if self.mode == MULTICLASS_MODE:
            loss = LF.lovasz_softmax_loss(
                y_pred, y_true, per_image=self.per_image, ignore_index=self.ignore_index, reduction="none"
            )
        else:
            n = y_pred.shape[0]  # smp flattens the channels of an image into one hinge
            loss = LF.lovasz_hinge_loss(
                y_pred.reshape(n, -1),
                y_true.reshape(n, -1),
                mode="binary",
                per_image=self.per_image,
                ignore_index=self.ignore_index,
                reduction="none",
            )
        return loss.mean()  # smp: the mean over every image (0 for an all-ignored one), or the batch's one loss
