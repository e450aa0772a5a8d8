"""What a comparison writes: tables for the terminal, ``results.json``, ``results.csv`` and ``report.html``.

The HTML report is rendered from a jinja2 template (``templates/report.html``, package data); it is
self-contained (figures embedded as PNG, inline style sheet), so it can be mailed as one file.

The report concludes only what the paired, multi-seed numbers support: a loss is marked best in a
column only when its difference from the baseline (the task's first loss) keeps its sign in every
seed or its 95% interval excludes 0, and the generated conclusion says what the numbers do and do
not show (test-split size, shared hyper-parameters, the flags expected from noise alone).
"""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

from . import tasks as _tasks
from .train import MIN_SEEDS, TaskResult, paired_differences, significant, summary

__all__ = [
    "columns",
    "best",
    "format_table",
    "format_deltas",
    "conclusion",
    "results_dict",
    "write_json",
    "write_csv",
    "write_html",
    "write",
    "text",
    "check_writable",
]


def columns(task: TaskResult) -> list:
    """The metric columns of the task's kind."""
    return list(_tasks.get(task.kind).columns)


def _multi(task: TaskResult) -> bool:
    return len(task.seeds) > 1


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


def _good(diff, better: str) -> bool:
    return (diff[0] > 0) == (better == "high")


def best(task: TaskResult, key: str, better: str | None) -> set:
    """Rows marked best in a column: the best mean over seeds, and only where the paired difference
    from the baseline holds (same sign in every seed, or a 95% interval that excludes 0): a loss other
    than the baseline must beat it so; the baseline is marked when every other loss is worse so.
    Nothing with one seed, nothing when the best means tie."""
    if better is None or len(task.seeds) < MIN_SEEDS or len(task.runs) < 2:
        return set()
    means = [m for m, _ in summary(task, key)]
    vals = [round(v, 4) for v in means]
    finite = [v for v in vals if not math.isnan(v)]
    if len(finite) < 2:
        return set()
    target = max(finite) if better == "high" else min(finite)
    top = [i for i, v in enumerate(vals) if v == target]
    if len(top) != 1:
        return set()
    i = top[0]
    diffs = paired_differences(task, key)
    if i == 0:
        ok = all(significant(diffs[j]) and not _good(diffs[j], better) for j in range(1, len(diffs)))
    else:
        ok = significant(diffs[i]) and _good(diffs[i], better)
    return {i} if ok else set()


def _seeds_text(task: TaskResult) -> str:
    s = task.seeds
    if not s:
        return "no finished seed"
    if len(s) == 1:
        return f"seed {s[0]}"
    span = f"{s[0]}-{s[-1]}" if s == list(range(s[0], s[0] + len(s))) else ", ".join(map(str, s))
    return f"{len(s)} seeds ({span})"


def _kind_text(task: TaskResult) -> str:
    g, classes = task.groups[0], task.info["classes"]
    if task.kind == "binary":
        tr, te = task.problem.y_train.mean() * 100, g.y_test.mean() * 100
        if abs(tr - te) >= 0.5:
            return f"binary, positive class {classes[1]!r} = {tr:.1f}% of training rows, {te:.1f}% of test rows"
        return f"binary, positive class {classes[1]!r} = {te:.1f}%"
    if task.kind == "multiclass":
        return f"{len(classes)} classes"
    if task.kind == "multilabel":
        return f"{len(classes)} labels"
    if task.kind == "segmentation":
        return f"segmentation, {len(classes)} classes"
    return "regression"


def title(task: TaskResult) -> str:
    if not task.groups:
        return f"{task.name} ({task.kind}; no seed finished)"
    sizes = task.groups[0].sizes
    stats = "mean and sd over " + _seeds_text(task) if _multi(task) else _seeds_text(task)
    partial = f"; partial: {len(task.seeds)} of {len(task.planned_seeds)} seeds finished" if task.partial else ""
    return (
        f"{task.name} ({_kind_text(task)}; train/val/test {sizes['train']}/{sizes['validation']}/{sizes['test']}; "
        f"{stats}{partial})"
    )


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
    """A plain-text table of the test metrics, one row per loss; ``*`` marks a best that holds.

    With several seeds each loss has two lines: the mean over seeds, and under it the sd.
    """
    if not task.runs:
        return title(task)
    cols = columns(task)
    stats = {c.key: summary(task, c.key) for c in cols}
    marks = {c.key: best(task, c.key, c.better) for c in cols}
    rows = [["loss"] + [c.header for c in cols]]
    for i, r in enumerate(task.runs):
        mark = ["*" if i in marks[c.key] else " " if c.better else "" for c in cols]
        rows.append([r.display] + [_fmt(c.fmt, stats[c.key][i][0]) + m for c, m in zip(cols, mark, strict=True)])
        if _multi(task):
            rows.append(
                [""]
                + [_fmt_sd(c.fmt, stats[c.key][i][1]) + (" " if m else "") for c, m in zip(cols, mark, strict=True)]
            )
    return title(task) + "\n" + "\n".join(_text_grid(rows))


