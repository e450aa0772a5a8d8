"""The figures of the ``losskit compare`` report (matplotlib without pyplot: safe without a display).

:func:`figures` returns the figures of a task, each with its title and caption; every figure shows
the first seed. ROC, precision-recall, confusion-matrix and prediction-error panels are
scikit-learn's displays drawn on the report's axes; reliability diagrams use the equal-mass bins of
the ECE in the tables (:data:`losskit.workbench.tasks.ECE_BINS`).
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import torch
from matplotlib.figure import Figure

from ..decision import reliability_curve
from .tasks import ECE_BINS, sigmoid, softmax
from .train import TaskResult

__all__ = [
    "color",
    "figures",
    "render",
    "training_curves",
    "roc_pr_curves",
    "confusion_matrices",
    "probability_histograms",
    "reliability_diagrams",
    "loss_and_gradient",
    "regression_fit",
    "segmentation_examples",
    "to_base64_png",
]

_PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def color(i: int) -> str:
    """The colour of the i-th loss of a task (the same in every figure)."""
    return _PALETTE[i % len(_PALETTE)]


def _tidy(
    fig: Figure,
    *,
    top: float = 0.45,
    bottom: float = 0.6,
    left: float = 0.75,
    right: float = 0.25,
    wspace: float = 0.35,
    hspace: float = 0.75,
) -> Figure:
    """Fixed margins in inches (matplotlib's constrained layout costs as much as drawing the figure twice)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, wspace=wspace, hspace=hspace
    )
    return fig


def _grid(n: int, width: float = 11.0, row_height: float = 2.9, cols: int = 0):
    cols = cols or (n if n <= 4 else 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width, row_height * rows + 0.5), layout=None)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _y(task: TaskResult):
    return task.groups[0].y_test


def training_curves(task: TaskResult) -> Figure:
    """Per epoch: each loss's own training objective, and the validation score that picks the epoch."""
    from matplotlib.ticker import MaxNLocator

    from .tasks import get

    kind = get(task.kind)
    fig = Figure(figsize=(11, 3.4), layout=None)
    axes = fig.subplots(1, 2)
    for i, run in enumerate(task.runs):
        ep = np.arange(1, len(run.history["train_loss"]) + 1)
        axes[0].plot(ep, run.history["train_loss"], color=color(i), lw=1.5, label=run.display)
        axes[1].plot(ep, run.history["val"], color=color(i), lw=1.5)
        b = run.best_epoch
        if 1 <= b <= len(ep):
            axes[1].plot([b], [run.history["val"][b - 1]], "o", color=color(i), ms=6, mec="white")
    axes[0].set_title("training objective (each loss on its own scale)", fontsize=10)
    axes[0].set_yscale("log")
    axes[1].set_title(f"{kind.select_text} (dots: the epoch kept)", fontsize=10)
    if kind.select_better == "low":
        axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, frameon=False)
    return fig


def _scores(task: TaskResult, run):
    """``(y, p)`` 1-D pairs for ROC/PR: binary as is; multi-class and multi-label micro-averaged (one-vs-rest)."""
    y = _y(task)
    if task.kind == "binary":
        return y, sigmoid(run.test_out)
    if task.kind == "multiclass":
        return np.eye(run.test_out.shape[1])[y].ravel(), softmax(run.test_out).ravel()
    return y.ravel(), sigmoid(run.test_out).ravel()


def roc_pr_curves(task: TaskResult) -> Figure:
    """ROC and precision-recall curves of every loss (scikit-learn's displays)."""
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    fig = Figure(figsize=(11, 4.2), layout=None)
    ax_roc, ax_pr = fig.subplots(1, 2)
    for i, run in enumerate(task.runs):
        y, p = _scores(task, run)
        for display in (
            RocCurveDisplay.from_predictions(y, p, ax=ax_roc, name=run.display, plot_chance_level=i == 0),
            PrecisionRecallDisplay.from_predictions(y, p, ax=ax_pr, name=run.display, plot_chance_level=i == 0),
        ):
            display.line_.set_color(color(i))  # the report's colour of this loss (any scikit-learn version)
            display.line_.set_linewidth(1.4)
    micro = "" if task.kind == "binary" else " (micro-average: every class/label decision pooled)"
    ax_roc.set_title("ROC" + micro, fontsize=10)
    ax_pr.set_title("precision-recall" + micro, fontsize=10)
    for ax in (ax_roc, ax_pr):
        ax.legend(fontsize=7.5, frameon=False)
        ax.grid(alpha=0.3)
    return fig


