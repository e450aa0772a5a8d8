"""Training for ``losskit compare``: every loss of a task trained on the same model, data and batch order.

Within one seed, every loss starts from the same initial weights and sees the same minibatches in
the same order; only the loss changes. The losses of a seed are trained together: their models are
stacked and run as one with :func:`torch.func.vmap` (each model gets the gradient of its own loss
only, and AdamW updates every element on its own, so this is the same computation as training them
one after another, in one pass over the data). A model that ``vmap`` cannot run is trained one loss
after another instead. Each run keeps the epoch with the best validation score (early stopping with
``patience``); the epoch is reported.

The groups (one per task and seed) run in parallel, one process per CPU core (``workers``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import catalog
from .. import checks as value_checks
from . import tasks as _tasks

__all__ = [
    "TrainConfig",
    "ResolvedLoss",
    "resolve",
    "RunResult",
    "Group",
    "TaskResult",
    "train_group",
    "run_groups",
    "Interrupted",
    "RunError",
    "summary",
    "paired_differences",
    "roster",
]


def roster(task: str, keys=None) -> list:
    """The roster rows of ``task``: its defaults, or those named in ``keys`` (see :func:`losskit.catalog.select`)."""
    return catalog.select(task, keys)


@dataclass
class TrainConfig:
    """How every run trains. The command line reads its defaults from here."""

    epochs: int = 40
    #: stop a run after this many epochs without a better validation score (the best epoch is kept)
    patience: int = 10
    #: minibatch size; ``None``: 256 rows for tables, 16 images for segmentation
    batch_size: int | None = None
    lr: float = 6e-3
    weight_decay: float = 1e-4
    #: hidden units of the built-in MLP (the built-in segmentation CNN has 12 and 24 channels)
    hidden: int = 64
    #: number of seeds; the first is ``seed``
    seeds: int = 5
    seed: int = 0
    device: str = "cpu"
    #: the number of processes that train groups in parallel; 0 means one per CPU core
    workers: int = 0
    #: torch threads per process
    threads: int = 1
    #: train the losses of a seed together (torch.func.vmap over stacked models)
    stack: bool = True

    def seed_list(self) -> list:
        return [self.seed + i for i in range(self.seeds)]

    def batch(self, kind: str) -> int:
        """The minibatch size for a task kind."""
        return self.batch_size or (16 if kind == "segmentation" else 256)


# --------------------------------------------------------------------------------------------
# the losses, bound to options
# --------------------------------------------------------------------------------------------
@dataclass
class ResolvedLoss:
    """A roster row bound to its function and concrete options for one training split.

    Called with the *model's output* and the target: the task kind maps the output to what the loss
    takes (a binary logit vector, the mean and ``softplus`` variance of a regression row with
    ``variance``), and a combination row adds its further terms with :func:`losskit.functional.combined_loss`.
    """

    row: catalog.Roster
    fn: Callable
    options: dict
    class_weights: torch.Tensor | None
    source: str
    kind: str
    terms: tuple = ()

    def _opts(self, options, like):
        return {
            k: v.to(like.dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v
            for k, v in options.items()
        }

    def _loss(self, out, target, reduction):
        kind = _tasks.get(self.kind)
        if self.row.variance:
            mean, var = out[:, 0], nn.functional.softplus(out[:, 1])
            return self.fn(mean, target, var, reduction=reduction, **self._opts(self.options, out))
        x = kind.loss_input(out)
        if not self.terms:
            return self.fn(x, target, reduction=reduction, **self._opts(self.options, x))
        from ..functional import combined_loss

        parts = {self.row.loss: lambda a, b: self.fn(a, b, reduction=reduction, **self._opts(self.options, a))}
        weights = {self.row.loss: 1.0}
        for w, fn, opts in self.terms:
            parts[fn.__name__] = lambda a, b, fn=fn, opts=opts: fn(a, b, reduction=reduction, **self._opts(opts, a))
            weights[fn.__name__] = w
        return combined_loss(x, target, parts, weights=weights)

    def __call__(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The training objective (a scalar) for a batch of model outputs."""
        if self.class_weights is None:
            return self._loss(out, target, "mean")
        return self.per_sample(out, target).mean()

    def per_sample(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The unreduced losses, class weights included (their mean is the objective, except for losses
        with a ``weight`` option, whose mean divides by the summed weights as torch does)."""
        per = self._loss(out, target, "none")
        if self.class_weights is not None:
            per = self.class_weights.to(per.dtype)[target.long()] * per
        return per

    def options_text(self) -> str:
        parts = []
        for k, v in self.options.items():
            if isinstance(v, torch.Tensor):
                v = ", ".join(f"{x:.3g}" for x in v.flatten().tolist())
            parts.append(f"{k}={v}")
        if self.class_weights is not None:
            parts.append("class weights " + ", ".join(f"{x:.3g}" for x in self.class_weights.tolist()))
        for w, fn, opts in self.terms:
            parts.append(
                f"+ {w:g} x {fn.__name__}" + (f"({', '.join(f'{k}={v}' for k, v in opts.items())})" if opts else "")
            )
        return "; ".join(parts)


def resolve(row: catalog.Roster, counts: torch.Tensor, device="cpu") -> ResolvedLoss:
    """Bind ``row`` to its catalog function with concrete options (``counts``: the training counts)."""
    fn = catalog.get(row.loss).functional
    counts = torch.as_tensor(counts)
    opts = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in row.kwargs(counts).items()}
    cw = row.sample_weights(counts).to(device) if row.sample_weights else None
    terms = tuple((t.weight, catalog.get(t.loss).functional, t.options(counts)) for t in row.also)
    source = " + ".join([f"losskit.functional.{row.loss}"] + [f"losskit.functional.{t.loss}" for t in row.also])
    return ResolvedLoss(row, fn, opts, cw, source, row.task, terms)


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """One loss trained on one seed's split."""

    key: str
    display: str
    loss: str
    source: str
    options: str
    note: str
    seed: int
    history: dict  # "train_loss", "val": one value per epoch (val: the task's selection metric)
    best_epoch: int
    epochs_run: int
    val_out: np.ndarray
    test_out: np.ndarray
    seconds: float
    diverged: int | None = None
    metrics: dict = field(default_factory=dict)
    per_class: list = field(default_factory=list)


@dataclass
class Group:
    """Every loss of one task trained on one seed (what a worker hands back)."""

    task: int
    seed: int
    runs: list
    y_val: np.ndarray
    y_test: np.ndarray
    seconds: float
    stacked: bool
    note: str = ""
    #: the seed's split: its sizes, what was done to its training part, the regression target's scale
    sizes: dict = field(default_factory=dict)
    split_note: str = ""
    y_scale: tuple = (0.0, 1.0)
    classes: list = field(default_factory=list)


@dataclass
class TaskResult:
    """Every loss trained on one task, over the seeds that finished.

    ``seed_runs[i]`` holds the runs of ``seeds[i]``; ``runs`` is ``seed_runs[0]`` (the figures show it),
    and ``problem`` the first seed's data.
    """

    name: str
    kind: str
    rows: list
    config: TrainConfig
    problem: Any  # the seed's data.Problem
    info: dict
    resolved: list
    seeds: list = field(default_factory=list)
    seed_runs: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    model: str = ""
    planned_seeds: list = field(default_factory=list)

    @property
    def runs(self) -> list:
        return self.seed_runs[0] if self.seed_runs else []

    @property
    def partial(self) -> bool:
        return len(self.seeds) < len(self.planned_seeds)

    @property
    def dataset(self):  # the name, classes and description in one place, for the report
        return self.info


# --------------------------------------------------------------------------------------------
# one group: every loss of a task, one seed
# --------------------------------------------------------------------------------------------
def _is_mlp(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.Sequential)
        and len(m) == 3
        and isinstance(m[0], nn.Linear)
        and isinstance(m[1], nn.ReLU)
        and isinstance(m[2], nn.Linear)
    )