def _delta_cols(task: TaskResult) -> list:
    keys = _tasks.get(task.kind).delta_keys
    return [c for c in columns(task) if c.key in keys]


def format_deltas(task: TaskResult) -> str:
    """With several seeds: each loss minus the first one (the baseline), paired by seed, mean±sd.

    ``•`` marks a difference that holds (same sign in every seed, or a 95% interval that excludes 0).
    Empty with one seed or one loss.
    """
    if not _multi(task) or len(task.runs) < 2:
        return ""
    cols = _delta_cols(task)
    base = task.runs[0].display
    rows = [["loss"] + [c.header for c in cols]]
    diffs = {c.key: paired_differences(task, c.key) for c in cols}
    for i, r in enumerate(task.runs[1:], start=1):
        rows.append(
            [r.display]
            + [_fmt_delta(c.fmt, *diffs[c.key][i][:2]) + ("•" if significant(diffs[c.key][i]) else " ") for c in cols]
        )
    head = (
        f"difference from {base}, paired by seed (mean±sd over {len(task.seeds)} seeds; • = same sign in every "
        "seed or 95% interval excluding 0)"
    )
    return head + "\n" + "\n".join(_text_grid(rows))


# --------------------------------------------------------------------------------------------
# the conclusion
# --------------------------------------------------------------------------------------------
def noise(task: TaskResult) -> str:
    if not task.groups:
        return ""
    g = task.groups[0]
    return _tasks.get(task.kind).noise(g.y_test, g)


def findings(task: TaskResult) -> list:
    """``(loss index, column, (mean, sd, same_sign, low, high), better?)`` for every difference that holds."""
    out: list = []
    if len(task.seeds) < MIN_SEEDS:
        return out
    for c in _delta_cols(task):
        if c.better is None:
            continue
        diffs = paired_differences(task, c.key)
        for i in range(1, len(task.runs)):
            # a difference that holds but rounds to zero in its column's format is not worth a sentence
            if significant(diffs[i]) and _fmt(c.fmt, abs(diffs[i][0])) != _fmt(c.fmt, 0.0):
                out.append((i, c, diffs[i], _good(diffs[i], c.better)))
    return out


