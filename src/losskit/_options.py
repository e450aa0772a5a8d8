"""Checks of the options that need no input tensor, shared by a functional and its module.

A module runs the same check at construction that its functional runs on every call, so both
refuse a bad option with the same message. Import these from here, never from a private module
of :mod:`losskit.functional`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from torch import Tensor

from . import _checks
from ._reduction import check_reduction

__all__ = [
    "EMPTY",
    "WEIGHTING",
    "AVERAGE",
    "CLASSES",
    "overlap_options",
    "lovasz_options",
    "TAKES",
    "ACTIVATIONS",
    "Precomputed",
    "combination_parts",
]

# ---------------------------------------------------------------------------------------------
# overlap losses (dice, Tversky, Jaccard, generalized Dice, MCC) and the Lovász losses
# ---------------------------------------------------------------------------------------------

_PLAIN = (str, int, float, bool, type(None))


def _remember_valid(check: Callable[..., None]) -> Callable[..., None]:
    """``check`` (which raises on a bad option, else returns ``None``), run once per distinct set of
    plain options (str / int / float / bool / None, or tuples of ints; the key holds each value's type,
    so ``True`` is not taken for ``1``): a module calling its functional on every step re-checks
    nothing. Options holding tensors or lists are checked on every call, and so is every trace of
    ``torch.compile`` (which would otherwise guard on the record)."""
    passed: set = set()

    def run(fn: str, **options: object) -> None:
        if _checks.tracing():  # checked once per trace already; a record that grows would fail compile's guards
            check(fn, **options)
            return
        plain = all(
            isinstance(v, _PLAIN) or (isinstance(v, tuple) and all(type(i) is int for i in v)) for v in options.values()
        )
        key = (fn, *((k, type(v), v) for k, v in options.items())) if plain else None
        if key in passed:
            return
        check(fn, **options)
        if key is not None:
            if len(passed) > 4096:  # options varied per call (a schedule): keep the record small
                passed.clear()
            passed.add(key)

    run.__doc__, run.__name__, run.__wrapped__ = check.__doc__, check.__name__, check  # type: ignore[attr-defined]
    return run


EMPTY = ("exclude", "include")
WEIGHTING = ("square", "simple", "uniform")
AVERAGE = ("macro", "micro")  # the class averaging of Dice, Jaccard and Tversky
CLASSES = ("present", "all")


@_remember_valid
def overlap_options(
    fn: str,
    *,
    mode: str,
    smooth: float,
    eps: float,
    empty: str,
    include_background: bool,
    reduction: str,
    alpha=None,
    beta=None,
    gamma: float | None = None,
    squared_pred: bool = False,
    smooth_denominator: float | None = None,
    log_loss: bool = False,
    average: str = "macro",
    classes: Sequence[int] | None = None,
) -> None:
    """Validate the options of the overlap losses that need no input tensor (``fn`` names the loss in messages)."""
    if isinstance(mode, Tensor) or mode not in _checks._MODES:
        raise ValueError(
            f"{fn}: mode={mode!r} is not valid: use 'binary' (one sigmoid channel), 'multiclass' "
            "(softmax over C channels, class-index or one-hot targets) or 'multilabel' (a sigmoid per "
            "channel, 0/1 targets per channel)"
        )
    check_reduction(reduction)
    _checks.number(smooth, "smooth", low=0.0, fn=fn)
    _checks.number(eps, "eps", low=0.0, low_open=True, fn=fn)
    if isinstance(empty, Tensor) or empty not in EMPTY:
        raise ValueError(
            f"{fn}: empty={empty!r} is not valid: use 'exclude' (classes with an empty target are left "
            "out of the average) or 'include' (they count with the value smoothing gives them)"
        )
    _checks.flag(include_background, "include_background", fn=fn)
    if mode == "binary" and not include_background:
        raise ValueError(
            f"{fn}: include_background=False drops channel 0, but mode='binary' has a single (foreground) "
            "channel; keep include_background=True, or use mode='multiclass'/'multilabel' with a "
            "background channel"
        )
    for name, v in (("alpha", alpha), ("beta", beta)):
        if v is not None and not isinstance(v, Tensor):
            _checks.number(
                v,
                name,
                low=0.0,
                fn=fn,
                hint=f"{name} weighs the {'false positives' if name == 'alpha' else 'false negatives'}",
            )
    if (
        alpha is not None
        and beta is not None
        and not isinstance(alpha, Tensor)
        and not isinstance(beta, Tensor)
        and alpha == 0
        and beta == 0
    ):
        raise ValueError(
            f"{fn}: alpha=0 and beta=0 make the Tversky index 1 for every prediction (no loss, no "
            "gradient); give false positives (alpha) or false negatives (beta) a positive weight"
        )
    if gamma is not None:
        _checks.number(gamma, "gamma", low=0.0, low_open=True, fn=fn)
    _checks.flag(squared_pred, "squared_pred", fn=fn)
    _checks.flag(log_loss, "log_loss", fn=fn)
    if smooth_denominator is not None:
        _checks.number(smooth_denominator, "smooth_denominator", low=0.0, fn=fn)
    _checks.choice(
        average,
        "average",
        AVERAGE,
        fn=fn,
        hint="macro: one ratio per class, averaged; micro: the classes of each unit pooled into one ratio",
    )
    if classes is not None:
        if isinstance(classes, (str, Tensor)) or not isinstance(classes, Sequence) or not classes:
            raise TypeError(
                f"{fn}: classes={classes!r} is not valid: give a non-empty list or tuple of class indices "
                "(the channels whose ratios count), or None for every channel"
            )
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in classes):
            raise ValueError(f"{fn}: classes={list(classes)!r} must hold class indices (integers >= 0)")
        if mode == "binary":
            raise ValueError(
                f"{fn}: classes selects channels, but mode='binary' has one; use mode='multiclass'/'multilabel'"
            )
        if not include_background:
            raise ValueError(
                f"{fn}: pass classes or include_background=False, not both (classes without 0 leaves the "
                "background out)"
            )


def lovasz_options(
    fn: str,
    *,
    mode: str,
    per_image: bool,
    reduction: str,
    classes: str | Sequence[int] = "present",
    modes: tuple = _checks._MODES,
) -> None:
    """Validate the options of the Lovász losses that need no input tensor (a list of ``classes`` is checked
    against the number of classes by the loss, which sees the input)."""
    if isinstance(mode, Tensor) or mode not in modes:
        raise ValueError(f"{fn}: mode={mode!r} is not valid: use one of {', '.join(map(repr, modes))}")
    _checks.flag(per_image, "per_image", fn=fn)
    check_reduction(reduction)
    if isinstance(classes, (list, tuple)):
        if not classes or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in classes):
            raise ValueError(
                f"{fn}: classes={classes!r} is not valid: a list of classes holds one or more class indices >= 0"
            )
        if mode != "multiclass":
            raise ValueError(
                f"{fn}: classes={classes!r} selects classes of the softmax, but mode={mode!r}; use "
                "mode='multiclass', or classes='present'/'all'"
            )
        return
    _checks.choice(
        classes,
        "classes",
        CLASSES,
        fn=fn,
        hint="present: average over the classes present in the target of each unit; all: every class; "
        "or a list of class indices",
    )


# ---------------------------------------------------------------------------------------------
# combinations (combined_loss, CombinedLoss)
# ---------------------------------------------------------------------------------------------

TAKES = ("logits", "probs", "log_probs")
ACTIVATIONS = ("softmax", "sigmoid")
Weight = float | Tensor


class Precomputed:
    """A part that takes a precomputed activation; made by :func:`precomputed`."""

    def __init__(self, loss: Callable, takes: str, activation: str, kwargs: dict) -> None:
        self.loss = loss
        self.takes = takes
        self.activation = activation
        self.kwargs = kwargs

    def __call__(self, x: Tensor, target: Tensor) -> Tensor:
        return self.loss(x, target, **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.loss, "__name__", None) or type(self.loss).__name__
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"precomputed({name}, takes={self.takes!r}, activation={self.activation!r}{extra})"


def combination_parts(losses: Mapping[str, Callable], weights: Mapping[str, Weight] | None) -> dict[str, Weight]:
    """Check a combination's ``losses`` (name -> callable part) and ``weights`` (name -> scalar); return the weights."""
    if not isinstance(losses, Mapping) or len(losses) == 0:
        raise TypeError(
            "losses must be a non-empty mapping name -> loss, e.g. {'ce': F.cross_entropy, 'focal': focal_loss}"
        )
    for name, part in losses.items():
        if not isinstance(name, str):
            raise TypeError(f"loss names must be strings, got {name!r}")
        if not callable(part):
            raise TypeError(f"losses[{name!r}] must be callable (a loss function or module), got {type(part).__name__}")
        takes = getattr(part, "takes", "logits")
        act = getattr(part, "activation", "softmax")
        if takes not in TAKES or act not in ACTIVATIONS:
            raise ValueError(
                f"losses[{name!r}] declares takes={takes!r}, activation={act!r}; takes must be one of {TAKES} "
                f"and activation one of {ACTIVATIONS} (use precomputed(...))"
            )
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(losses))
    if unknown:
        raise ValueError(f"weights has names that are not losses: {unknown}; the losses are {sorted(losses)}")
    for name, w in weights.items():
        if isinstance(w, Tensor):
            if w.numel() != 1:
                raise ValueError(f"weights[{name!r}] must be a scalar, got shape {tuple(w.shape)}")
        elif isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise TypeError(f"weights[{name!r}] must be a finite number, got {w!r}")
    return weights