def confusion_matrices(task: TaskResult) -> Figure:
    """Test confusion matrix of each loss, normalised by the true class (scikit-learn's display)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    names = [str(c) for c in task.info["classes"]]
    k = len(names)
    fig, axes = _grid(len(task.runs), row_height=3.2 if k <= 4 else 3.6)
    y = _y(task)
    for i, (ax, run) in enumerate(zip(axes, task.runs, strict=True)):
        if task.kind == "binary":
            pred = (sigmoid(run.test_out) >= 0.5).astype(int)
        elif task.kind == "segmentation":
            pred, y = run.test_out.argmax(1).ravel(), _y(task).ravel()
        else:
            pred = run.test_out.argmax(1)
        ConfusionMatrixDisplay.from_predictions(
            y,
            pred,
            labels=list(range(k)),
            display_labels=names,
            ax=ax,
            normalize="true",
            values_format=".2f",
            colorbar=False,
            cmap="Blues",
            text_kw={"fontsize": 7 if k > 6 else 9},
        )
        ax.set_title(run.display, fontsize=10, color=color(i))
        ax.tick_params(labelsize=7)
    return fig


def probability_histograms(task: TaskResult) -> Figure:
    """Test-set predicted probabilities per loss: by true class (binary), or the top-label confidence of
    right and wrong predictions (multi-class); log counts."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    binary = task.kind == "binary"
    fig, axes = _grid(len(task.runs))
    bins = np.linspace(0, 1, 26)
    c_a, c_b = ("#4c72b0", "#dd8452") if binary else ("#55a868", "#c44e52")
    y = _y(task)
    for i, (ax, run) in enumerate(zip(axes, task.runs, strict=True)):
        if binary:
            p = sigmoid(run.test_out)
            ax.hist(p[y == 0], bins=bins, color=c_a, alpha=0.65)
            ax.hist(p[y == 1], bins=bins, color=c_b, alpha=0.75)
            ax.axvline(0.5, color="0.35", ls=":", lw=1.2)
            ax.axvline(run.metrics["threshold"], color="#c00000", lw=1.6)
            ax.set_xlabel(f"P({task.info['classes'][1]}) on test")
            title = f"{run.display}: tuned threshold {run.metrics['threshold']:.2f}"
        else:
            p = softmax(run.test_out)
            conf, ok = p.max(1), p.argmax(1) == y
            ax.hist(conf[ok], bins=bins, color=c_a, alpha=0.7)
            ax.hist(conf[~ok], bins=bins, color=c_b, alpha=0.85)
            ax.set_xlabel("top-label confidence on test")
            title = f"{run.display}: {int((~ok).sum())} wrong"
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=10, color=color(i))
        ax.grid(alpha=0.25)
    if binary:
        neg, pos = task.info["classes"][0], task.info["classes"][1]
        handles = [
            Patch(color=c_a, alpha=0.65, label=f"true {neg}"),
            Patch(color=c_b, alpha=0.75, label=f"true {pos}"),
            Line2D([], [], color="#c00000", lw=1.6, label="threshold tuned on validation (F1)"),
            Line2D([], [], color="0.35", ls=":", lw=1.2, label="0.5"),
        ]
    else:
        handles = [Patch(color=c_a, alpha=0.7, label="correct"), Patch(color=c_b, alpha=0.85, label="wrong")]
    fig.legend(handles=handles, loc="upper center", ncols=len(handles), frameon=False, fontsize=9)
    return fig


def _calibration_pairs(task: TaskResult, out: np.ndarray):
    y = _y(task)
    if task.kind == "binary":
        return sigmoid(out), y
    if task.kind == "multiclass":
        return softmax(out), y
    if task.kind == "multilabel":
        return sigmoid(out).ravel(), y.ravel()
    k = out.shape[1]  # segmentation: every pixel's class probabilities
    return softmax(out).transpose(0, 2, 3, 1).reshape(-1, k), y.ravel()