def conclusion(task: TaskResult) -> dict:
    """``{"shows": [...], "does_not": [...]}``: sentences the report states about this task."""
    if not task.runs:
        return {"shows": [], "does_not": ["No seed finished: there is nothing to conclude."]}
    base = task.runs[0].display
    n = len(task.seeds)
    shows, not_shown = [], []
    if n < MIN_SEEDS:
        shows.append(
            f"{'One seed' if n == 1 else f'{n} seeds'} only: every difference between the losses below could "
            f"be the draw of the seed (which samples landed in the test split, the initial weights). Nothing "
            f"is concluded; rerun with --seeds 5 (seeds=5) for paired differences that can hold."
        )
    else:
        found = findings(task)
        by_loss: dict = {}
        for i, c, d, good in found:
            by_loss.setdefault(i, []).append((c, d, good))
        for i, items in by_loss.items():
            parts = []
            for c, d, good in items:
                how = f"in all {n} seeds" if d[2] else f"95% interval {_fmt(c.fmt, d[3])} to {_fmt(c.fmt, d[4])}"
                parts.append(f"{'better' if good else 'worse'} {c.header} ({_fmt_delta(c.fmt, d[0], math.nan)}, {how})")
            shows.append(f"{task.runs[i].display} against {base}: " + "; ".join(parts) + ".")
        if not found:
            shows.append(
                f"No loss differs from {base} consistently on any metric: over {n} seeds every difference "
                f"changes sign or its interval includes 0. On this data and model the choice among these "
                f"losses does not show in the test metrics."
            )
        cols = [c for c in _delta_cols(task) if c.better is not None]
        comparisons = len(cols) * (len(task.runs) - 1)
        luck = comparisons * 2 / 2**n
        not_shown.append(
            f"Differences not named above change sign from seed to seed: they are noise at this size. "
            f"Of the {comparisons} paired comparisons, about {luck:.1f} would keep their sign in all {n} "
            f"seeds by chance alone (a sign test), so a single flag on its own is weak evidence."
        )
    not_shown.append("The test split is small: " + noise(task) + ".")
    not_shown.append(
        "Every loss was trained with the same model, learning rate, batch size and epoch budget (chosen "
        "for the baseline); a loss tuned on its own could rank differently, and another model or dataset "
        "can reverse any of these findings."
    )
    kind = _tasks.get(task.kind)
    calibration = (
        ""
        if task.kind == "regression"
        else "; losses that are not likelihoods (focal, smoothing, "
        "overlap) are not calibrated, so compare them on ranking and decision metrics, and on ECE only "
        "after temperature scaling"
    )
    not_shown.append(
        f"Each run is scored at the epoch with the best {kind.select_text} (patience "
        f"{task.config.patience}){calibration}."
    )
    budget = [
        r.display
        for i, r in enumerate(task.runs)
        if np.mean([runs[i].best_epoch for runs in task.seed_runs]) >= task.config.epochs - 1
    ]
    if budget:
        not_shown.append(
            f"{', '.join(budget)} kept (nearly) the last epoch: still improving when the budget of "
            f"{task.config.epochs} epochs ran out; more epochs (--epochs) could change the ranking."
        )
    if task.kind == "regression":
        not_shown.append(
            "The NLL of a point-prediction loss (MSE, L1, Huber) uses one variance fitted on the "
            "validation residuals; only Gaussian NLL predicts a variance per sample."
        )
    if getattr(task.problem, "test_is_val", False):
        not_shown.append(
            "No test split was given: these numbers are on the validation split that also chose the "
            "epoch, threshold and temperature, so they are optimistic."
        )
    return {"shows": shows, "does_not": not_shown}


# --------------------------------------------------------------------------------------------
# JSON and CSV
# --------------------------------------------------------------------------------------------
def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating, np.integer)):
        return _clean(x.item())
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def results_dict(result) -> dict:
    """Everything numeric about a comparison (what ``results.json`` holds); ``None`` stands for NaN."""
    out = {"meta": dict(result.meta), "partial": result.partial, "tasks": []}
    for t in result.tasks:
        keys = [c.key for c in columns(t)]
        stats = {k: summary(t, k) for k in keys} if t.runs else {}
        diffs = {k: paired_differences(t, k) for k in keys} if t.runs else {}
        marks = {c.key: best(t, c.key, c.better) for c in columns(t)} if t.runs else {}
        out["tasks"].append(
            {
                "task": t.name,
                "kind": t.kind,
                "classes": [str(c) for c in t.info["classes"]],
                "seeds": list(t.seeds),
                "planned_seeds": list(t.planned_seeds),
                "partial": t.partial,
                "model": t.model,
                "data_steps": list(t.problem.steps),
                "splits": [
                    {
                        "seed": g.seed,
                        "sizes": g.sizes,
                        "note": g.split_note,
                        "stacked": g.stacked,
                        "train_note": g.note,
                        "seconds": g.seconds,
                    }
                    for g in t.groups
                ],
                "conclusion": conclusion(t),
                "runs": [
                    {
                        "key": r.key,
                        "display": r.display,
                        "loss": r.loss,
                        "source": r.source,
                        "options": r.options,
                        "note": r.note,
                        "per_seed": [
                            {
                                "seed": s,
                                "metrics": runs[i].metrics,
                                "best_epoch": runs[i].best_epoch,
                                "epochs_run": runs[i].epochs_run,
                                "seconds": runs[i].seconds,
                                "diverged_epoch": runs[i].diverged,
                                "history": runs[i].history,
                                "per_class": [{"name": n, **v} for n, v in runs[i].per_class],
                            }
                            for s, runs in zip(t.seeds, t.seed_runs, strict=True)
                        ],
                        "mean": {k: stats[k][i][0] for k in keys},
                        "sd": {k: stats[k][i][1] for k in keys},
                        "best": [k for k in keys if i in marks[k]],
                        "paired_difference": {
                            k: {
                                "mean": diffs[k][i][0],
                                "sd": diffs[k][i][1],
                                "same_sign": diffs[k][i][2],
                                "ci95": [diffs[k][i][3], diffs[k][i][4]],
                                "holds": significant(diffs[k][i]),
                            }
                            for k in keys
                        },
                    }
                    for i, r in enumerate(t.runs)
                ],
            }
        )
    return _clean(out)


