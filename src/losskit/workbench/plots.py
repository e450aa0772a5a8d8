"""The figures of the ``losskit compare`` report (matplotlib, no pyplot: safe without a display).

Each function takes a :class:`~losskit.workbench.train.TaskResult` and returns a
:class:`matplotlib.figure.Figure`; :func:`to_base64_png` embeds one in HTML.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import torch
from matplotlib.figure import Figure

from ..decision import reliability_curve
from .train import TaskResult, _probs

__all__ = [
    "color",
    "training_curves",
    "probability_histograms",
    "reliability_diagrams",
    "loss_and_gradient",
    "to_base64_png",
]

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def color(i: int) -> str:
    """The colour of the i-th loss of a task (the same in every figure)."""
    return _PALETTE[i % len(_PALETTE)]


def _grid(n: int, width: float = 11.0, row_height: float = 2.9):
    cols = n if n <= 4 else 3
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width, row_height * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def _plain_log_axis(ax) -> None:
    """Log scale with ticks at 1, 2, 5 x 10^k written as plain numbers."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    wide = math.log10(hi / lo) > 2.5 if lo > 0 else True
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def training_curves(task: TaskResult) -> Figure:
    """Per epoch: each loss's own training objective, validation log-loss, validation accuracy."""
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for i, run in enumerate(task.runs):
        ep = np.arange(1, len(run.history["train_loss"]) + 1)
        for ax, key in zip(axes, ("train_loss", "val_log_loss", "val_accuracy")):
            ax.plot(ep, run.history[key], color=color(i), lw=1.6, label=run.display)
    axes[0].set_title("training objective (each loss on its own scale)", fontsize=10)
    axes[0].set_yscale("log")
    _plain_log_axis(axes[0])
    axes[1].set_title("validation log-loss (comparable)", fontsize=10)
    axes[1].set_yscale("log")
    _plain_log_axis(axes[1])
    axes[2].set_title("validation accuracy (threshold 0.5 / arg-max)", fontsize=10)
    lo = min(min(r.history["val_accuracy"][len(r.history["val_accuracy"]) // 5 :] or [1]) for r in task.runs)
    axes[2].set_ylim(max(0.0, lo - 0.02), 1.002)
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, frameon=False)
    return fig


def probability_histograms(task: TaskResult) -> Figure:
    """Test-set predicted probabilities per loss, split by the true class (log counts)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    binary = task.dataset.n_classes == 2
    fig, axes = _grid(len(task.runs))
    bins = np.linspace(0, 1, 26)
    c_a, c_b = ("#4c72b0", "#dd8452") if binary else ("#55a868", "#c44e52")
    for i, (ax, run) in enumerate(zip(axes, task.runs)):
        p = _probs(run.test_logits)
        y = task.split.y_test
        if binary:
            ax.hist(p[y == 0], bins=bins, color=c_a, alpha=0.65)
            ax.hist(p[y == 1], bins=bins, color=c_b, alpha=0.75)
            ax.axvline(0.5, color="0.35", ls=":", lw=1.2)
            ax.axvline(run.metrics["threshold"], color="#c00000", lw=1.6)
            ax.set_xlabel(f"P({task.dataset.classes[1]}) on test")
            title = f"{run.display}: tuned threshold {run.metrics['threshold']:.2f}"
        else:
            conf, ok = p.max(1), p.argmax(1) == y
            ax.hist(conf[ok], bins=bins, color=c_a, alpha=0.7)
            ax.hist(conf[~ok], bins=bins, color=c_b, alpha=0.85)
            ax.set_xlabel("top-label confidence on test")
            title = f"{run.display}: {int((~ok).sum())} wrong"
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=10, color=color(i))
        ax.grid(alpha=0.25)
    for ax in list(axes)[:: 3 if len(task.runs) > 4 else len(task.runs)]:
        ax.set_ylabel("count (log scale)")
    if binary:
        neg, pos = task.dataset.classes[0], task.dataset.classes[1]
        handles = [Patch(color=c_a, alpha=0.65, label=f"true {neg}"), Patch(color=c_b, alpha=0.75, label=f"true {pos}"),
                   Line2D([], [], color="#c00000", lw=1.6, label="threshold tuned on validation (F1)"),
                   Line2D([], [], color="0.35", ls=":", lw=1.2, label="0.5")]
    else:
        handles = [Patch(color=c_a, alpha=0.7, label="correct"), Patch(color=c_b, alpha=0.85, label="wrong")]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), frameon=False, fontsize=9)
    return fig


def reliability_diagrams(task: TaskResult, n_bins: int = 10) -> Figure:
    """Observed frequency against predicted probability, before and after temperature scaling."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    binary = task.dataset.n_classes == 2
    fig, axes = _grid(len(task.runs), row_height=3.3)
    y = task.split.y_test
    for i, (ax, run) in enumerate(zip(axes, task.runs)):
        curve = reliability_curve(_probs(run.test_logits), y, n_bins)
        keep = curve.counts > 0
        share = curve.counts / curve.counts.sum()
        ax.bar(curve.centers, np.where(keep, share, 0), width=1 / n_bins, color="0.87", edgecolor="white")
        ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1)
        t = run.metrics["temperature"]
        if np.isfinite(t):
            c2 = reliability_curve(_probs(run.test_logits / t), y, n_bins)
            k2 = c2.counts > 0
            ax.plot(c2.confidence[k2], c2.accuracy[k2], ":", color="0.3", lw=1.2)
            ax.scatter(c2.confidence[k2], c2.accuracy[k2], s=8 + 120 * np.sqrt(c2.counts[k2] / c2.counts.sum()),
                       marker="s", facecolor="none", edgecolor="0.3", lw=0.8, zorder=3)
        ax.plot(curve.confidence[keep], curve.accuracy[keep], "-", color=color(i), lw=1.4, alpha=0.8)
        # marker area grows with the bin's share of samples: a point from 1 sample should not look like one from 300
        ax.scatter(curve.confidence[keep], curve.accuracy[keep], s=8 + 120 * np.sqrt(share[keep]), color=color(i),
                   zorder=4)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        after = f" -> {run.metrics['ece_t']:.3f} after T={t:.2f}" if np.isfinite(t) else ""
        ax.set_title(f"{run.display}\nECE {run.metrics['ece']:.3f}{after}", fontsize=9.5, color=color(i))
        ax.set_xlabel("predicted P(positive)" if binary else "top-label confidence")
    for ax in list(axes)[:: 3 if len(task.runs) > 4 else len(task.runs)]:
        ax.set_ylabel("observed fraction positive" if binary else "observed accuracy")
    handles = [Line2D([], [], color="0.2", marker="o", lw=1.4, label="model (marker size: samples in bin)"),
               Line2D([], [], color="0.3", marker="s", mfc="none", ls=":", lw=1.2,
                      label="after temperature scaling (T fitted on validation)"),
               Line2D([], [], color="0.5", ls="--", lw=1, label="perfect calibration"),
               Patch(color="0.87", label="share of test samples per bin")]
    fig.legend(handles=handles, loc="outside upper center", ncols=2, frameon=False, fontsize=9)
    return fig


def _curves(task: TaskResult, z: torch.Tensor):
    """Per-sample loss and d loss / d logit of each configured loss along ``z``.

    Binary: the logit of the positive class, for a positive (y=1) and a negative (y=0) sample.
    Multi-class: the true class's logit with the other K-1 logits at 0.
    """
    from .train import resolve

    out = []
    k = task.dataset.n_classes
    counts = torch.as_tensor(np.bincount(task.split.y_train, minlength=k))
    for trained in task.resolved:
        r = resolve(trained.entry, counts, "cpu")  # the same loss and options, on the CPU (training may be on CUDA)
        curves = {}
        targets = (1, 0) if k == 2 else (0,)
        for t in targets:
            zz = z.clone().requires_grad_(True)
            if k == 2:
                logits, target = zz, torch.full_like(zz, float(t))
            else:
                logits = torch.cat([zz[:, None], torch.zeros(len(zz), k - 1, dtype=zz.dtype)], 1)
                target = torch.zeros(len(zz), dtype=torch.long)
            loss = r.per_sample(logits, target)
            (grad,) = torch.autograd.grad(loss.sum(), zz)
            curves[t] = (loss.detach().numpy(), grad.numpy())
        out.append(curves)
    return out


def _clip_outliers(ax, ys, task, z) -> None:
    """Fit the y-range to the typical curves; a curve far larger (a heavily weighted class) is cut and labelled."""
    peaks = np.array([np.max(np.abs(y)) for y in ys])
    typical = np.median(peaks)
    cut = [i for i, p in enumerate(peaks) if p > 2.5 * typical]
    if not cut:
        return
    keep = [y for i, y in enumerate(ys) if i not in cut]
    lo = min(0.0, min(float(np.min(y)) for y in keep))
    hi = max(0.0, max(float(np.max(y)) for y in keep))
    pad = 0.15 * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)
    for j, i in enumerate(cut):
        ext = ys[i][np.argmax(np.abs(ys[i]))]
        ax.text(0.99, 0.03 + 0.07 * j if ext < 0 else 0.93 - 0.07 * j,
                f"{task.resolved[i].entry.display} reaches {ext:.3g} (cut)", transform=ax.transAxes, ha="right",
                fontsize=8, color=color(i))