def reliability_diagrams(task: TaskResult) -> Figure:
    """Observed frequency against predicted probability in the equal-mass bins of the ECE, before and
    after temperature scaling (where a temperature was fitted)."""
    from matplotlib.lines import Line2D

    fig, axes = _grid(len(task.runs), row_height=3.3)
    for i, (ax, run) in enumerate(zip(axes, task.runs, strict=True)):
        p, y = _calibration_pairs(task, run.test_out)
        curve = reliability_curve(p, y, ECE_BINS, strategy="quantile")
        keep = curve.counts > 0
        for e in curve.edges:
            ax.axvline(e, color="0.9", lw=0.6, zorder=0)
        ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1)
        t = run.metrics.get("temperature", math.nan)
        if np.isfinite(t):
            p2, _ = _calibration_pairs(task, run.test_out / t)
            c2 = reliability_curve(p2, y, ECE_BINS, strategy="quantile")
            k2 = c2.counts > 0
            ax.plot(c2.confidence[k2], c2.accuracy[k2], ":s", color="0.3", lw=1.2, ms=4, mfc="none")
        ax.plot(curve.confidence[keep], curve.accuracy[keep], "-o", color=color(i), lw=1.4, ms=4)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        after = f" -> {run.metrics['ece_t']:.3f} after T={t:.2f}" if np.isfinite(t) else ""
        ax.set_title(f"{run.display}\nECE {run.metrics['ece']:.3f}{after}", fontsize=9.5, color=color(i))
        top = task.kind in ("multiclass", "segmentation")
        ax.set_xlabel("top-label confidence" if top else "predicted probability")
    axes[0].set_ylabel("observed frequency")
    handles = [
        Line2D([], [], color="0.2", marker="o", lw=1.4, label=f"model ({ECE_BINS} equal-mass bins, as in the ECE)"),
        Line2D(
            [],
            [],
            color="0.3",
            marker="s",
            mfc="none",
            ls=":",
            lw=1.2,
            label="after temperature scaling (T fitted on validation)",
        ),
        Line2D([], [], color="0.5", ls="--", lw=1, label="perfect calibration"),
        Line2D([], [], color="0.85", lw=1, label="bin edges"),
    ]
    fig.legend(handles=handles, loc="upper center", ncols=2, frameon=False, fontsize=9)
    return fig


def _curves(task: TaskResult, z: torch.Tensor) -> list:
    """Per-sample loss and d loss / d output of each configured loss along ``z``, as ``{target: (loss, grad)}``.

    Binary and multi-label: the logit, for a positive (1) and a negative (0) target. Multi-class:
    the true class's logit with the other K-1 logits at 0. Regression: the prediction ``z`` against
    a target 0 (a residual of ``z``; the variance output at softplus(0.5413) = 1).
    """
    out = []
    k = len(task.info["classes"])
    for r in task.resolved:
        r = _on_cpu(r)
        curves = {}
        for t in (1, 0) if task.kind in ("binary", "multilabel") else (0,):
            zz = z.clone().requires_grad_(True)
            if task.kind == "binary":
                x, target = zz, torch.full_like(zz, float(t))
            elif task.kind == "multilabel":
                x, target = zz[:, None], torch.full((len(zz), 1), float(t))
            elif task.kind == "multiclass":
                x = torch.cat([zz[:, None], torch.zeros(len(zz), k - 1, dtype=zz.dtype)], 1)
                target = torch.zeros(len(zz), dtype=torch.long)
            else:
                x = torch.stack([zz, torch.full_like(zz, 0.5413)], 1)  # softplus(0.5413) = 1: unit variance
                target = torch.zeros_like(zz)
            options = dict(r.options)
            if task.kind == "multilabel" and "pos_weight" in options:
                options["pos_weight"] = options["pos_weight"][:1]  # the first label's weight, for one label
            loss = type(r)(r.row, r.fn, options, r.class_weights, r.source, r.kind, r.terms).per_sample(x, target)
            (grad,) = torch.autograd.grad(loss.sum(), zz)
            curves[t] = (loss.detach().reshape(len(zz), -1).mean(1).numpy(), grad.numpy())
        out.append(curves)
    return out


def _on_cpu(r):
    opts = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in r.options.items()}
    cw = r.class_weights.cpu() if r.class_weights is not None else None
    return type(r)(r.row, r.fn, opts, cw, r.source, r.kind, r.terms)


def _clip_outliers(ax, ys, task) -> None:
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
        ax.text(
            0.99,
            0.03 + 0.07 * j if ext < 0 else 0.93 - 0.07 * j,
            f"{task.resolved[i].row.display} reaches {ext:.3g} (cut)",
            transform=ax.transAxes,
            ha="right",
            fontsize=8,
            color=color(i),
        )