class _Stack:
    """R models run as one: ``forward(x)`` returns ``(R, B, ...)``.

    ``vmap=True``: the models' parameters stacked and run with :func:`torch.func.vmap`; R copies of
    the built-in MLP (Linear, ReLU, Linear) instead run as two batched matrix products (the same
    arithmetic without vmap's per-call cost, which dominates for such a small model). ``vmap=False``:
    one model, R = 1.
    """

    def __init__(self, models: list, vmap: bool):
        self.vmap, self.mlp = vmap, vmap and all(_is_mlp(m) for m in models)
        if self.mlp:

            def stack(get):
                return torch.stack([get(m).detach() for m in models]).requires_grad_(True)

            # x (B, in) @ W^T: the weights as (R, in, out), the biases as (R, 1, out)
            self.params = {
                "w1": stack(lambda m: m[0].weight.t()),
                "b1": stack(lambda m: m[0].bias[None]),
                "w2": stack(lambda m: m[2].weight.t()),
                "b2": stack(lambda m: m[2].bias[None]),
            }
            self.buffers: dict[str, torch.Tensor] = {}
            self.base = models[0]
        elif vmap:
            from torch.func import functional_call, stack_module_state

            self.params, self.buffers = stack_module_state(models)
            self.base = copy.deepcopy(models[0]).to("meta")

            def f(p, b, x):
                return functional_call(self.base, (p, b), (x,))

            self._fwd = torch.vmap(f, in_dims=(0, 0, None), randomness="different")
        else:
            (self.model,) = models
            self.base = self.model

    def forward(self, x):
        if self.mlp:
            p = self.params
            h = torch.relu(torch.baddbmm(p["b1"], x.expand(p["w1"].shape[0], *x.shape), p["w1"]))
            return torch.baddbmm(p["b2"], h, p["w2"])
        return self._fwd(self.params, self.buffers, x) if self.vmap else self.model(x).unsqueeze(0)

    def parameters(self) -> list:
        return list(self.params.values()) if self.vmap else list(self.model.parameters())

    def train(self, on: bool = True):
        self.base.train(on)

    def snapshot(self, r: int) -> dict:
        if self.vmap:
            return {k: v[r].detach().clone() for d in (self.params, self.buffers) for k, v in d.items()}
        return copy.deepcopy(self.model.state_dict())

    def load(self, states: list) -> None:
        with torch.no_grad():
            if self.vmap:
                for d in (self.params, self.buffers):
                    for k, v in d.items():
                        v.copy_(torch.stack([s[k] for s in states]))
            else:
                self.model.load_state_dict(states[0])


