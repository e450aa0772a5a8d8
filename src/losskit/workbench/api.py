"""``losskit.workbench.compare``: compare losses on your model and your data (what ``losskit compare`` calls).

A comparison is planned (data read and checked, the roster chosen, the model tried on one batch,
the time estimated), trained (:mod:`~losskit.workbench.train`) and written
(:mod:`~losskit.workbench.report`): ``report.html``, ``results.json`` and ``results.csv``.
"""

from __future__ import annotations

import datetime as _dt
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import catalog
from .. import checks as value_checks
from . import data as _data
from . import models as _models
from . import tasks as _tasks
from .train import Interrupted, TaskResult, TrainConfig, resolve, run_groups, score_group

__all__ = ["compare", "Result", "TaskPlan", "PlanError", "plan_dataset", "plan_user", "check", "run", "estimate"]


class PlanError(ValueError):
    """A comparison that cannot start: the message names the argument and the fix."""


@dataclass
class TaskPlan:
    """One task to compare: its data (a split per seed), its loss rows and its model."""

    name: str
    kind: str
    rows: list
    model: _models.Model
    make_problem: Callable
    info: dict
    first: Any = None  # the first seed's Problem, made by check()
    step_seconds: float = math.nan


def _rows(kind: str, losses) -> list:
    try:
        return catalog.select(kind, losses)
    except catalog.RosterError as e:
        raise PlanError(str(e)) from None


def _info(ds) -> dict:
    return {
        "name": ds.name,
        "classes": list(ds.classes),
        "source": ds.source,
        "license": ds.license,
        "description": ds.description,
        "why": ds.extra.get("why", ""),
        "kind": ds.kind,
    }


def plan_dataset(ds: _data.Dataset, cfg: TrainConfig, losses=None) -> TaskPlan:
    """A plan for a bundled or read dataset, trained on the built-in model (each seed draws its own split)."""
    rows = _rows(ds.kind, losses)
    kind = _tasks.get(ds.kind)
    n_out = kind.outputs(ds.n_classes, rows)
    if ds.kind == "segmentation":
        in_ch, width = ds.X.shape[1], 12
        factory = lambda: _models.segmentation_cnn(in_ch, n_out, width)
        text = _models.describe_builtin("segmentation", in_ch, n_out, width)
    else:
        probe = _data.problem(ds, cfg.seed)
        n_in = probe.in_shape[0]
        factory = lambda: _models.mlp(n_in, n_out, cfg.hidden)
        text = _models.describe_builtin(ds.kind, n_in, n_out, cfg.hidden)
    model = _models.Model(factory, text, builtin=True)
    return TaskPlan(ds.name, ds.kind, rows, model, lambda seed: _data.problem(ds, seed), _info(ds))


def plan_user(
    model, train, val, test=None, *, task="auto", losses=None, classes=None, name="your data", device="cpu"
) -> TaskPlan:
    """A plan for the user's model and data (the split is theirs, the same for every seed)."""
    try:
        spec = _models.Model.of(model)
        prob, why = _data.user_problem(train, val, test, task=task, classes=classes, name=name, device="cpu")
    except TypeError as e:
        raise PlanError(str(e)) from None
    rows = _rows(prob.kind, losses)
    info = {
        "name": name,
        "classes": list(prob.classes),
        "source": "your data (Python API)",
        "license": "",
        "description": why,
        "why": "",
        "kind": prob.kind,
    }
    plan = TaskPlan(name, prob.kind, rows, spec, lambda seed: prob, info)
    plan.first = prob
    return plan