def loss_and_gradient(task: TaskResult) -> Figure:
    """The compared losses, as configured (options and class weights included), against the model's output."""
    two = task.kind in ("binary", "multilabel")
    z = torch.linspace(-6, 6, 241, dtype=torch.float32) if task.kind != "regression" else torch.linspace(-4, 4, 241)
    curves = _curves(task, z)
    fig = Figure(figsize=(11 if two else 9, 6.2), layout=None)
    axes = fig.subplots(2, 2 if two else 1, squeeze=False, sharex=True)
    classes = task.info["classes"]
    for c, t in enumerate((1, 0) if two else (0,)):
        for i, (r, cv) in enumerate(zip(task.resolved, curves, strict=True)):
            axes[0, c].plot(z, cv[t][0], color=color(i), lw=1.6, label=r.row.display)
            axes[1, c].plot(z, cv[t][1], color=color(i), lw=1.6)
        if task.kind == "binary":
            axes[0, c].set_title(f"a sample whose true class is {classes[t]!r} (y={t})", fontsize=10)
        elif task.kind == "multilabel":
            axes[0, c].set_title(f"one label whose target is {t}", fontsize=10)
        elif task.kind == "multiclass":
            axes[0, c].set_title(f"true class logit z, the other {len(classes) - 1} logits at 0", fontsize=10)
        else:
            axes[0, c].set_title(
                "a prediction z for a target 0 (standardised units; predicted variance 1)", fontsize=10
            )
        axes[0, c].set_ylabel("loss")
        axes[1, c].set_ylabel("d loss / d z  (the push on the output)")
        axes[1, c].set_xlabel("residual z (prediction - target)" if task.kind == "regression" else "logit z")
        _clip_outliers(axes[0, c], [cv[t][0] for cv in curves], task)
        _clip_outliers(axes[1, c], [cv[t][1] for cv in curves], task)
        for ax in axes[:, c]:
            ax.axhline(0, color="0.6", lw=0.8)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, frameon=False)
    return fig


def regression_fit(task: TaskResult) -> Figure:
    """Predicted against actual test targets per loss (scikit-learn's PredictionErrorDisplay), in target units."""
    from sklearn.metrics import PredictionErrorDisplay

    loc, scale = task.groups[0].y_scale
    y = _y(task) * scale + loc
    fig, axes = _grid(len(task.runs), row_height=3.4, cols=min(4, len(task.runs)))
    for i, (ax, run) in enumerate(zip(axes, task.runs, strict=True)):
        mu = run.test_out[:, 0] * scale + loc
        PredictionErrorDisplay.from_predictions(
            y, mu, kind="actual_vs_predicted", ax=ax, scatter_kwargs={"color": color(i), "alpha": 0.6, "s": 12}
        )
        if not np.isnan(run.test_out[:, 1]).any():
            lim = ax.get_xlim(), ax.get_ylim()
            sd = np.sqrt(run.test_out[:, 1]) * scale
            ax.errorbar(mu, y, xerr=1.645 * sd, fmt="none", ecolor=color(i), alpha=0.18, lw=0.8)
            ax.set_xlim(*lim[0])  # the intervals may reach far: keep the axes of the points
            ax.set_ylim(*lim[1])
        ax.set_title(f"{run.display}: RMSE {run.metrics['rmse']:.4g}", fontsize=10, color=color(i))
    return fig


def segmentation_examples(task: TaskResult, n: int = 4) -> Figure:
    """A few test images: the input, the true mask, and each loss's predicted mask."""
    from matplotlib.colors import ListedColormap

    g = task.groups[0]
    y = g.y_test
    k = len(task.info["classes"])
    # the images with the most foreground classes first: they show the most
    order = np.argsort([-len(np.unique(m)) for m in y], kind="stable")[:n]
    cols = 2 + len(task.runs)
    fig = Figure(figsize=(1.5 * cols + 1.2, 1.55 * len(order) + 0.6), layout=None)
    axes = fig.subplots(len(order), cols, squeeze=False)
    cmap = ListedColormap(["#f4f4f6"] + [_PALETTE[j % len(_PALETTE)] for j in range(k - 1)])
    # the input images are those of the first seed's split (the figures' seed when it finished)
    images = getattr(task.problem.test, "X", None) if task.seeds[0] == task.config.seed else None
    for row, idx in enumerate(order):
        if images is not None:
            axes[row, 0].imshow(
                images[idx, 0].cpu().numpy() if hasattr(images, "cpu") else images[idx, 0], cmap="gray_r"
            )
        axes[row, 1].imshow(y[idx], cmap=cmap, vmin=0, vmax=k - 1, interpolation="nearest")
        for j, run in enumerate(task.runs):
            axes[row, 2 + j].imshow(run.test_out[idx].argmax(0), cmap=cmap, vmin=0, vmax=k - 1, interpolation="nearest")
    for j, name in enumerate(["input", "truth"] + [r.display for r in task.runs]):
        axes[0, j].set_title(name, fontsize=9, color=color(j - 2) if j >= 2 else "black")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    from matplotlib.patches import Patch

    fig.legend(
        handles=[Patch(color=cmap(c), label=str(task.info["classes"][c])) for c in range(k)],
        loc="lower center",
        ncols=min(k, 8),
        frameon=False,
        fontsize=8,
    )
    return fig