def _optimizer(params, cfg: TrainConfig):
    fused = cfg.device == "cpu" or str(cfg.device).startswith("cuda")
    try:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    except (RuntimeError, TypeError):  # a dtype or device the fused kernel does not take
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _outputs(net: _Stack, part, kind) -> tuple:
    """``([R arrays of stored outputs], targets)`` over a whole part, in one ordered pass."""
    outs, ys = [], []
    with torch.no_grad():
        for x, y in part.ordered():
            outs.append(net.forward(x))
            ys.append(y)
    out = torch.cat(outs, 1)
    return out, torch.cat(ys)


def _fit(net: _Stack, losses: list, prob, kind, cfg: TrainConfig, seed: int, on_epoch) -> list:
    """Train the stacked models; return, per model, (history, best_epoch, epochs_run, diverged).

    Each model stops on its own after ``patience`` epochs without a better validation score: its loss
    leaves the objective (its weights may still drift with the optimiser's momentum, unused: the best
    epoch's weights are kept aside and restored at the end). The group ends when every model stopped.
    """
    R = len(losses)
    opt = _optimizer(net.parameters(), cfg)
    gen = torch.Generator().manual_seed(seed)  # the same minibatch order for every loss
    sign = 1.0 if kind.select_better == "low" else -1.0
    best = [math.inf] * R
    best_state: list = [None] * R
    best_epoch, stale, ran = [0] * R, [0] * R, [0] * R
    diverged: list[int | None] = [None] * R
    hist: list[dict[str, list[float]]] = [{"train_loss": [], "val": []} for _ in range(R)]
    for epoch in range(1, cfg.epochs + 1):
        active = [r for r in range(R) if stale[r] < cfg.patience]
        if not active:
            break
        net.train(True)
        total = torch.zeros(len(active), dtype=torch.float64)
        n = 0
        # the losses' value checks read every training batch in the first epoch; the data do not change
        # after it, so later epochs skip them (they cost as much as the small model's step)
        with contextlib.nullcontext() if epoch == 1 else value_checks("off"):
            for x, y in prob.train.batches(cfg.batch(kind.name), gen):
                out = net.forward(x)
                t = kind.target(y)
                obj = torch.stack([losses[r](out[r], t) for r in active])
                opt.zero_grad(set_to_none=True)
                obj.sum().backward()
                opt.step()
                total += obj.detach().double().cpu() * len(y)
                n += len(y)
        net.train(False)
        val_out, val_y = _outputs(net, prob.val, kind)
        for j, r in enumerate(active):
            score = kind.val_score(val_out[r], val_y)
            ran[r] = epoch
            hist[r]["train_loss"].append(float(total[j]) / max(n, 1))
            hist[r]["val"].append(score)
            if not math.isfinite(float(total[j])) and diverged[r] is None:
                diverged[r] = epoch
            if math.isfinite(score) and sign * score < best[r]:
                best[r], best_epoch[r], stale[r] = sign * score, epoch, 0
                best_state[r] = net.snapshot(r)
            else:
                stale[r] += 1
        if on_epoch is not None:
            on_epoch(len(active))
    # a run with no finite validation score keeps its last weights
    net.load([s if s is not None else net.snapshot(r) for r, s in enumerate(best_state)])
    return [(hist[r], best_epoch[r] or ran[r], ran[r], diverged[r]) for r in range(R)]


