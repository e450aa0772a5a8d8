"""Tables for the terminal and the self-contained HTML report of ``losskit compare``.

The HTML file has no external assets: the figures are PNGs embedded as base64 and the style sheet
is inline, so it can be mailed or attached as one file.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import platform
from typing import Optional

import numpy as np

from . import plots
from .train import TaskResult, paired_differences, summary

__all__ = ["COLUMNS", "DELTA_KEYS", "columns", "format_table", "format_deltas", "write_html", "write_json",
           "results_dict"]

# key, header, format, which direction is better, description
COLUMNS = [
    ("accuracy", "acc", "{:.3f}", "high", "accuracy at probability 0.5 (binary) or arg-max (multi-class)"),
    ("macro_f1", "macro-F1", "{:.3f}", "high", "F1 averaged over classes, same decisions as acc"),
    ("roc_auc", "ROC-AUC", "{:.3f}", "high", "area under the ROC curve (one-vs-rest macro for multi-class)"),
    ("pr_auc", "PR-AUC", "{:.3f}", "high", "average precision (one-vs-rest macro for multi-class)"),
    ("log_loss", "log-loss", "{:.3f}", "low", "negative log-likelihood of the test labels (the comparable loss)"),
    ("ece", "ECE", "{:.3f}", "low", "expected calibration error, 15 uniform bins"),
    ("temperature", "T", "{:.2f}", None, "temperature fitted on validation logits (>1: over-confident)"),
    ("ece_t", "ECE@T", "{:.3f}", "low", "ECE after dividing the logits by T"),
    ("threshold", "thr*", "{:.2f}", None, "F1-optimal probability threshold, tuned on validation"),
    ("f1_05", "F1@0.5", "{:.3f}", "high", "F1 of the positive class at threshold 0.5"),
    ("f1_tuned", "F1@thr*", "{:.3f}", "high", "F1 of the positive class at the tuned threshold"),
    ("seconds", "time", "{:.1f}s", None, "training time"),
]

#: the columns of the paired-difference table (when they apply to the task)
DELTA_KEYS = ("accuracy", "macro_f1", "pr_auc", "log_loss", "ece", "f1_05", "f1_tuned")


def columns(task: TaskResult) -> list:
    """The columns that apply to the task (threshold columns are binary only)."""
    keys = set(task.runs[0].metrics) | {"seconds"} if task.runs else set()
    return [c for c in COLUMNS if c[0] in keys]


def _multi(task: TaskResult) -> bool:
    return len(task.seeds) > 1


def _means(task: TaskResult, key: str) -> list:
    return [m for m, _ in summary(task, key)]


def _fmt(fmt, v):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _fmt_sd(fmt, v):
    """``±.043`` for an sd formatted like its column (leading zero dropped to keep columns narrow)."""
    if v is None or math.isnan(v):
        return ""
    text = fmt.format(v)
    return "±" + (text[1:] if text.startswith("0.") else text)


def _fmt_delta(fmt, mean, sd):
    m = fmt.format(mean)
    m = m if m.startswith("-") else "+" + m
    return m if math.isnan(sd) else f"{m}{_fmt_sd(fmt, sd)}"


def _best(task: TaskResult, key: str, better: Optional[str]) -> set:
    """Indices of the runs holding the best value of a column (mean over seeds, rounded to 3 decimals)."""
    if better is None:
        return set()
    vals = [round(v, 3) for v in _means(task, key)]
    finite = [v for v in vals if not math.isnan(v)]
    if len(finite) < 2 or len(set(finite)) == 1:  # nothing to single out when every run ties
        return set()
    target = max(finite) if better == "high" else min(finite)
    return {i for i, v in enumerate(vals) if v == target}


def _seeds_text(task: TaskResult) -> str:
    s = task.seeds
    if len(s) == 1:
        return f"seed {s[0]}"
    span = f"{s[0]}-{s[-1]}" if s == list(range(s[0], s[0] + len(s))) else ", ".join(map(str, s))
    return f"{len(s)} seeds ({span})"


def _title(task: TaskResult) -> str:
    ds = task.dataset
    sp = task.split
    if ds.n_classes == 2:
        tr, te = sp.y_train.mean() * 100, sp.y_test.mean() * 100
        if abs(tr - te) >= 0.5:
            kind = f"binary, positive class {ds.classes[1]!r} = {tr:.1f}% of training rows, {te:.1f}% of test rows"
        else:
            share = (np.bincount(ds.y, minlength=2)[1] / len(ds.y)) * 100
            kind = f"binary, positive class {ds.classes[1]!r} = {share:.1f}%"
    else:
        kind = f"{ds.n_classes} classes"
    sizes = sp.sizes()
    stats = "mean and sd over " + _seeds_text(task) if _multi(task) else _seeds_text(task)
    return (f"{ds.name} ({kind}; {len(ds.y)} rows x {ds.X.shape[1]} features; "
            f"train/val/test {sizes['train']}/{sizes['validation']}/{sizes['test']}; {stats})")


def _text_grid(rows: list, header_rows: int = 1) -> list:
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[j].rjust(widths[j]) for j in range(1, len(row))]
        lines.append("  ".join(cells).rstrip())
        if k == header_rows - 1:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_table(task: TaskResult) -> str:
    """A plain-text table of the test metrics, one row per loss; ``*`` marks the best of a column.

    With several seeds each loss has two lines: the mean over seeds, and under it the sd.
    """
    cols = columns(task)
    stats = {c[0]: summary(task, c[0]) for c in cols}
    best = {c[0]: _best(task, c[0], c[3]) for c in cols}
    rows = [["loss"] + [c[1] for c in cols]]
    for i, r in enumerate(task.runs):
        mark = ["*" if i in best[c[0]] else " " if c[3] else "" for c in cols]
        rows.append([r.display] + [_fmt(c[2], stats[c[0]][i][0]) + m for c, m in zip(cols, mark)])
        if _multi(task):
            rows.append([""] + [_fmt_sd(c[2], stats[c[0]][i][1]) + (" " if m else "") for c, m in zip(cols, mark)])
    return _title(task) + "\n" + "\n".join(_text_grid(rows))


def format_deltas(task: TaskResult) -> str:
    """With several seeds: each loss minus the first one (the baseline), paired by seed, mean±sd.

    ``•`` marks a difference with the same sign in every seed. Empty with one seed or one loss.
    """
    if not _multi(task) or len(task.runs) < 2:
        return ""
    cols = [c for c in columns(task) if c[0] in DELTA_KEYS]
    base = task.runs[0].display
    rows = [["loss"] + [c[1] for c in cols]]
    diffs = {c[0]: paired_differences(task, c[0]) for c in cols}
    for i, r in enumerate(task.runs[1:], start=1):
        rows.append([r.display] + [_fmt_delta(c[2], *diffs[c[0]][i][:2]) + ("•" if diffs[c[0]][i][2] else " ")
                                   for c in cols])
    head = (f"difference from {base}, paired by seed (mean±sd over {len(task.seeds)} seeds; "
            f"• = same sign in every seed; higher is better except log-loss and ECE)")
    return head + "\n" + "\n".join(_text_grid(rows))


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------
def results_dict(tasks: list, meta: dict) -> dict:
    """Everything numeric about a run (what ``results.json`` holds)."""
    out = {"meta": meta, "tasks": []}
    for t in tasks:
        keys = list(t.runs[0].metrics) if t.runs else []
        stats = {k: summary(t, k) for k in keys}
        diffs = {k: paired_differences(t, k) for k in keys}
        out["tasks"].append({
            "dataset": t.dataset.name,
            "classes": [str(c) for c in t.dataset.classes],
            "split": t.split.sizes(),
            "split_note": t.split.note,
            "seeds": list(t.seeds),
            "runs": [
                # metrics/history: the first seed (the one in the figures); per_seed: every seed's metrics;
                # mean/sd over seeds; paired_difference: minus the first loss, seed by seed (mean, sd)
                {"key": r.key, "display": r.display, "loss": r.loss, "source": r.source, "options": r.options,
                 "metrics": r.metrics, "seconds": r.seconds, "history": r.history,
                 "per_seed": [{"seed": s, "metrics": runs[i].metrics, "seconds": runs[i].seconds}
                              for s, runs in zip(t.seeds, t.seed_runs)],
                 "mean": {k: stats[k][i][0] for k in keys},
                 "sd": {k: stats[k][i][1] for k in keys},
                 "paired_difference": {k: {"mean": diffs[k][i][0], "sd": diffs[k][i][1], "same_sign": diffs[k][i][2]}
                                       for k in keys}}
                for i, r in enumerate(t.runs)
            ],
        })
    return out


def write_json(tasks: list, meta: dict, path: str) -> None:
    with open(path, "w") as f:
        json.dump(results_dict(tasks, meta), f, indent=1, default=float)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
_CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial, sans-serif;
       color: #1d1d1f; max-width: 1120px; margin: 0 auto; padding: 24px 28px 60px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 22px; margin: 44px 0 6px; padding-top: 14px; border-top: 2px solid #e4e4e8; }
h3 { font-size: 16px; margin: 26px 0 6px; }
.sub { color: #5a5a66; margin: 0 0 14px; }
.meta { color: #5a5a66; font-size: 13px; }
code { background: #f2f2f5; padding: 1px 5px; border-radius: 4px; font-size: 13px; }
table.metrics { border-collapse: collapse; margin: 10px 0 6px; font-variant-numeric: tabular-nums; font-size: 14px; }
table.metrics th, table.metrics td { padding: 5px 10px; border-bottom: 1px solid #e6e6ea; text-align: right; }
table.metrics th { background: #f6f6f9; font-weight: 600; border-bottom: 2px solid #d4d4da; cursor: help; }
table.metrics td:first-child, table.metrics th:first-child { text-align: left; }
table.metrics td.best { font-weight: 700; background: #eaf6ec; }
table.metrics .sd { display: block; color: #8a8a96; font-size: 11.5px; line-height: 1.1; }
table.metrics td:first-child { white-space: nowrap; }
table.deltas td.better { background: #eaf6ec; }
table.deltas td.worse { background: #fbeaea; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 7px; }
table.losses { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
table.losses td, table.losses th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
table.losses th { color: #5a5a66; font-weight: 600; }
.legend { font-size: 13px; color: #5a5a66; margin: 4px 0 0; }
figure { margin: 12px 0 8px; }
figure img { max-width: 100%; height: auto; border: 1px solid #ececf0; border-radius: 6px; }
figcaption { font-size: 13.5px; color: #3c3c46; margin-top: 4px; }
.callout { background: #fff8e6; border-left: 4px solid #f0b429; padding: 8px 12px; margin: 10px 0; font-size: 14px; }
.prov { font-size: 13.5px; color: #3c3c46; }
ul.read li { margin: 2px 0; }
details { font-size: 13px; margin: 2px 0; }
details pre { background: #f6f6f9; padding: 8px 10px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
"""