def figures(task: TaskResult) -> list:
    """``(title, caption, draw)`` for each figure of the task (the first seed); ``draw(task)`` makes the Figure."""
    seed = task.seeds[0]
    out = [
        (
            "Training curves",
            f"Each loss optimises its own objective, so the left panel's scales differ by design; "
            f"the right panel is what picks the epoch kept. Seed {seed}.",
            training_curves,
        )
    ]
    if task.kind in ("binary", "multiclass", "multilabel"):
        out.append(
            (
                "ROC and precision-recall curves",
                "Test split, scikit-learn's RocCurveDisplay and "
                "PrecisionRecallDisplay; AP is the PR-AUC of the tables (micro-averaged here for more than two "
                f"classes or labels, macro-averaged in the tables). Seed {seed}.",
                roc_pr_curves,
            )
        )
    if task.kind in ("binary", "multiclass", "segmentation"):
        what = "pixels" if task.kind == "segmentation" else "test samples"
        at = " at probability 0.5" if task.kind == "binary" else ""
        out.append(
            (
                "Confusion matrices",
                f"Share of the {what} of each true class (rows) given each predicted class "
                f"(columns){at}; scikit-learn's ConfusionMatrixDisplay. Seed {seed}.",
                confusion_matrices,
            )
        )
    if task.kind == "segmentation":
        out.append(
            (
                "Example predictions",
                f"Test images with the most classes: input, true mask, and the arg-max mask of each loss. Seed {seed}.",
                segmentation_examples,
            )
        )
    if task.kind == "binary":
        out.append(
            (
                "Predicted probabilities",
                (
                    "Test-set P(positive) for each true class (log counts); red: the F1-optimal threshold tuned on "
                    "validation, dotted: 0.5. A loss that pushes probabilities up or down moves where the classes "
                    "separate, and 0.5 is then the wrong cut."
                )
                if task.kind == "binary"
                else "Top-label confidence of correct (green) and wrong (red) test predictions (log counts).",
                probability_histograms,
            )
        )
    if task.kind != "regression":
        out.append(
            (
                "Reliability diagrams",
                f"Observed frequency against predicted probability in {ECE_BINS} "
                "equal-mass bins (each holds the same number of test predictions; grey lines: the bin edges), the "
                "bins of the ECE column. Diagonal: calibrated. Dotted: after temperature scaling fitted on "
                f"validation. Seed {seed}.",
                reliability_diagrams,
            )
        )
    else:
        out.append(
            (
                "Predictions against the truth",
                "Test split, in the target's units (scikit-learn's "
                "PredictionErrorDisplay); bars: the central 90% interval of the predicted variance (Gaussian NLL "
                f"only). Seed {seed}.",
                regression_fit,
            )
        )
    if task.kind != "segmentation":
        out.append(
            (
                "Loss and gradient against the model's output",
                "The losses exactly as trained here (options and "
                "class weights included). The gradient is the push each sample gives the output: focal losses stop "
                "pushing early, label smoothing pushes back past a finite logit, weights scale one class's push, "
                "L1 and Huber push with a bounded force.",
                loss_and_gradient,
            )
        )
    return out


#: margins (inches) of the figures whose legend sits above or below the panels
_MARGINS = {
    "probability_histograms": {"top": 0.85},
    "reliability_diagrams": {"top": 1.05, "hspace": 0.6},
    "segmentation_examples": {"bottom": 0.45, "left": 0.1, "right": 0.1, "top": 0.3, "wspace": 0.1, "hspace": 0.15},
    "confusion_matrices": {"left": 0.9, "bottom": 0.75, "wspace": 0.45, "hspace": 0.55},
    "loss_and_gradient": {"hspace": 0.25},
    "regression_fit": {"hspace": 0.5},
}


def render(task: TaskResult, index: int) -> str:
    """Figure ``index`` of :func:`figures`, drawn and encoded as a base64 PNG."""
    draw = figures(task)[index][2]
    return to_base64_png(_tidy(draw(task), **_MARGINS.get(draw.__name__, {})))


def to_base64_png(fig: Figure, dpi: int = 84) -> str:
    """The figure as a base64 PNG string (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")