def loss_and_gradient(task: TaskResult) -> Figure:
    """The compared losses, as configured (options and class weights included), against the logit."""
    binary = task.dataset.n_classes == 2
    z = torch.linspace(-6, 6, 241, dtype=torch.float32)
    curves = _curves(task, z)
    cols = 2 if binary else 1
    fig = Figure(figsize=(11 if binary else 9, 6.2), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False, sharex=True)
    targets = (1, 0) if binary else (0,)
    for c, t in enumerate(targets):
        for i, (r, cv) in enumerate(zip(task.resolved, curves)):
            loss, grad = cv[t]
            axes[0, c].plot(z, loss, color=color(i), lw=1.6, label=r.entry.display)
            axes[1, c].plot(z, grad, color=color(i), lw=1.6)
        if binary:
            name = task.dataset.classes[t]
            axes[0, c].set_title(f"a sample whose true class is {name!r} (y={t})", fontsize=10)
        else:
            axes[0, c].set_title(f"true class logit z, the other {task.dataset.n_classes - 1} logits at 0", fontsize=10)
        axes[0, c].set_ylabel("loss")
        axes[1, c].set_ylabel("d loss / d z  (the push on the logit)")
        axes[1, c].set_xlabel("logit z of the positive class" if binary else "true-class logit z")
        _clip_outliers(axes[0, c], [cv[t][0] for cv in curves], task, z.numpy())
        _clip_outliers(axes[1, c], [cv[t][1] for cv in curves], task, z.numpy())
        for ax in axes[:, c]:
            ax.axhline(0, color="0.6", lw=0.8)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, frameon=False)
    return fig


def to_base64_png(fig: Figure, dpi: int = 96) -> str:
    """The figure as a base64 PNG string (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")