def write_json(result, path: str) -> str:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results_dict(result), f, indent=1)
    return path


def write_csv(result, path: str) -> str:
    """One row per task x loss x seed x metric."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["task", "kind", "loss", "display", "seed", "metric", "value"])
        for t in result.tasks:
            for s, runs in zip(t.seeds, t.seed_runs, strict=True):
                for r in runs:
                    for k, v in [*list(r.metrics.items()), ("seconds", r.seconds)]:
                        w.writerow(
                            [t.name, t.kind, r.key, r.display, s, k, "" if not math.isfinite(v) else repr(float(v))]
                        )
    return path


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
def _explanation(name: str) -> str:
    from ..explain import explain_text

    try:
        return explain_text(name)
    except (KeyError, ValueError):
        return ""


def _table(task: TaskResult) -> dict:
    cols = columns(task)
    stats = {c.key: summary(task, c.key) for c in cols}
    marks = {c.key: best(task, c.key, c.better) for c in cols}
    rows = []
    for i, r in enumerate(task.runs):
        rows.append(
            {
                "display": r.display,
                "color": _color(i),
                "cells": [
                    {
                        "text": _fmt(c.fmt, stats[c.key][i][0]),
                        "sd": _fmt_sd(c.fmt, stats[c.key][i][1]) if _multi(task) else "",
                        "best": i in marks[c.key],
                    }
                    for c in cols
                ],
            }
        )
    return {"columns": cols, "rows": rows}


def _deltas(task: TaskResult) -> dict | None:
    if not _multi(task) or len(task.runs) < 2:
        return None
    cols = _delta_cols(task)
    diffs = {c.key: paired_differences(task, c.key) for c in cols}
    rows = []
    for i, r in enumerate(task.runs[1:], start=1):
        cells = []
        for c in cols:
            d = diffs[c.key][i]
            holds = significant(d) and c.better is not None
            cells.append(
                {
                    "text": _fmt_delta(c.fmt, d[0], d[1]),
                    "ci": "" if math.isnan(d[3]) else f"{_fmt(c.fmt, d[3])} to {_fmt(c.fmt, d[4])}",
                    "cls": ("better" if _good(d, c.better) else "worse") if holds else "",
                }
            )
        rows.append({"display": r.display, "color": _color(i), "cells": cells})
    return {"columns": cols, "rows": rows, "base": task.runs[0].display}


_COUNTS = ("support", "pixels", "positives")


def _per_class(task: TaskResult) -> dict | None:
    """Per-class (per-label) metrics, mean over seeds: the class's test count once, two metrics per loss."""
    if not task.runs or not task.runs[0].per_class:
        return None
    names = [n for n, _ in task.runs[0].per_class]
    all_keys = list(task.runs[0].per_class[0][1])
    count = next(k for k in all_keys if k in _COUNTS)
    keys = [k for k in all_keys if k not in _COUNTS][-2:]  # recall and F1; F1 and PR-AUC; IoU and Dice

    def mean(i, ci, k):
        return float(np.nanmean([runs[i].per_class[ci][1][k] for runs in task.seed_runs]))

    rows = [
        {
            "name": name,
            "count": f"{mean(0, ci, count):.0f}",
            "cells": [_fmt("{:.3f}", mean(i, ci, k)) for i in range(len(task.runs)) for k in keys],
        }
        for ci, name in enumerate(names)
    ]
    return {"keys": keys, "count": count, "losses": [r.display for r in task.runs], "rows": rows}


def _color(i: int) -> str:
    from .plots import color

    return color(i)


_RENDER: list = []  # the tasks whose figures the forked renderers draw (inherited, not pickled)


def _one_thread():
    import torch

    torch.set_num_threads(1)


def _render_one(job):
    from . import plots

    ti, k = job
    return plots.render(_RENDER[ti], k)