def _esc(x) -> str:
    return html.escape(str(x))


def _html_table(task: TaskResult) -> str:
    cols = columns(task)
    stats = {c[0]: summary(task, c[0]) for c in cols}
    best = {c[0]: _best(task, c[0], c[3]) for c in cols}
    head = "".join(f'<th title="{_esc(c[4])}">{_esc(c[1])}</th>' for c in cols)
    body = []
    for i, r in enumerate(task.runs):
        cells = "".join(
            f'<td class="{"best" if i in best[c[0]] else ""}">{_esc(_fmt(c[2], stats[c[0]][i][0]))}'
            + (f'<span class="sd">{_esc(_fmt_sd(c[2], stats[c[0]][i][1]))}</span>' if _multi(task) else "")
            + "</td>"
            for c in cols
        )
        body.append(f'<tr><td><span class="swatch" style="background:{plots.color(i)}"></span>{_esc(r.display)}</td>{cells}</tr>')
    legend = "; ".join(f"<b>{_esc(c[1])}</b>: {_esc(c[4])}" for c in cols)
    what = (f"Test split, mean over {_esc(_seeds_text(task))} with the standard deviation in grey (each seed draws "
            "its own split, initial weights and batch order)" if _multi(task) else "Test split")
    return (f'<table class="metrics"><thead><tr><th>loss</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            f'<p class="legend">{what}. Shaded: best in the column (ties shaded alike; nothing shaded when all tie). '
            f"{legend}.</p>")


