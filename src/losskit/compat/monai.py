r"""MONAI's segmentation losses (``monai.losses``), computed by losskit.

Change ``from monai.losses import DiceLoss`` to ``from losskit.compat.monai import DiceLoss``: MONAI's
constructor arguments and defaults, its ``(N, C, *)`` inputs with ``(N, 1, *)`` label maps
(``to_onehot_y=True``) or one-hot targets, its activations (``sigmoid`` / ``softmax`` /
``other_act``) and its reductions (``"none"`` keeps ``(N, C, 1, ...)``); the losses are
:func:`losskit.functional.dice_loss`, :func:`~losskit.functional.jaccard_loss`,
:func:`~losskit.functional.tversky_loss`, :func:`~losskit.functional.focal_loss`,
:func:`~losskit.functional.sigmoid_focal_loss`, :func:`~losskit.functional.cross_entropy` and
:func:`~losskit.functional.binary_cross_entropy_with_logits` (their docstrings give the formulas and
likelihood views), with MONAI's conventions converted around them.

MONAI's defaults next to losskit's (``docs/migrating.md`` has the full table):

===================== ======================================= =========================================
option                 MONAI (here)                            losskit's overlap losses
===================== ======================================= =========================================
aggregation unit       per image (``batch=False``)             the batch (``per_image=False``)
smoothing              ``smooth_nr = smooth_dr = 1e-5``        ``smooth=0`` (``eps=1e-7`` guard only)
empty classes          every class counted (``1 - s/(P+s)``)   left out of the mean (``empty="exclude"``)
class ``weight``       ``mean(w · l)`` over classes × images   ``Σ w l / Σ w``
focal ``"mean"``       divides by ``C ×`` pixels                divides by pixels
jaccard smoothing      ``(2I + s) / (2U + s)``                 ``(I + s) / (U + s)``: here ``s / 2``
===================== ======================================= =========================================

``squared_pred`` and ``smooth_dr`` map onto losskit's ``squared_pred`` and ``smooth_denominator``;
``GeneralizedDiceLoss``'s ``w_type`` onto :func:`~losskit.functional.generalized_dice_loss`'s
``weighting``. ``FocalLoss(ignore_index=...)`` is MONAI's masked focal loss: ignored pixels weigh 0
(losskit's ``weight`` / ``sample_weight``) and ``"mean"`` divides by the kept pixels.
``DiceCELoss(reduction="none")`` is refused with a ``ValueError``, as MONAI refuses it. ``soft_label=True``
(``DiceLoss``, ``GeneralizedDiceLoss``, ``TverskyLoss``) is the overlap functionals' ``soft_label``: MONAI's L1
intersection ``(Σp + Σt - Σ|p - t|) / 2`` for soft targets. Options losskit does not have yet raise
``NotImplementedError`` naming the option (``FocalLoss(use_softmax=True, reduction="none")`` with soft
targets).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .. import functional as LF
from .._options import WEIGHTING

__all__ = ["DiceLoss", "DiceCELoss", "DiceFocalLoss", "FocalLoss", "TverskyLoss", "GeneralizedDiceLoss"]

_REDUCTIONS = ("none", "mean", "sum")
Weight = Sequence[float] | float | int | Tensor | None


def _accepts(fn: Callable, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def _by_name(fn: Callable, args: dict, **fixed) -> dict:
    """The entries of ``args`` (a constructor's ``locals()``) that ``fn`` takes by name, ``fixed``
    overriding them: every MONAI class spells MONAI's signature once and hands its arguments on."""
    names = inspect.signature(fn).parameters
    return {**{k: v for k, v in args.items() if k in names and k != "self"}, **fixed}


def _same_dims(cls: str, input: Tensor, target: Tensor) -> None:
    if input.dim() != target.dim():
        raise ValueError(
            f"{cls}: input {tuple(input.shape)} and target {tuple(target.shape)} need the same number of "
            "dimensions; pass an (N, 1, *) label map or an (N, C, *) one-hot target"
        )


def _not_yet(cls: str, option: str, hint: str) -> NotImplementedError:
    return NotImplementedError(f"{cls}: {option} has no losskit equivalent yet in losskit.functional; {hint}")


def _check_reduction(cls: str, reduction: str) -> str:
    reduction = getattr(reduction, "value", reduction)  # MONAI's LossReduction enum
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{cls}: reduction={reduction!r} is not valid: use 'none', 'mean' or 'sum' (MONAI's)")
    return reduction


def _as_weight(weight: Weight) -> Tensor | None:
    if weight is None:
        return None
    w = torch.as_tensor(weight, dtype=torch.float64)
    if (w < 0).any():
        raise ValueError(f"weight={weight!r} has a negative value; class weights must be >= 0")
    return w


def _weighting(cls: str, w_type) -> str:
    w_type = getattr(w_type, "value", w_type)  # MONAI's Weight enum
    if w_type not in WEIGHTING:
        raise ValueError(
            f"{cls}: w_type={w_type!r} is not valid: use 'square' (1/T², Sudre et al.), 'simple' (1/T) or "
            "'uniform' (1), with T a class's target volume (MONAI's)"
        )
    return w_type


def _activation(cls: str, sigmoid: bool, softmax: bool, other_act: Callable | None) -> None:
    if int(sigmoid) + int(softmax) > 1:
        raise ValueError(f"{cls}: sigmoid=True and softmax=True are incompatible (MONAI's rule): choose one")
    if other_act is not None and (sigmoid or softmax):
        raise ValueError(f"{cls}: other_act is incompatible with sigmoid=True or softmax=True (MONAI's rule)")
    if other_act is not None and not callable(other_act):
        raise TypeError(f"{cls}: other_act must be callable, got {type(other_act).__name__}")


def _one_hot(target: Tensor, c: int, dtype: torch.dtype) -> Tensor:
    """(N, 1, *) label map -> (N, C, *) one-hot."""
    return torch.nn.functional.one_hot(target[:, 0].long(), c).movedim(-1, 1).to(dtype)


class _Overlap(nn.Module):
    """The shared part of DiceLoss / TverskyLoss / GeneralizedDiceLoss: MONAI's conventions around losskit's overlap losses."""

    _name = "DiceLoss"

    def __init__(
        self,
        *,
        include_background,
        to_onehot_y,
        sigmoid,
        softmax,
        other_act,
        reduction,
        smooth_nr,
        smooth_dr,
        batch,
        soft_label,
        ignore_index,
        weight=None,
        squared_pred=False,
        jaccard=False,
        alpha=None,
        beta=None,
        w_type=None,
    ):
        super().__init__()
        _activation(self._name, sigmoid, softmax, other_act)
        self.reduction = _check_reduction(self._name, reduction)
        self.include_background, self.to_onehot_y = include_background, to_onehot_y
        self.sigmoid, self.softmax, self.other_act = sigmoid, softmax, other_act
        self.squared_pred, self.jaccard, self.batch = squared_pred, jaccard, batch
        self.smooth_nr, self.smooth_dr = float(smooth_nr), float(smooth_dr)
        self.alpha = None if alpha is None else float(alpha)
        self.beta = None if beta is None else float(beta)
        self.soft_label, self.ignore_index = soft_label, ignore_index
        self.w_type = None if w_type is None else _weighting(self._name, w_type)
        if self.w_type is not None:
            self._fn = LF.generalized_dice_loss
        else:
            self._fn = LF.tversky_loss if alpha is not None else (LF.jaccard_loss if jaccard else LF.dice_loss)
        self._extra = {}
        for option, value, what, hint in (
            ("squared_pred", squared_pred, "squared_pred=True (sums of p² in the denominator)", "use squared_pred=False"),
            ("smooth_denominator", self.smooth_nr != self.smooth_dr, f"smooth_nr={smooth_nr} != smooth_dr={smooth_dr}",
             "use smooth_nr == smooth_dr"),
            ("soft_label", soft_label, "soft_label=True (the L1 form of the soft counts)",
             "use soft_label=False (0/1 targets give the same counts)"),
        ):  # fmt: skip
            if value and not _accepts(self._fn, option):
                raise _not_yet(self._name, what, f"{hint}, or monai.losses")
        if squared_pred:
            self._extra["squared_pred"] = True
        if soft_label:  # MONAI's soft_label=True changes the counts only for targets strictly between 0 and 1
            self._extra["soft_label"] = True
        self.class_weight = _as_weight(weight)

    def _smooth(self) -> dict:
        # MONAI's Jaccard is (2I + s_nr) / (2U + s_dr) = (I + s_nr/2) / (U + s_dr/2)
        half = self.jaccard and self.alpha is None
        nr, dr = (self.smooth_nr / 2, self.smooth_dr / 2) if half else (self.smooth_nr, self.smooth_dr)
        return {"smooth": nr} if nr == dr else {"smooth": nr, "smooth_denominator": dr}

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        name = self._name
        c = input.shape[1]
        if self.softmax and c == 1:
            warnings.warn("single channel prediction, `softmax=True` ignored.", stacklevel=2)
        multiclass = self.softmax and c > 1
        x = input
        if self.other_act is not None:
            x = self.other_act(input)
        from_logits = self.sigmoid or multiclass
        label_map = self.to_onehot_y and c > 1
        if self.to_onehot_y and c == 1:
            warnings.warn("single channel prediction, `to_onehot_y=True` ignored.", stacklevel=2)
        include_background = self.include_background
        if not include_background and c == 1:
            warnings.warn("single channel prediction, `include_background=False` ignored.", stacklevel=2)
            include_background = True
        ignore = None
        if self.ignore_index is not None:
            if not label_map:
                raise _not_yet(
                    name,
                    "ignore_index without to_onehot_y=True (MONAI's mask of a one-hot target)",
                    "pass an (N, 1, *) label map with to_onehot_y=True",
                )
            ignore = self.ignore_index
        if label_map:
            if target.dim() != input.dim() or target.shape[1] != 1:
                raise ValueError(
                    f"{name}: to_onehot_y=True expects an (N, 1, *) label map; got target "
                    f"{tuple(target.shape)} for input {tuple(input.shape)}"
                )
            if multiclass:
                t, ignore_kw = target[:, 0].long(), ignore
            else:
                lab = target[:, 0].long()
                valid = None if ignore is None else lab != ignore
                t = _one_hot(torch.where(valid, lab, 0)[:, None] if valid is not None else lab[:, None], c, x.dtype)
                if valid is not None:
                    t = torch.where(valid.unsqueeze(1), t, -1.0)  # ignored pixels: every channel marked -1
                ignore_kw = None if ignore is None else -1
        else:
            if target.shape != input.shape:
                raise ValueError(
                    f"{name}: ground truth has different shape {tuple(target.shape)} from input "
                    f"{tuple(input.shape)}; pass a one-hot target, or an (N, 1, *) label map with "
                    "to_onehot_y=True"
                )
            t, ignore_kw = target, None
        w = self.class_weight
        kept = c - (0 if include_background else 1)
        if w is not None and kept > 1:
            w = w.to(device=input.device, dtype=torch.float64 if input.dtype == torch.float64 else torch.float32)
            if w.dim() == 0:
                w = w.expand(kept)
            elif w.shape[0] != kept:
                raise ValueError(
                    f"{name}: the length of weight ({w.shape[0]}) should be the number of classes "
                    f"({kept}); with include_background=False it does not include class 0"
                )
            if not include_background:
                w = torch.cat([w.new_ones(1), w])  # losskit drops channel 0's weight with the channel
        else:
            w = None
        kw = dict(
            mode="multiclass" if multiclass else "multilabel",
            from_logits=from_logits,
            ignore_index=ignore_kw,
            per_image=not self.batch,
            include_background=include_background,
            empty="include",
            reduction="none",
            **self._smooth(),
            **self._extra,
        )
        if w is not None:
            kw.update(weight=w)
        if self.alpha is not None:
            kw.update(alpha=self.alpha, beta=self.beta)
        if self.w_type is not None:
            kw.update(weighting=self.w_type)
        # (N, C') per image, (C',) with batch=True, w · loss; generalized Dice: (N,) per image, () with batch=True
        f = self._fn(x, t, **kw)
        if self.reduction == "mean":
            return f.mean()  # MONAI: the mean over images (and classes) of w · loss
        if self.reduction == "sum":
            return f.sum()
        if self.alpha is not None:
            return f  # MONAI's TverskyLoss: (N, C') or (C',)
        if self.w_type is not None:
            f = f.view(-1, 1) if f.dim() else f.view(1)  # MONAI's generalized Dice: (N, 1) per image, (1,) with batch
        return f.view(list(f.shape[0:2]) + [1] * (input.dim() - 2))  # MONAI's DiceLoss: (N, C', 1, ...)


class DiceLoss(_Overlap):
    r"""MONAI's ``DiceLoss``: :math:`1 - (2I + s_{nr}) / (P + T + s_{dr})` per image and class.

    Computed by :func:`losskit.functional.dice_loss` (``jaccard=True``:
    :func:`losskit.functional.jaccard_loss` with ``smooth = smooth_nr / 2``) with ``per_image = not
    batch``, ``empty="include"`` and ``smooth = smooth_nr``; see those docstrings. MONAI's defaults
    (per image, ``smooth 1e-5``, every class counted, ``mean(w·l)``) differ from losskit's (batch,
    0, empty classes left out, ``Σwl/Σw``).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]]]]), torch.tensor([[[[0, 1]]]])
        >>> DiceLoss(to_onehot_y=True, softmax=True)(x, y)
        tensor(0.0180)
    """

    _name = "DiceLoss"

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        weight: Weight = None,
        soft_label: bool = False,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__(**_by_name(_Overlap.__init__, locals()))


class TverskyLoss(_Overlap):
    r"""MONAI's ``TverskyLoss``: :math:`1 - (I + s_{nr}) / (I + \alpha FP + \beta FN + s_{dr})` per image and class.

    Computed by :func:`losskit.functional.tversky_loss` (``per_image = not batch``,
    ``empty="include"``, ``smooth = smooth_nr``); MONAI's defaults as for :class:`DiceLoss`.

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]]]]), torch.tensor([[[[0, 1]]]])
        >>> TverskyLoss(to_onehot_y=True, softmax=True, alpha=0.3, beta=0.7)(x, y)
        tensor(0.0180)
    """

    _name = "TverskyLoss"

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        soft_label: bool = False,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__(**_by_name(_Overlap.__init__, locals()))


class FocalLoss(nn.Module):
    r"""MONAI's ``FocalLoss``: sigmoid focal per channel (default) or softmax focal (``use_softmax=True``).

    Computed by :func:`losskit.functional.sigmoid_focal_loss` /
    :func:`losskit.functional.focal_loss` (see them). MONAI's ``"mean"`` divides by every element of
    ``(N, C', *)`` (``C'`` the kept channels) -- for the softmax form that is ``C'`` times less than
    losskit's mean over pixels; ``"sum"`` is the sum over images and channels of the spatial mean.
    A float ``alpha`` with ``use_softmax=True`` weighs class 0 by ``1 - alpha`` and the others by
    ``alpha``; with ``include_background=False`` the softmax runs over the kept channels only.
    MONAI computes in float32 (a half input gives a float32 loss); losskit keeps the input's dtype.
    Soft targets: the softmax form agrees; the sigmoid form is losskit's expectation over
    ``y ~ Bernoulli(t)``, MONAI's is ``BCE · (1 - p_t)^γ`` on the soft ``p_t`` (equal for 0/1 targets).
    ``ignore_index``: MONAI's mask, from the target as given (a label map's pixels equal to it; in a
    one-hot target the pixels of that channel, or the all-zero pixels for an index outside the channels),
    gives those pixels weight 0 in every channel; ``"mean"`` then divides by the number of kept **pixels**
    (not ``C'`` × pixels), ``"sum"`` adds each image's sum over its kept pixels' count.

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]]]]), torch.tensor([[[[0, 1]]]])
        >>> FocalLoss(to_onehot_y=True, use_softmax=True)(x, y)
        tensor(0.0001)
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        weight: Weight = None,
        reduction: str = "mean",
        use_softmax: bool = False,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__()
        self.reduction = _check_reduction("FocalLoss", reduction)
        self.ignore_index = ignore_index
        self.include_background, self.to_onehot_y, self.gamma = include_background, to_onehot_y, float(gamma)
        self.alpha, self.use_softmax = alpha, use_softmax
        self.class_weight = _as_weight(weight)

    def _kept_pixels(self, target: Tensor) -> Tensor | None:
        """MONAI's ``(N, 1, *)`` mask of the pixels ``ignore_index`` keeps, from the target as given: a label
        map's pixels other than it; a one-hot target's pixels outside that class's channel (all-zero pixels
        for an index outside the channels)."""
        ig = self.ignore_index
        if ig is None:
            return None
        if target.shape[1] == 1:
            return target != ig
        if 0 <= ig < target.shape[1]:
            return target[:, ig : ig + 1] == 0
        return target.sum(1, keepdim=True) > 0

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        c = input.shape[1]
        kept = self._kept_pixels(target)
        if self.to_onehot_y:
            if c == 1:
                warnings.warn("single channel prediction, `to_onehot_y=True` ignored.", stacklevel=2)
            else:
                ig = self.ignore_index
                if ig is not None and not 0 <= ig < c:
                    target = torch.where(target == ig, torch.zeros_like(target), target)  # MONAI: class 0, masked
                target = _one_hot(target, c, input.dtype)
        if target.shape != input.shape:
            raise ValueError(
                f"FocalLoss: ground truth has different shape {tuple(target.shape)} from input "
                f"{tuple(input.shape)}; pass a one-hot target, or a label map with to_onehot_y=True"
            )
        if not self.include_background:
            if c == 1:
                warnings.warn("single channel prediction, `include_background=False` ignored.", stacklevel=2)
            else:
                input, target = input[:, 1:], target[:, 1:]
        k = input.shape[1]
        cdt = torch.float64 if input.dtype == torch.float64 else torch.float32
        spatial = [1] * (input.dim() - 2)
        w = self.class_weight
        if w is not None:
            if w.dim() > 0 and k == 1:
                raise ValueError("FocalLoss: per-class weight is not supported for single-channel outputs (MONAI's)")
            if w.dim() > 0 and w.numel() != k:
                raise ValueError(
                    f"FocalLoss: the number of weights ({w.numel()}) must match the number of output channels ({k})"
                )
            w = w.to(device=input.device, dtype=cdt)
        alpha = self.alpha
        if self.use_softmax:
            if alpha is not None and not self.include_background and isinstance(alpha, (int, float)):
                warnings.warn("`include_background=False`, scalar `alpha` ignored when using softmax.", stacklevel=2)
                alpha = None
            class_alpha: Tensor | None = None
            if alpha is not None:
                a = torch.as_tensor(alpha, dtype=cdt, device=input.device)
                if a.dim() == 0:
                    a = torch.cat([(1 - a).view(1), a.expand(k - 1)])  # MONAI: [1 - alpha, alpha, ..., alpha]
                elif a.shape[0] != k:
                    raise ValueError(
                        f"FocalLoss: the length of alpha ({a.shape[0]}) must match the number of classes ({k})"
                    )
                class_alpha = a
            wc = None if w is None else (w.expand(k) if w.dim() == 0 else w)
            masked = None if kept is None else target * kept  # an ignored pixel's target row is 0: its loss 0
            # the (one-hot or soft) target enters as class probabilities: Σ_c t_c w_c α_c (1 - p_c)^γ (-log p_c)
            rows = LF.focal_loss(
                input,
                target.to(input.dtype),
                alpha=class_alpha,
                gamma=self.gamma,
                weight=wc,
                ignore_index=None,
                sample_weight=None if kept is None else kept[:, 0].to(input.dtype),  # ignored pixels weigh 0
                reduction="none" if self.reduction == "none" or kept is not None else "sum",
            )
            if self.reduction == "none":
                if not bool(((target == 0) | (target == 1)).all()):
                    raise _not_yet(
                        "FocalLoss",
                        "reduction='none' with soft targets and use_softmax=True",
                        "use reduction='mean' or 'sum'",
                    )
                return rows.unsqueeze(1) * (target if masked is None else masked).to(rows.dtype)
        else:
            elem_alpha: float | Tensor | None
            if alpha is not None and not isinstance(alpha, (int, float)):
                elem_alpha = torch.as_tensor(alpha, dtype=cdt, device=input.device).view([-1, *spatial])
            else:
                elem_alpha = alpha
            we = None if w is None else (w if w.dim() == 0 else w.view([-1, *spatial]))
            if we is not None and we.dim() == 0:
                we = we.expand([k, *spatial])
            elem_w = None if we is None else we.expand(input.shape[1:])
            if kept is not None:  # ignored pixels weigh 0 in every channel
                elem_w = kept.to(input.dtype) if elem_w is None else kept.to(input.dtype) * elem_w
            rows = LF.sigmoid_focal_loss(
                input,
                target.to(input.dtype),
                alpha=elem_alpha,
                gamma=self.gamma,
                weight=elem_w,
                reduction="none" if self.reduction == "none" or kept is not None else "sum",
            )
            if self.reduction == "none":
                return rows
        if kept is not None:
            return self._masked_reduction(rows, kept)
        if self.reduction == "mean":
            return rows / input.numel()  # MONAI: the mean over N × C' × pixels
        return rows / (input[0, 0].numel())  # MONAI: Σ over (N, C') of the spatial mean

    def _masked_reduction(self, rows: Tensor, kept: Tensor) -> Tensor:
        """MONAI's reductions with ``ignore_index``: ``"mean"`` the sum over the kept elements divided by the
        number of kept **pixels** (not × C'), ``"sum"`` the sum over images of each image's sum divided by
        its kept pixels (counts clamped at float32's eps, so an all-ignored batch gives 0)."""
        tiny = torch.finfo(torch.float32).eps
        count = kept.to(rows.dtype)
        if self.reduction == "mean":
            return rows.sum() / count.sum().clamp_min(tiny)
        per_image = rows.reshape(rows.shape[0], -1).sum(1)
        return (per_image / count.reshape(count.shape[0], -1).sum(1).clamp_min(tiny)).sum()


class DiceCELoss(nn.Module):
    r"""MONAI's ``DiceCELoss``: ``lambda_dice · DiceLoss + lambda_ce · CE`` (BCE-with-logits with ``sigmoid=True``).

    The Dice part is :class:`DiceLoss` (MONAI's conventions); the CE part is
    :func:`losskit.functional.cross_entropy` on the logits with the label map (or the one-hot /
    soft target as class probabilities), ``weight`` and ``label_smoothing``, torch's weighted mean
    (MONAI takes CE on the logits whatever ``sigmoid``/``softmax`` say); for a single channel it is
    :func:`losskit.functional.binary_cross_entropy_with_logits` with ``pos_weight=weight`` (MONAI's
    choice). ``reduction="none"`` is refused with a ``ValueError``, as MONAI refuses it (the two parts
    have different shapes).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]]]]), torch.tensor([[[[0, 1]]]])
        >>> DiceCELoss(to_onehot_y=True, softmax=True)(x, y)
        tensor(0.0361)
    """

    weight: Tensor | None

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        weight: Tensor | None = None,
        lambda_dice: float = 1.0,
        lambda_ce: float = 1.0,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        reduction = _check_reduction("DiceCELoss", reduction)
        if reduction == "none":
            raise ValueError(
                "DiceCELoss: reduction='none' is not valid: the Dice and CE parts have different shapes; "
                "use 'mean' or 'sum' (MONAI's DiceCELoss refuses it too)"
            )
        if lambda_dice < 0 or lambda_ce < 0:
            raise ValueError(f"DiceCELoss: lambda_dice={lambda_dice} and lambda_ce={lambda_ce} must be >= 0")
        w = None if weight is None else torch.as_tensor(weight)
        self.dice = DiceLoss(
            **_by_name(DiceLoss, locals(), weight=None if w is None else (w if include_background else w[1:]))
        )
        self.register_buffer("weight", w, persistent=False)
        self.reduction, self.label_smoothing = reduction, label_smoothing
        self.lambda_dice, self.lambda_ce = float(lambda_dice), float(lambda_ce)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        _same_dims("DiceCELoss", input, target)
        dice = self.dice(input, target)
        w = None if self.weight is None else self.weight.to(input.dtype)
        if input.shape[1] == 1:  # MONAI: BCE-with-logits for one channel (whatever the activation flags), else CE
            ce = LF.binary_cross_entropy_with_logits(
                input, target.to(input.dtype), pos_weight=w, reduction=self.reduction
            )
        elif target.shape[1] == 1 and input.shape[1] != 1:
            ce = LF.cross_entropy(
                input, target[:, 0].long(), weight=w, reduction=self.reduction, label_smoothing=self.label_smoothing
            )
        else:
            ce = LF.cross_entropy(
                input, target.to(input.dtype), weight=w, reduction=self.reduction, label_smoothing=self.label_smoothing
            )
        return self.lambda_dice * dice + self.lambda_ce * ce


class DiceFocalLoss(nn.Module):
    r"""MONAI's ``DiceFocalLoss``: ``lambda_dice · DiceLoss + lambda_focal · FocalLoss`` on one one-hot target.

    The parts are :class:`DiceLoss` and :class:`FocalLoss` with MONAI's conventions; ``weight`` goes
    to both. MONAI's focal part is always the sigmoid form (``use_softmax=False``), even with
    ``softmax=True``; so is this one.

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]]]]), torch.tensor([[[[0, 1]]]])
        >>> DiceFocalLoss(to_onehot_y=True, softmax=True)(x, y)
        tensor(0.0198)
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        gamma: float = 2.0,
        weight: Weight = None,
        lambda_dice: float = 1.0,
        lambda_focal: float = 1.0,
        alpha: float | None = None,
    ) -> None:
        super().__init__()
        if lambda_dice < 0 or lambda_focal < 0:
            raise ValueError(f"DiceFocalLoss: lambda_dice={lambda_dice} and lambda_focal={lambda_focal} must be >= 0")
        self.dice = DiceLoss(**_by_name(DiceLoss, locals(), to_onehot_y=False))
        self.focal = FocalLoss(**_by_name(FocalLoss, locals(), to_onehot_y=False, use_softmax=False))
        self.to_onehot_y = to_onehot_y
        self.lambda_dice, self.lambda_focal = float(lambda_dice), float(lambda_focal)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        _same_dims("DiceFocalLoss", input, target)
        if self.to_onehot_y:
            if input.shape[1] == 1:
                warnings.warn("single channel prediction, `to_onehot_y=True` ignored.", stacklevel=2)
            else:
                target = _one_hot(target, input.shape[1], input.dtype)
        return self.lambda_dice * self.dice(input, target) + self.lambda_focal * self.focal(input, target)


class GeneralizedDiceLoss(_Overlap):
    r"""MONAI's ``GeneralizedDiceLoss`` (Sudre et al. 2017):
    :math:`1 - (2 \sum_c w_c I_c + s_{nr}) / (\sum_c w_c (P_c + T_c) + s_{dr})` per image, ``w_c = 1/T_c²``.

    Computed by :func:`losskit.functional.generalized_dice_loss` with ``weighting = w_type``,
    ``per_image = not batch``, ``smooth = smooth_nr``, ``smooth_denominator = smooth_dr`` and
    ``empty="include"`` (an image whose target is empty in every kept class scores
    ``1 - smooth_nr / smooth_dr``, as MONAI's); a class with an empty target takes the largest weight of
    its unit in both. MONAI computes the weights from float32 volumes (a float64 input's weights are
    rounded to float32, about 1e-8 relative); losskit keeps the input's precision. ``"none"`` keeps
    MONAI's shape, ``(N, 1, 1, ...)`` (``(1, 1, ...)`` with ``batch=True``).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[[2.0, -2.0]], [[-2.0, 2.0]]]]), torch.tensor([[[[0, 1]]]])
        >>> GeneralizedDiceLoss(to_onehot_y=True, softmax=True)(x, y)
        tensor(0.0180)
    """

    _name = "GeneralizedDiceLoss"

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        w_type: str = "square",
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        soft_label: bool = False,
    ) -> None:
        super().__init__(**_by_name(_Overlap.__init__, locals(), ignore_index=None))
