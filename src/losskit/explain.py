"""Explain a loss: its formula, the likelihood behind it, and its loss and gradient against the logit.

``losskit explain NAME [--out PNG]`` prints :func:`explain_text` and saves
:func:`plot_loss_and_gradient`; :func:`loss_curves` computes the curves (the workbench report
uses it too). The views come from :func:`losskit.likelihoods.for_loss`; the curves call the
catalog's functionals.

>>> from losskit.explain import loss_curves
>>> c = loss_curves(["binary_cross_entropy_with_logits"], torch.tensor([-2.0, 0.0, 2.0]))
>>> c.grad["binary_cross_entropy_with_logits"]  # rows: y = 0, y = 1; equals sigmoid(z) - y
tensor([[ 0.1192,  0.5000,  0.8808],
        [-0.8808, -0.5000, -0.1192]])
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from . import catalog
from .likelihoods import for_loss

__all__ = ["explain_text", "LossCurves", "loss_curves", "curve_names", "plot_loss_and_gradient", "add_arguments", "run"]

# --------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------


def explain_text(name: str) -> str:
    """A plain-text explanation of the loss ``name``: formula, likelihood, link, inference rule,
    dropped constants and, for losses that are not likelihoods, what they add on top of which one.

    Raises:
        KeyError: for an unknown name (the message lists close names).

    Example:
        >>> from losskit.explain import explain_text
        >>> print(explain_text("l1_loss").splitlines()[0])
        l1_loss
    """
    v = for_loss(name)
    width = 100
    lines = [v.name, "=" * len(v.name)]
    spec = catalog.get(name) if name in catalog.names() else None
    if spec is not None:
        lines += textwrap.wrap(spec.summary, width=width)
    rows: list[tuple[str, str]] = [("formula", v.formula)]
    if v.distribution is not None:
        kind = "negative log-likelihood of" if v.is_likelihood else "built on the likelihood"
        rows.append(("likelihood", f"{kind}: {v.distribution}"))
    else:
        rows.append(("likelihood", "none (not a likelihood)"))
    rows += [
        ("link", v.link or "none (scores are not mapped to a distribution)"),
        ("inference", v.inference),
        ("dropped", v.dropped_constants),
    ]
    if v.base:
        # overlap measures are not built on a likelihood; they are added to one
        rows.append(("built on" if v.distribution is not None else "paired with", v.base))
    if v.adds:
        rows.append(("adds", v.adds))
    if v.notes:
        rows.append(("notes", v.notes))
    if spec is not None:
        where = f"losskit.functional.{spec.name}" + (
            f" (twin of torch.nn.functional.{spec.torch_twin})" if spec.torch_twin else ""
        )
        rows.append(("function", where))
        rows.append(("module", f"losskit.nn.{spec.module.__name__}"))
    label_w = max(len(k) for k, _ in rows) + 2
    for key, text in rows:
        wrapped = textwrap.wrap(text, width=width - label_w) or [""]
        lines.append(f"{key + ':':<{label_w}}{wrapped[0]}")
        lines += [" " * label_w + w for w in wrapped[1:]]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Curves: each loss as a function of the logit z for a binary target y
# --------------------------------------------------------------------------------------------------

# Each curve maps (z, y) -> per-point loss, with z of shape (L,) and y in {0, 1}.
Curve = Callable[[Tensor, int], Tensor]


def _full(z: Tensor, y: int) -> Tensor:
    return torch.full_like(z, float(y))


def _two_class(z: Tensor) -> Tensor:
    # logits (0, z): softmax gives P(class 1) = σ(z), so CE on them is exactly BCE on z
    return torch.stack([torch.zeros_like(z), z], dim=-1)


def _classes(z: Tensor, y: int) -> Tensor:
    return torch.full(z.shape, y, dtype=torch.long, device=z.device)


#: how each kind of catalog curve reads the logit z (see :class:`losskit.catalog.Entry`)
_KINDS: dict[str, Callable[[Callable, Tensor, int], Tensor]] = {
    "logits": lambda f, z, y: f(z, _full(z, y), reduction="none"),
    "probs": lambda f, z, y: f(torch.sigmoid(z), _full(z, y), reduction="none"),  # the model's sigmoid first
    "two_class": lambda f, z, y: f(_two_class(z), _classes(z, y), reduction="none"),
    "two_class_log_probs": lambda f, z, y: f(torch.log_softmax(_two_class(z), -1), _classes(z, y), reduction="none"),
    # an overlap loss is defined per image: each logit is scored as its own one-pixel binary image (N, 1, 1)
    "overlap": lambda f, z, y: f(
        z.reshape(-1, 1, 1), _full(z, y).reshape(-1, 1, 1), mode="binary", per_image=True, reduction="none"
    ).reshape(-1),
}


def _mse_after_sigmoid(z: Tensor, y: int) -> Tensor:
    return (torch.sigmoid(z) - y) ** 2


def _curve(name: str, *, listing: bool = True) -> Curve:
    if name == "mse_after_sigmoid":
        return _mse_after_sigmoid
    entry = catalog.get(name)  # KeyError listing close names
    kind = entry.curve
    if kind is None:
        raise ValueError(
            f"{name} has no loss-vs-logit curve for a binary target (it takes {entry.takes} of family "
            f"{entry.family})" + (f"; plot one of: {', '.join(curve_names())}" if listing else "")
        )
    draw = _KINDS[kind] if isinstance(kind, str) else kind
    return lambda z, y: draw(entry.functional, z, y)


def curve_names() -> list[str]:
    """The names :func:`loss_curves` can draw now: catalog losses with a binary-logit reading,
    plus ``"mse_after_sigmoid"``."""
    return ["mse_after_sigmoid"] + [e.name for e in catalog.entries() if e.curve is not None]


@dataclass
class LossCurves:
    """Loss and gradient against the logit for a binary target.

    Attributes:
        logits: the logits ``z``, shape ``(L,)``.
        loss: ``name -> (2, L)`` tensor; row 0 is the loss for ``y = 0``, row 1 for ``y = 1``.
        grad: ``name -> (2, L)`` tensor of ``dloss/dz`` (by autograd), rows as in ``loss``.
        names: the names in the order asked.
    """

    logits: Tensor
    loss: dict[str, Tensor] = field(default_factory=dict)
    grad: dict[str, Tensor] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


def loss_curves(names: Sequence[str], logits: Tensor | None = None) -> LossCurves:
    """Each loss in ``names`` and its gradient with respect to the logit ``z``, for targets 0 and 1.

    The gradient is taken by autograd through the catalog's functional. How a loss reads the logit:

    * losses on logits (BCE-with-logits, sigmoid focal, asymmetric, Poisson's log-rate) take ``z``;
    * losses on probabilities (``binary_cross_entropy``) take ``σ(z)``, the model's sigmoid;
    * multi-class losses (those on a Categorical likelihood: ``cross_entropy``, ``focal_loss``,
      ``poly1_cross_entropy``, ...; and ``nll_loss``, ``kl_div``, ``multi_margin_loss``) take the
      two-class logits ``(0, z)``, whose softmax gives ``P(y = 1) = σ(z)``: there cross_entropy
      equals BCE-with-logits and focal_loss equals sigmoid_focal_loss;
    * regression losses (``mse_loss``, ``l1_loss``, ``huber_loss``, ...) regress ``z`` itself onto
      ``y`` (``gaussian_nll_loss`` with unit variance);
    * ``"mse_after_sigmoid"`` is ``(σ(z) − y)²``, whose gradient ``2(σ − y)·σ(1 − σ)`` vanishes when
      the model is confidently wrong, where BCE's ``σ(z) − y`` does not;
    * overlap losses (dice, Tversky, Jaccard) score each logit as its own one-pixel image: for
      ``y = 1`` dice is ``(1 − σ)/(1 + σ)``, whose gradient vanishes like the squared error's when
      the model is confidently wrong; for ``y = 0`` the image has no foreground, so the loss is
      constant (excluded: 0, by the losses' default ``empty="exclude"``) and gives no gradient.

    Args:
        names: loss names (catalog names, or ``"mse_after_sigmoid"``).
        logits: the logits, 1-D; default ``torch.linspace(-8, 8, 401)``.

    Returns:
        :class:`LossCurves`, with ``loss[name]`` and ``grad[name]`` of shape ``(2, L)``.

    Raises:
        KeyError: for an unknown name. ValueError: for a loss with no binary-logit reading
        (margin-ranking, triplet, ...) or logits that are not a 1-D floating tensor.
    """
    if isinstance(names, str):
        names = [names]
    if logits is None:
        logits = torch.linspace(-8, 8, 401)
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.dim() != 1:
        raise ValueError(
            f"logits must be a 1-D floating-point tensor, got "
            f"{type(logits).__name__ if not isinstance(logits, Tensor) else f'{logits.dtype} of shape {tuple(logits.shape)}'}; "
            "e.g. torch.linspace(-8, 8, 401)"
        )
    out = LossCurves(logits=logits.detach(), names=list(names))
    for name in names:
        curve = _curve(name)
        losses, grads = [], []
        for y in (0, 1):
            z = logits.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                loss = curve(z, y)
                if loss.shape != z.shape:
                    raise RuntimeError(f"{name}: curve has shape {tuple(loss.shape)}, expected {tuple(z.shape)}")
                (g,) = torch.autograd.grad(loss.sum(), z, allow_unused=True)
            losses.append(loss.detach())
            grads.append(torch.zeros_like(z) if g is None else g)
        out.loss[name] = torch.stack(losses)
        out.grad[name] = torch.stack(grads)
    return out


# --------------------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------------------


def plot_loss_and_gradient(names: Sequence[str], path=None, ax=None):
    """Plot each loss and its gradient against the logit, for targets 1 (solid) and 0 (dashed).

    Two panels: the loss vs ``z`` and ``dloss/dz`` vs ``z``. Uses matplotlib's Agg canvas (no
    display needed, the global backend is left alone).

    Args:
        names: loss names, as for :func:`loss_curves`.
        path: if given, the figure is saved there (PNG, SVG, PDF... from the suffix).
        ax: optional pair of matplotlib Axes ``(ax_loss, ax_grad)`` to draw into.

    Returns:
        The matplotlib ``Figure``.
    """
    from matplotlib.figure import Figure

    if isinstance(names, str):
        names = [names]
    curves = loss_curves(names)
    if ax is None:
        fig = Figure(figsize=(11.5, 5.0), layout="constrained")
        ax_loss, ax_grad = fig.subplots(1, 2)
    else:
        try:
            ax_loss, ax_grad = ax
        except (TypeError, ValueError):
            raise TypeError(
                "ax must be a pair of matplotlib Axes (ax_loss, ax_grad), e.g. from fig.subplots(1, 2)"
            ) from None
        fig = ax_loss.figure
    from matplotlib.lines import Line2D

    z = curves.logits.double().numpy()
    n = len(names)
    loss_top, grad_abs, loss_low = 0.0, 0.0, 0.0
    handles = []
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        # earlier curves drawn wider, so that identical curves (BCE = CE on two classes) stay visible
        lw = 1.6 + (2.6 * (n - 1 - i) / (n - 1) if n > 1 else 0.0)
        lv, gv = curves.loss[name].double(), curves.grad[name].double()
        for y, style in ((1, "-"), (0, "--")):
            ax_loss.plot(z, lv[y].numpy(), style, color=color, lw=lw, alpha=1.0, zorder=2 + i)
            ax_grad.plot(z, gv[y].numpy(), style, color=color, lw=lw, alpha=1.0, zorder=2 + i)
        handles.append(Line2D([], [], color=color, lw=max(lw, 2.0), label=name))
        # scale the axes on the classification range so one unbounded curve (mse on z) does not flatten the rest
        loss_top = max(loss_top, float(lv.clamp_max(10.0).max()))
        loss_low = min(loss_low, float(lv.min()))
        grad_abs = max(grad_abs, float(gv.abs().clamp_max(2.0).max()))
    loss_top = max(loss_top, 1e-3)
    ax_loss.set_ylim(loss_low - 0.04 * (loss_top - loss_low), loss_top + 0.06 * (loss_top - loss_low))
    ax_grad.set_ylim(-1.12 * max(grad_abs, 1e-3), 1.12 * max(grad_abs, 1e-3))
    for a, title, ylabel in ((ax_loss, "loss ℓ(z, y)", "loss"), (ax_grad, "gradient dℓ/dz", "dℓ / dz")):
        a.set_xlabel("logit z   (p = σ(z))")
        a.set_ylabel(ylabel)
        a.set_title(title, fontsize=11)
        a.axhline(0.0, color="0.55", lw=0.8, zorder=1)
        a.axvline(0.0, color="0.55", lw=0.8, zorder=1)
        a.grid(True, alpha=0.3)
        a.set_xlim(z.min(), z.max())
    handles += [
        Line2D([], [], color="0.25", lw=1.6, ls="-", label="target y = 1"),
        Line2D([], [], color="0.25", lw=1.6, ls="--", label="target y = 0"),
    ]
    if ax is None:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), fontsize=9, frameon=False)
    else:
        ax_loss.legend(handles=handles, fontsize=8, frameon=False)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


# --------------------------------------------------------------------------------------------------
# Command line: losskit explain NAME [--out PNG]
# --------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``explain`` subcommand's arguments to ``parser``."""
    parser.add_argument("name", help="the loss to explain (see `losskit list`)")
    parser.add_argument(
        "--out", metavar="PNG", default=None, help="save the loss and gradient against the logit to this image"
    )
    parser.add_argument(
        "--compare",
        nargs="*",
        metavar="NAME",
        default=None,
        help="other losses to plot next to it (default: the likelihood loss it is built on, "
        "or binary_cross_entropy_with_logits)",
    )
    return parser


def _default_companions(name: str) -> list[str]:
    """What ``losskit explain NAME --out`` draws next to NAME: the loss it is built on; for a
    classification likelihood, the squared error after a sigmoid; for a regression loss, mse and l1."""
    view = for_loss(name)
    dist = view.distribution or ""
    if view.base:
        wanted = [view.base.split()[0], "binary_cross_entropy_with_logits"]
    elif view.is_likelihood and dist.startswith(("Bernoulli", "Categorical")):
        wanted = ["mse_after_sigmoid"]
    elif dist == "Poisson":  # for small rates the Poisson on the log-rate is close to the Bernoulli on the logit
        wanted = ["binary_cross_entropy_with_logits"]
    elif view.is_likelihood:
        wanted = ["mse_loss", "l1_loss"]
    else:
        wanted = ["binary_cross_entropy_with_logits"]
    drawable = curve_names()
    out = [n for n in wanted if n != name and n in drawable]
    return out[:1] if view.base else out


def run(args: argparse.Namespace) -> int:
    """Print the explanation of ``args.name`` and, with ``args.out``, save its plot. Returns the exit code."""
    try:
        print(explain_text(args.name))
    except KeyError as e:
        print(f"losskit explain: {e.args[0]}", file=sys.stderr)
        return 2
    out = getattr(args, "out", None)
    if out:
        compare = getattr(args, "compare", None)
        others = _default_companions(args.name) if compare is None else list(compare)
        names = [args.name] + [n for n in others if n != args.name]
        try:
            plot_loss_and_gradient(names, path=out)
        except (KeyError, ValueError) as e:
            print(f"losskit explain: no plot: {e.args[0]}", file=sys.stderr)
            return 1
        print(f"\nwrote {out} ({', '.join(names)})")
    return 0