def _html_deltas(task: TaskResult) -> str:
    """The paired differences from the first loss (several seeds only)."""
    if not _multi(task) or len(task.runs) < 2:
        return ""
    cols = [c for c in columns(task) if c[0] in DELTA_KEYS]
    diffs = {c[0]: paired_differences(task, c[0]) for c in cols}
    head = "".join(f'<th title="{_esc(c[4])}">{_esc(c[1])}</th>' for c in cols)
    body = []
    for i, r in enumerate(task.runs[1:], start=1):
        cells = []
        for c in cols:
            mean, sd, same = diffs[c[0]][i]
            good = same and ((mean > 0) == (c[3] == "high"))
            cls = ("better" if good else "worse") if same else ""
            cells.append(f'<td class="{cls}">{_esc(_fmt_delta(c[2], mean, sd))}</td>')
        body.append(f'<tr><td><span class="swatch" style="background:{plots.color(i)}"></span>{_esc(r.display)}</td>'
                    f'{"".join(cells)}</tr>')
    base = _esc(task.runs[0].display)
    return (f"<h3>Differences from {base}, paired by seed</h3>"
            f'<table class="metrics deltas"><thead><tr><th>loss</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            f'<p class="legend">Each loss minus {base} on the same split, initial weights and batch order, then the '
            f"mean ± sd of that difference over the {len(task.seeds)} seeds. Pairing removes what the losses share "
            "within a seed (which samples landed in the test split), so these are much less noisy than the "
            "spread in the table above. Coloured: the difference has the same sign in every seed (green: better, "
            "red: worse); uncoloured differences are not distinguishable from seed noise here.</p>")