def _can_stack(models: list, prob, losses, kind) -> str:
    """``""`` if vmap runs these models (a forward and backward on two samples), else why not."""
    try:
        net = _Stack([copy.deepcopy(m) for m in models[:2]], vmap=True)
        x, y = next(iter(prob.train.ordered(2)))
        out = net.forward(x[:2])
        sum(losses[r](out[r], kind.target(y[:2])) for r in range(min(2, len(losses)))).backward()
        return ""
    except Exception as e:  # any failure of vmap on the user's model: train one loss after another
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]


def train_group(plan, seed: int, cfg: TrainConfig, on_epoch=None, task_index: int = 0) -> Group:
    """Train every loss of ``plan`` on the split of ``seed``; the runs, with their best-epoch outputs."""
    kind = _tasks.get(plan.kind)
    dev = torch.device(cfg.device)
    prob = plan.make_problem(seed)
    for name in ("train", "val", "test"):
        setattr(prob, name, getattr(prob, name).to(dev))
    losses = [resolve(r, prob.counts, dev) for r in plan.rows]
    models = [plan.model.build(seed).to(dev) for _ in plan.rows]
    t0 = time.perf_counter()
    note = ""
    stacked = cfg.stack and len(models) > 1
    if stacked:
        why = _can_stack(models, prob, losses, kind)
        if why:
            stacked, note = False, f"trained one loss after another: torch.func.vmap cannot run this model ({why})"
    with warnings.catch_warnings():
        # the model's raw outputs are logits by construction; early in training a whole minibatch can
        # land in [0, 1], which the losses' "sigmoid applied twice?" check would flag
        warnings.filterwarnings("ignore", message=r".*sigmoid applied twice", category=UserWarning)
        if stacked:
            nets = [_Stack(models, vmap=True)]
            fits = _fit(nets[0], losses, prob, kind, cfg, seed, on_epoch)
            results = [_outputs(nets[0], part, kind) for part in (prob.val, prob.test)]
            outs = [(results[0][0][r], results[1][0][r]) for r in range(len(models))]
            y_val, y_test = results[0][1], results[1][1]
        else:
            fits, outs = [], []
            for m, loss in zip(models, losses, strict=True):
                net = _Stack([m], vmap=False)
                fits += _fit(net, [loss], prob, kind, cfg, seed, on_epoch)
                (v, y_val), (t, y_test) = (_outputs(net, part, kind) for part in (prob.val, prob.test))
                outs.append((v[0], t[0]))
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - t0
    runs = []
    for row, loss, (hist, best, ran, div), (v, t) in zip(plan.rows, losses, fits, outs, strict=True):
        runs.append(
            RunResult(
                row.key,
                row.display,
                row.loss,
                loss.source,
                loss.options_text(),
                row.note,
                seed,
                hist,
                best,
                ran,
                kind.stored(v, row),
                kind.stored(t, row),
                seconds / len(plan.rows),
                div,
            )
        )
    return Group(
        task_index,
        seed,
        runs,
        y_val.cpu().numpy(),
        y_test.cpu().numpy(),
        seconds,
        stacked,
        note,
        prob.sizes(),
        prob.note,
        tuple(prob.y_scale),
        list(prob.classes),
    )