def _figures(tasks: list, workers: int) -> list:
    """Every task's figures as ``[{"title", "caption", "png"}]`` per task; drawn in ``workers`` forked
    processes when there are several (matplotlib drawing is the slowest part of writing a report)."""
    import multiprocessing as mp

    from . import plots

    specs = [plots.figures(t) if t.runs else [] for t in tasks]
    jobs = [(ti, k) for ti, sp in enumerate(specs) for k in range(len(sp))]
    if workers > 1 and len(jobs) > 1 and "fork" in mp.get_all_start_methods():
        _RENDER[:] = tasks
        try:
            # one torch thread in each child: an OpenMP pool inherited through fork would hang its first parallel op
            with mp.get_context("fork").Pool(min(workers, len(jobs)), initializer=_one_thread) as pool:
                pngs = pool.map(_render_one, jobs, chunksize=1)
        finally:
            _RENDER.clear()
    else:
        pngs = [plots.render(tasks[ti], k) for ti, k in jobs]
    out: list[list] = [[] for _ in tasks]
    for (ti, k), png in zip(jobs, pngs, strict=True):
        title_, caption, _ = specs[ti][k]
        out[ti].append({"title": title_, "caption": caption, "png": png})
    return out


def _settings(result) -> str:
    cfg = result.config
    batches = ", ".join(sorted({f"{cfg.batch(t.kind)} ({t.kind})" for t in result.tasks}))
    return (
        f"AdamW, learning rate {cfg.lr:g}, weight decay {cfg.weight_decay:g}, batch {batches}, at most "
        f"{cfg.epochs} epochs, patience {cfg.patience}; the same initial weights and batch order for every loss "
        "of a seed"
    )


def write_html(result, path: str) -> str:
    """Render the report from the package's jinja2 template and write it to ``path``."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("losskit.workbench", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    import dataclasses

    from .train import _workers

    figs = _figures(result.tasks, _workers(dataclasses.replace(result.config, device="cpu"), 10**6))
    sections = []
    for t, f in zip(result.tasks, figs, strict=True):
        sections.append(
            {
                "task": t,
                "title": title(t),
                "kind": t.kind,
                "info": t.info,
                "problem": t.problem,
                "table": _table(t) if t.runs else None,
                "deltas": _deltas(t) if t.runs else None,
                "per_class": _per_class(t),
                "conclusion": conclusion(t),
                "noise": noise(t),
                "losses": [
                    {
                        "display": r.display,
                        "key": r.key,
                        "note": r.note,
                        "options": r.options,
                        "source": r.source,
                        "color": _color(i),
                    }
                    for i, r in enumerate(t.runs)
                ],
                "explanations": [(n, _explanation(n)) for n in dict.fromkeys(r.loss for r in t.runs)],
                "figures": f,
                "splits": t.groups,
                "seeds_text": _seeds_text(t),
                "multi": _multi(t),
                "select_text": _tasks.get(t.kind).select_text,
            }
        )
    html = env.get_template("report.html").render(
        result=result, meta=result.meta, sections=sections, settings=_settings(result)
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(html)
    return path


def check_writable(out_dir: str) -> None:
    """Create ``out_dir`` and prove it writable (a probe file), before anything trains.

    Raises:
        OSError: with a message that names the folder and what failed.
    """
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OSError(f"--out {out_dir}: exists and is not a directory")
    try:
        os.makedirs(out_dir, exist_ok=True)
        probe = os.path.join(out_dir, ".losskit-write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise OSError(f"--out {out_dir}: cannot write there ({e.strerror or e}); choose another folder") from None


def write(result, out_dir: str, *, html: bool = True) -> dict:
    """Write ``results.json`` and ``results.csv`` (first: they are fast) and then ``report.html``."""
    check_writable(out_dir)
    paths = {
        "json": write_json(result, os.path.join(out_dir, "results.json")),
        "csv": write_csv(result, os.path.join(out_dir, "results.csv")),
    }
    if html:
        paths["html"] = write_html(result, os.path.join(out_dir, "report.html"))
    return paths


def text(result) -> str:
    """The terminal summary: per task its table, paired differences and conclusion."""
    out = []
    for t in result.tasks:
        out.append(format_table(t))
        d = format_deltas(t)
        if d:
            out += ["", d]
        c = conclusion(t)
        out += ["", "What this shows: " + " ".join(c["shows"]), ""]
    if result.partial:
        out.append(
            f"PARTIAL: interrupted after {result.meta.get('finished_groups', 0)} of "
            f"{result.meta.get('planned_groups', 0)} (task, seed) groups; the tables hold what finished."
        )
    return "\n".join(out).rstrip() + "\n"