def _losses_table(task: TaskResult) -> str:
    rows = "".join(
        f"<tr><td><span class=\"swatch\" style=\"background:{plots.color(i)}\"></span>{_esc(r.display)} "
        f"<code>{_esc(r.key)}</code></td><td>{_esc(r.note)}</td><td><code>{_esc(r.options or '—')}</code></td>"
        f"<td>{_esc(r.source)}</td></tr>"
        for i, r in enumerate(task.runs)
    )
    return ('<table class="losses"><thead><tr><th>loss (--losses name)</th><th>what it does</th>'
            f"<th>options used</th><th>implementation</th></tr></thead><tbody>{rows}</tbody></table>")


def _explanations(task: TaskResult) -> str:
    """Formula and likelihood of each loss used, from :mod:`losskit.explain` when it is installed."""
    try:
        from ..explain import explain_text
    except ImportError:
        return ""
    blocks = []
    for name in dict.fromkeys(r.loss for r in task.runs):
        try:
            text = explain_text(name)
        except (KeyError, ValueError):
            continue
        blocks.append(f"<details><summary><code>{_esc(name)}</code>: formula and likelihood</summary>"
                      f"<pre>{_esc(text)}</pre></details>")
    return "\n".join(blocks)


def _figure(fig, caption: str, alt: str) -> str:
    data = plots.to_base64_png(fig)
    return (f'<figure><img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _task_section(task: TaskResult) -> str:
    ds, cfg = task.dataset, task.config
    binary = ds.n_classes == 2
    counts = np.bincount(ds.y, minlength=ds.n_classes)
    balance = ", ".join(f"{_esc(c)}: {int(n)}" for c, n in zip(ds.classes, counts))
    lic = f" License: {_esc(ds.license)}." if ds.license else ""
    parts = [
        f'<h2 id="{_esc(ds.name)}">{_esc(ds.name)}</h2><p class="sub">{_esc(ds.description)}</p>',
        f'<p class="prov"><b>Data.</b> {_esc(ds.source)}.{lic} {len(ds.y)} rows, {ds.X.shape[1]} numeric features. '
        f"Classes: {balance}" + (f" (positive class: <code>{_esc(ds.classes[1])}</code>)" if binary else "") + ". "
        + "Split (stratified, seed {seed}): ".format(seed=cfg.seed)
        + ", ".join(f"{k} {v}" for k, v in task.split.sizes().items())
        + (f"; {_esc(task.split.note)}" if task.split.note else "")
        + "; features standardised with the training mean and standard deviation."
        + (f" Each of the {len(task.seeds)} seeds draws its own split"
           + (" and its own dropped rows" if task.split.note else "") + "; the figures show seed "
           + f"{cfg.seed}." if _multi(task) else "")
        + "</p>" + (f'<p class="callout">{_esc(ds.extra["why"])}</p>' if ds.extra.get("why") else ""),
        "<h3>Results on the test split</h3>",
        _html_table(task),
        _html_deltas(task),
        "<h3>The losses</h3>",
        _losses_table(task),
        _explanations(task),
        "<h3>Training curves</h3>",
        _figure(plots.training_curves(task),
                "Each loss optimises its own objective, so the left panel's scales differ by design. The middle "
                "panel puts every run on one scale: the validation negative log-likelihood.",
                "training curves"),
        "<h3>Predicted probabilities</h3>",
        '<div class="callout">Look at these histograms before choosing a threshold: a loss that pushes '
        "probabilities up or down (weights, smoothing, focal) moves where the classes separate, and 0.5 "
        "is then the wrong cut.</div>" if binary else
        '<div class="callout">Confidence of the predicted class: wrong answers at high confidence are what '
        "calibration and label smoothing are about.</div>",
        _figure(plots.probability_histograms(task),
                ("Test-set P(positive) for each true class (log counts). Red line: the F1-optimal threshold tuned "
                 "on validation; dotted: 0.5.") if binary else
                "Test-set top-label confidence for correct (green) and wrong (red) predictions (log counts).",
                "probability histograms"),
        "<h3>Reliability diagrams</h3>",
        _figure(plots.reliability_diagrams(task),
                "Observed frequency against predicted probability in 10 bins (diagonal: perfectly calibrated; grey "
                "bars: share of test samples per bin). Dotted: after temperature scaling fitted on validation. "
                "Few samples sit in the middle bins, so their points are noisy.",
                "reliability diagrams"),
        "<h3>Loss and gradient against the logit</h3>",
        _figure(plots.loss_and_gradient(task),
                "The losses exactly as trained here (options and class weights included). The gradient is the push "
                "each sample gives its logit: focal losses stop pushing early (easy samples go quiet), label "
                "smoothing pushes back past a finite logit, weights scale one class's push.",
                "loss and gradient against the logit"),
    ]
    return "\n".join(parts)


def write_html(tasks: list, path: str, meta: dict) -> str:
    """Write the self-contained report to ``path`` and return the path."""
    cfg = tasks[0].config if tasks else None
    cmd = _esc(meta.get("command", "losskit compare"))
    noise = "one test sample is " + ", ".join(
        f"1/{t.split.sizes()['test']} = {1 / t.split.sizes()['test']:.3f} accuracy in {_esc(t.dataset.name)}" for t in tasks
    ) + "."
    if tasks and _multi(tasks[0]):
        seeds_advice = (f"Each number is a mean over {len(tasks[0].seeds)} seeds (grey: its sd); the paired "
                        "differences under each table say which differences hold seed after seed.")
    else:
        seeds_advice = "Rerun with <code>--seeds 5</code> (mean ± sd, paired differences) before concluding."
    nav = " · ".join(f'<a href="#{_esc(t.dataset.name)}">{_esc(t.dataset.name)}</a>' for t in tasks)
    head = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>losskit compare — {", ".join(_esc(t.dataset.name) for t in tasks)}</title><style>{_CSS}</style></head><body>
<h1>losskit compare</h1>
<p class="sub">The same model trained once per loss; only the loss changes. Tasks: {nav}</p>
<p class="meta"><code>{cmd}</code><br>
{_esc(meta.get("date", ""))} · {_esc(_seeds_text(tasks[0])) if tasks else ""} · device {_esc(cfg.device if cfg else "")} ·
model: MLP (1 hidden layer of {cfg.hidden if cfg else ""} ReLU units), AdamW lr {cfg.lr if cfg else ""}, weight decay {cfg.weight_decay if cfg else ""},
batch {cfg.batch_size if cfg else ""}, {cfg.epochs if cfg else ""} epochs, same initial weights and batch order for every loss ·
losskit {_esc(meta.get("losskit", ""))}, torch {_esc(meta.get("torch", ""))}, Python {_esc(platform.python_version())} ·
trained and scored in {meta.get("train_seconds", meta.get("seconds", 0)):.1f}s</p>
<h3>How to read this</h3>
<ul class="read">
<li>Ranking metrics (ROC-AUC, PR-AUC) say how well a loss orders the samples; log-loss and ECE say whether its
probabilities can be taken at face value; the threshold columns say where to cut.</li>
<li>Threshold and temperature are fitted on the validation split and scored on the test split.</li>
<li>Small test sets make small differences noise: {noise} {seeds_advice}</li>
</ul>
"""
    body = "\n".join(_task_section(t) for t in tasks)
    tail = "<p class=\"meta\" style=\"margin-top:40px\">Generated by losskit. Self-contained: no external assets.</p></body></html>\n"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + body + tail)
    return path


def now() -> str:
    return _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