def check(plan: TaskPlan, cfg: TrainConfig) -> TaskPlan:
    """Try everything on one batch before anything trains: the model's output shape, every loss with
    its options, a training step (timed, for :func:`estimate`). Raises :class:`PlanError` with the fix."""
    from .train import _can_stack, _optimizer, _Stack

    if not plan.rows:
        valid = ", ".join(r.key for r in catalog.roster(plan.kind))
        raise PlanError(f"none of --losses apply to {plan.name} ({plan.kind}); {plan.kind} tasks take {valid}")
    kind = _tasks.get(plan.kind)
    prob = plan.first if plan.first is not None else plan.make_problem(cfg.seed)
    plan.first = prob
    n_classes = len(prob.classes)
    model = plan.model.build(cfg.seed)
    x, y = next(iter(prob.train.ordered(min(cfg.batch(plan.kind), 64))))
    try:
        out = model(x)
    except Exception as e:  # the user's model on one batch of their data
        raise PlanError(
            f"model: forward pass on a training batch of shape {tuple(x.shape)} failed: {type(e).__name__}: {e}"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise PlanError(f"model: returned {type(out).__name__}; it must return one tensor of outputs")
    bad = kind.check_output(out, n_classes, plan.rows)
    if bad:
        raise PlanError(
            f"model: its output does not fit a {plan.kind} task with {n_classes or 1} "
            f"{'classes' if plan.kind != 'multilabel' else 'labels'}: {bad}"
        )
    t = kind.target(y)
    for row in plan.rows:
        try:
            value = resolve(row, prob.counts)(out, t)
        except (ValueError, TypeError, RuntimeError) as e:
            raise PlanError(f"loss {row.key!r} ({row.loss}) cannot run on this data: {e}") from None
        if value.dim() != 0:
            raise PlanError(f"loss {row.key!r} gave a {tuple(value.shape)} value, not a scalar")
    # one timed step of every model stacked: the basis of the estimate
    losses = [resolve(r, prob.counts) for r in plan.rows]
    models = [plan.model.build(cfg.seed) for _ in plan.rows]
    stack = cfg.stack and len(models) > 1 and not _can_stack(models, prob, losses, kind)
    nets = [_Stack(models, True)] if stack else [_Stack([m], False) for m in models]
    groups = [losses] if stack else [[l] for l in losses]
    # the first optimiser also imports torch's compiler stack (seconds): done here, before the workers fork
    opts = [_optimizer(net.parameters(), cfg) for net in nets]
    elapsed = []
    with value_checks("off"):  # as in training after its first epoch
        for _ in range(4):
            t0 = time.perf_counter()
            for net, ls, opt in zip(nets, groups, opts, strict=True):
                o = net.forward(x)
                torch.stack([l(o[r], t) for r, l in enumerate(ls)]).sum().backward()
                opt.step()
                opt.zero_grad()
            elapsed.append(time.perf_counter() - t0)
    plan.step_seconds = float(np.median(elapsed[1:])) * 1.2  # the validation pass on top
    return plan


def estimate(plans: list, cfg: TrainConfig, workers: int) -> float:
    """Upper estimate of the training wall time in seconds (every epoch run; early stopping ends sooner)."""
    total = 0.0
    for p in plans:
        steps = math.ceil(len(p.first.y_train) / cfg.batch(p.kind)) * cfg.epochs
        total += steps * p.step_seconds * cfg.seeds
    return total / max(workers, 1)


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------
@dataclass
class Result:
    """What a comparison found. ``write(out_dir)`` writes ``report.html``, ``results.json`` and
    ``results.csv``; ``table()`` is the plain-text summary. ``partial`` is true when it was
    interrupted (the tasks then hold the seeds that finished)."""

    tasks: list
    config: TrainConfig
    meta: dict = field(default_factory=dict)
    partial: bool = False

    def write(self, out_dir: str, *, html: bool = True) -> dict:
        """Write the results to ``out_dir`` (created); returns the paths written, by name."""
        from . import report

        return report.write(self, out_dir, html=html)

    def table(self) -> str:
        from . import report

        return report.text(self)

    def __getitem__(self, name: str) -> TaskResult:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(f"no task named {name!r}; tasks: {', '.join(t.name for t in self.tasks)}")


def _assemble(plans: list, groups: list, cfg: TrainConfig) -> list:
    tasks = []
    for ti, p in enumerate(plans):
        mine = sorted((g for g in groups if g.task == ti), key=lambda g: g.seed)
        for g in mine:
            score_group(g, p.kind)
        first = p.first
        resolved = [resolve(r, first.counts) for r in p.rows]
        tasks.append(
            TaskResult(
                p.name,
                p.kind,
                p.rows,
                cfg,
                first,
                p.info,
                resolved,
                [g.seed for g in mine],
                [g.runs for g in mine],
                mine,
                p.model.description,
                cfg.seed_list(),
            )
        )
    return tasks


def run(plans: list, cfg: TrainConfig, on_event=None, meta: dict | None = None) -> Result:
    """Train every plan (checked) over ``cfg``'s seeds; Ctrl-C gives a partial :class:`Result`."""
    t0 = time.perf_counter()
    partial = False

    def scored(what, job, payload):
        if what == "done":
            score_group(payload, plans[payload.task].kind)
        if on_event is not None:
            on_event(what, job, payload)

    try:
        groups = run_groups(plans, cfg, scored)
    except Interrupted as e:
        groups, partial = e.groups, True
    seconds = time.perf_counter() - t0
    from .. import __version__

    m = {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "losskit": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "seeds": cfg.seed_list(),
        "device": cfg.device,
        "epochs": cfg.epochs,
        "patience": cfg.patience,
        "train_seconds": seconds,
        "partial": partial,
        "finished_groups": len(groups),
        "planned_groups": len(plans) * cfg.seeds,
    }
    m.update(meta or {})
    return Result(_assemble(plans, groups, cfg), cfg, m, partial)


def compare(
    model: nn.Module | Callable[[], nn.Module],
    train,
    val,
    test=None,
    *,
    task: str = "auto",
    losses=None,
    epochs: int | None = None,
    seeds: int | None = None,
    device: str | None = None,
    progress: bool = True,
    classes=None,
    name: str = "your data",
    config: TrainConfig | None = None,
    **options,
) -> Result:
    """Train ``model`` once per loss on your data and compare them (the Python API of ``losskit compare``).

    Args:
        model: an ``nn.Module`` (deep-copied for every run, so every loss starts from its weights) or a
            zero-argument factory returning one (called under ``torch.manual_seed(seed)``, so each seed
            draws new initial weights and the losses of a seed share them). Its output: ``(N,)`` or
            ``(N, 1)`` logits (binary), ``(N, K)`` (multiclass), ``(N, L)`` (multilabel), ``(N,)``,
            ``(N, 1)`` or ``(N, 2)`` mean and pre-softplus variance (regression; the variance is needed
            by the Gaussian NLL row only), ``(N, K, H, W)`` (segmentation).
        train, val, test: ``(X, y)`` tensors or arrays, or DataLoaders of ``(x, y)`` batches. ``val``
            picks the epoch (early stopping), the threshold and the temperature; ``test`` is scored.
            Without ``test`` the validation split is scored too (the report says so: optimistic).
        task: ``"auto"`` (from the targets: an ``(N, H, W)`` integer mask with ``(N, C, H, W)`` inputs
            is segmentation, ``(N, L)`` 0/1 targets multi-label, two values binary, more integers
            multi-class, other numbers regression; the report says which and why) or a kind.
        losses: roster keys with options and sweeps (``"bce,focal:gamma=0.5|1|2"``; see
            :func:`losskit.catalog.select`), or ``None`` for the task's defaults.
        epochs, seeds, device: override :class:`~losskit.workbench.train.TrainConfig` (defaults 40
            epochs with patience 10, 5 seeds, CPU).
        progress: a tqdm bar on a terminal (one line per finished run otherwise); ``False``: silent.
        classes: class (or label) names, for the tables.
        name: the task's name in the report.
        config: a whole :class:`~losskit.workbench.train.TrainConfig`; ``**options`` set its other
            fields (``batch_size``, ``lr``, ``patience``, ``workers``, ...).

    Returns:
        :class:`Result`: ``result.write(out_dir)`` writes ``report.html``, ``results.json`` and
        ``results.csv`` (one row per task x loss x seed x metric).

    Example:
        >>> import torch
        >>> from losskit.workbench import compare
        >>> g = torch.Generator().manual_seed(0)
        >>> X = torch.randn(300, 5, generator=g); y = (X[:, 0] + 0.5 * torch.randn(300, generator=g) > 0).float()
        >>> result = compare(torch.nn.Linear(5, 1), (X[:200], y[:200]), (X[200:250], y[200:250]),
        ...                  (X[250:], y[250:]), losses="bce,focal", epochs=3, seeds=2, progress=False)
        >>> [r.key for r in result.tasks[0].runs], result.tasks[0].kind
        (['bce', 'focal'], 'binary')
    """
    given: dict[str, Any] = {
        k: v for k, v in (("epochs", epochs), ("seeds", seeds), ("device", device)) if v is not None
    }
    cfg = replace(config or TrainConfig(), **given)
    if options:
        unknown = [k for k in options if k not in TrainConfig.__dataclass_fields__]
        if unknown:
            raise TypeError(
                f"compare() got unknown option(s) {', '.join(unknown)}; TrainConfig fields are "
                f"{', '.join(TrainConfig.__dataclass_fields__)}"
            )
        cfg = replace(cfg, **options)
    try:
        plan = check(
            plan_user(model, train, val, test, task=task, losses=losses, classes=classes, name=name, device=cfg.device),
            cfg,
        )
    except _data.DataError as e:
        raise PlanError(str(e)) from None
    from .progress import Progress

    bar = Progress([plan], cfg, enabled=progress)
    try:
        return run([plan], cfg, bar.event)
    finally:
        bar.close()