def score_group(group: Group, kind_name: str) -> None:
    """Fill each run's test metrics and per-class table (in the parent process; once)."""
    kind = _tasks.get(kind_name)
    for r in group.runs:
        if r.metrics:
            continue
        r.metrics = {
            k: float(v) for k, v in kind.evaluate(r.val_out, group.y_val, r.test_out, group.y_test, group).items()
        }
        r.metrics["epoch"] = float(r.best_epoch)
        r.per_class = kind.per_class(r.test_out, group.y_test, group)


# --------------------------------------------------------------------------------------------
# many groups: in parallel processes, interruptible
# --------------------------------------------------------------------------------------------
class Interrupted(Exception):
    """Ctrl-C during training; ``groups`` holds what had finished."""

    def __init__(self, groups: list):
        super().__init__("interrupted")
        self.groups = groups


class RunError(RuntimeError):
    """A run failed during training; the message says which and why."""


def _workers(cfg: TrainConfig, n_jobs: int) -> int:
    import multiprocessing as mp

    if cfg.device != "cpu" or n_jobs < 2 or "fork" not in mp.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cfg.workers or cores, n_jobs))


def _child(plans, jobs, cfg, todo, done):
    """A worker process: take job indices, train, hand back groups (or the error); SIGINT is the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(cfg.threads)
    while True:
        j = todo.get()
        if j is None:
            return
        ti, seed = jobs[j]
        try:
            g = train_group(plans[ti], seed, cfg, lambda k, j=j: done.put(("epoch", j, k)), ti)
            done.put(("done", j, g))
        except Exception as e:  # handed to the parent, which raises RunError with this text
            done.put(("error", j, f"{plans[ti].name}, seed {seed}: {type(e).__name__}: {e}\n{traceback.format_exc()}"))


def run_groups(plans: list, cfg: TrainConfig, on_event: Callable | None = None) -> list:
    """Train every (plan, seed) group, in parallel processes when there are several CPU cores.

    ``on_event(kind, job, payload)`` is called in this process: ``("start", None, n_workers)``,
    ``("epoch", (task, seed), n_models)`` after each epoch of a group, ``("done", (task, seed), group)``.
    Returns the finished groups; Ctrl-C raises :class:`Interrupted` holding those that finished.
    """
    jobs = [(ti, s) for s in cfg.seed_list() for ti in range(len(plans))]
    emit = on_event or (lambda *a: None)
    n = _workers(cfg, len(jobs))
    finished: list = []
    if n == 1:
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(cfg.threads)
        emit("start", None, 1)
        try:
            for ti, seed in jobs:
                g = train_group(plans[ti], seed, cfg, lambda k, job=(ti, seed): emit("epoch", job, k), ti)
                finished.append(g)
                emit("done", (ti, seed), g)
        except KeyboardInterrupt:
            raise Interrupted(finished) from None
        finally:
            torch.set_num_threads(torch_threads)
        return finished
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    todo, done = ctx.Queue(), ctx.Queue()
    for j in range(len(jobs)):
        todo.put(j)
    for _ in range(n):
        todo.put(None)
    procs = [ctx.Process(target=_child, args=(plans, jobs, cfg, todo, done), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    emit("start", None, n)
    left = len(jobs)
    try:
        while left:
            try:
                what, j, payload = done.get(timeout=0.5)
            except Exception:  # queue.Empty: check that the workers are alive
                if not any(p.is_alive() for p in procs) and done.empty():
                    raise RunError("the training processes ended without finishing (out of memory?)") from None
                continue
            if what == "epoch":
                emit("epoch", jobs[j], payload)
            elif what == "done":
                finished.append(payload)
                left -= 1
                emit("done", jobs[j], payload)
            else:
                raise RunError(payload)
    except KeyboardInterrupt:
        raise Interrupted(finished) from None
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
    return finished


# --------------------------------------------------------------------------------------------
# statistics over seeds
# --------------------------------------------------------------------------------------------
def _metric(run: RunResult, key: str) -> float:
    return run.seconds if key == "seconds" else run.metrics.get(key, math.nan)


def summary(task: TaskResult, key: str) -> list:
    """``(mean, sd)`` over seeds of one metric, per loss (sd is ``nan`` with one seed; ddof=1)."""
    out = []
    for i in range(len(task.runs)):
        v = np.array([_metric(runs[i], key) for runs in task.seed_runs], dtype=float)
        out.append((float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else math.nan))
    return out


def paired_differences(task: TaskResult, key: str, baseline: int = 0) -> list:
    """``(mean, sd, same_sign, low, high, n)`` over the ``n`` seeds of ``metric(loss) - metric(baseline)``, per loss.

    Pairing removes what the losses share within a seed (the split, the initial weights), so a mean
    difference several times its sd is a consistent effect of the loss, not of the draw.
    ``same_sign`` is true when every seed's difference is nonzero with the same sign (with 5 seeds,
    a sign test puts the chance of that under no effect at 2/32); ``(low, high)`` is the 95%
    t-interval of the mean difference (``nan`` with one seed).
    """
    from scipy.stats import t as student

    out = []
    for i in range(len(task.runs)):
        d = np.array([_metric(runs[i], key) - _metric(runs[baseline], key) for runs in task.seed_runs], dtype=float)
        same = len(d) > 1 and bool(np.all(d > 0) or np.all(d < 0))
        if len(d) > 1 and np.all(np.isfinite(d)):
            mean, sd = float(d.mean()), float(d.std(ddof=1))
            half = float(student.ppf(0.975, len(d) - 1)) * sd / math.sqrt(len(d))
            lo, hi = mean - half, mean + half
        else:
            mean, sd, lo, hi = float(np.mean(d)), math.nan, math.nan, math.nan
        out.append((mean, sd, same, lo, hi, len(d)))
    return out


#: fewer seeds than this never make a difference hold: with 2 seeds, two same signs happen half the time by chance
MIN_SEEDS = 3


def significant(diff: tuple) -> bool:
    """A paired difference that holds: at least :data:`MIN_SEEDS` seeds, and the same sign in every
    seed or a 95% interval that excludes 0."""
    _mean, _sd, same, lo, hi, n = diff
    return bool(n >= MIN_SEEDS and (same or (math.isfinite(lo) and (lo > 0 or hi < 0))))
