"""The ``losskit`` command line: ``list``, ``explain``, ``compare``, ``--version``.

``losskit compare`` is :func:`losskit.workbench.compare` on bundled real data (or on ``--data
file.csv --target column``), in three steps: :func:`plan` (read and check the data, choose the
losses, try the model on one batch, check ``--out`` is writable, estimate the time), :func:`train`
(every loss, every seed, with progress) and :func:`write` (``results.json``, ``results.csv``,
``report.html``, then the tables on stdout). Bad input is one line on stderr and exit code 2;
Ctrl-C is one line, exit code 130, and the results of what finished are written (marked partial);
a closed stdout pipe (``| head``) is not an error.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence


def _cmd_list(args: argparse.Namespace) -> int:
    from . import catalog

    for e in catalog.entries():
        _out(f"{e.name:36s} {e.family:15s} takes {e.takes:9s} {e.summary}")
    return 0


class _UsageError(Exception):
    """Bad command-line input: printed on stderr, exit code 2."""


def _out(text: str = "") -> None:
    """Print to stdout; a reader that went away (``| head``) is not an error: the rest is discarded."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # also silences the flush at exit


def _err(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _fail(msg: str) -> int:
    _err(f"losskit compare: error: {msg}")
    return 2


def _compare_parser(sub) -> argparse.ArgumentParser:
    from . import catalog
    from .workbench.data import BUILTIN, DEFAULT_DATASETS, TASK_DATASETS
    from .workbench.train import TrainConfig

    d = TrainConfig()
    by_task: dict = {}
    for r in catalog.roster():
        by_task.setdefault(r.task, []).append(r.key + ("" if r.default else " (opt-in)"))
    losses_help = "; ".join(f"{task}: {', '.join(keys)}" for task, keys in by_task.items())
    p = sub.add_parser(
        "compare",
        help="train the same model once per loss and compare (tables + HTML report)",
        description=(
            "Train the same model once per loss and compare test metrics, calibration and tuned thresholds. "
            f"Without --data it runs on bundled real datasets ({', '.join(DEFAULT_DATASETS)}; --task KIND runs the "
            f"bundled dataset of that kind: {', '.join(f'{k} {v}' for k, v in TASK_DATASETS.items())}). "
            "Writes --out/report.html, results.json and results.csv."
        ),
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        metavar="FILE",
        help="your table: CSV/TSV (.gz/.bz2/.xz/.zip too); delimiter, header and types are detected",
    )
    g.add_argument(
        "--target", metavar="COLUMN[,COLUMN...]", help="the label column of --data; several make a multi-label task"
    )
    g.add_argument(
        "--task",
        default="auto",
        choices=["auto", *catalog.TASKS],
        help="the task kind (default auto: detected from the target; without --data: the bundled dataset of that kind)",
    )
    g.add_argument(
        "--positive", metavar="LABEL", help="the positive label of a binary --target (default: the larger/later one)"
    )
    g.add_argument("--features", metavar="A,B,...", help="use only these feature columns of --data")
    g.add_argument("--drop", metavar="A,B,...", help="leave these columns of --data out")
    g.add_argument("--max-rows", type=int, metavar="N", help="subsample --data to N rows (stratified by class)")
    g.add_argument("--decimal", metavar="MARK", help="decimal mark of --data, e.g. ',' for 1,5")
    g.add_argument(
        "--header",
        default="auto",
        choices=["auto", "yes", "no"],
        help="does --data have a header row (default auto: a first row of numbers only is data)",
    )
    g.add_argument(
        "--dataset",
        metavar="NAMES",
        default=None,
        help=f"bundled dataset(s), comma-separated: {', '.join(BUILTIN)} (default: {','.join(DEFAULT_DATASETS)})",
    )
    t = p.add_argument_group("losses and training")
    t.add_argument(
        "--losses",
        metavar="SPEC",
        default=None,
        help="comma-separated losses, with options and sweeps: 'bce,focal:gamma=0.5|1|2' (default: the "
        f"task's defaults) — {losses_help}",
    )
    t.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"at most this many epochs per run (default {d.epochs}; 8 with --quick)",
    )
    t.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help=f"stop a run after this many epochs without a better validation score (default {d.patience})",
    )
    t.add_argument("--batch-size", type=int, default=d.batch_size, help="minibatch size (default 256 rows, 16 images)")
    t.add_argument("--lr", type=float, default=d.lr, help=f"AdamW learning rate (default {d.lr:g})")
    t.add_argument(
        "--hidden", type=int, default=d.hidden, help=f"hidden units of the built-in MLP (default {d.hidden})"
    )
    t.add_argument(
        "--seed", type=int, default=d.seed, help="first seed: the split, the initial weights and the batch order"
    )
    t.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help=f"seeds --seed ... --seed+N-1: mean ± sd and paired differences (default {d.seeds}; 1 with --quick)",
    )
    t.add_argument("--device", default=d.device, choices=["cpu", "cuda"], help="where to train (default cpu)")
    t.add_argument(
        "--workers", type=int, default=d.workers, help="processes training in parallel (default 0: one per CPU core)"
    )
    # one thread per process: the models are small, so intra-op threads cost more in synchronisation than they save
    t.add_argument("--threads", type=int, default=d.threads, help=f"torch threads per process (default {d.threads})")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", default="losskit-report", help="report folder (default ./losskit-report)")
    o.add_argument("--quick", action="store_true", help="a fast smoke run: 8 epochs, one seed")
    o.add_argument("--no-progress", action="store_true", help="no progress bar or log lines")
    o.add_argument("--no-report", action="store_true", help="write results.json and results.csv, skip the HTML")
    p.set_defaults(func=_cmd_compare)
    return p


def _names(text: str | None) -> list | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _config(args):
    """The :class:`~losskit.workbench.train.TrainConfig` of the arguments (its defaults are the CLI's)."""
    import torch

    from .workbench.train import TrainConfig

    for name in ("epochs", "batch_size", "hidden", "threads", "seeds", "patience", "max_rows"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise _UsageError(f"--{name.replace('_', '-')} must be >= 1; got {v}")
    if args.workers < 0:
        raise _UsageError(f"--workers must be >= 0; got {args.workers}")
    if not args.lr > 0:
        raise _UsageError(f"--lr must be > 0; got {args.lr}")
    if args.device == "cuda" and not torch.cuda.is_available():
        why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
        raise _UsageError(f"--device cuda: CUDA is not available ({why}; torch {torch.__version__}); use --device cpu")
    d = TrainConfig()
    return TrainConfig(
        epochs=args.epochs or (8 if args.quick else d.epochs),
        patience=args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        hidden=args.hidden,
        seeds=args.seeds or (1 if args.quick else d.seeds),
        seed=args.seed,
        device=args.device,
        workers=args.workers,
        threads=args.threads,
    )


def _datasets(args) -> list:
    from .workbench import data as wdata

    if args.data is None:
        for flag in ("target", "positive", "features", "drop", "max_rows", "decimal"):
            if getattr(args, flag) is not None:
                raise _UsageError(f"--{flag.replace('_', '-')} needs --data FILE")
        if args.dataset is not None:
            names = _names(args.dataset) or []
        elif args.task != "auto":
            names = [wdata.TASK_DATASETS[args.task]]
        else:
            names = list(wdata.DEFAULT_DATASETS)
        out = [wdata.load_builtin(n) for n in names]
        if args.task != "auto":
            wrong = [f"{ds.name} ({ds.kind})" for ds in out if ds.kind != args.task]
            if wrong:
                raise _UsageError(f"--task {args.task}: {', '.join(wrong)} is another kind of task")
        return out
    if args.target is None:
        raise _UsageError("--data needs --target COLUMN (the label column; several: a,b,c)")
    if args.dataset is not None:
        raise _UsageError("use either --data (your table) or --dataset (bundled data), not both")
    if args.task == "segmentation":
        raise _UsageError(
            "--task segmentation takes images, not a table: use the Python API "
            "(losskit.workbench.compare) with (N, C, H, W) images and (N, H, W) masks"
        )
    headers: dict[str, str | bool] = {"auto": "auto", "yes": True, "no": False}
    header = headers[args.header]
    return [
        wdata.load_table(
            args.data,
            args.target,
            task=args.task,
            features=_names(args.features),
            drop=_names(args.drop),
            max_rows=args.max_rows,
            positive=args.positive,
            decimal=args.decimal,
            header=header,
            seed=args.seed,
        )
    ]


def plan(args, cfg) -> list:
    """Everything before training: the data, the losses, the model tried on one batch, ``--out`` writable.

    Raises:
        _UsageError, DataError, PlanError, OSError: one line for the user (exit code 2).
    """
    from .workbench import api
    from .workbench.report import check_writable

    datasets = _datasets(args)
    plans = []
    for ds in datasets:
        p = api.plan_dataset(ds, cfg, args.losses)
        if p.rows:
            plans.append(p)
        elif len(datasets) > 1:
            _err(f"losskit compare: skipping {ds.name} ({ds.kind}): none of --losses apply to it")
    if not plans:
        from . import catalog

        valid = {ds.kind: [r.key for r in catalog.select(ds.kind)] for ds in datasets}
        raise _UsageError(
            "none of --losses apply to the data; "
            + "; ".join(f"{task} tasks take {', '.join(k)}" for task, k in valid.items())
        )
    check_writable(args.out)  # before anything trains: a run is never lost to an unwritable folder
    return [api.check(p, cfg) for p in plans]


def train(plans: list, cfg, args):
    """Every loss of every plan over the seeds, with progress; Ctrl-C returns the partial result."""
    from .workbench import api
    from .workbench.progress import Progress
    from .workbench.train import _workers

    n_runs = sum(len(p.rows) for p in plans) * cfg.seeds
    workers = _workers(cfg, len(plans) * cfg.seeds)
    secs = api.estimate(plans, cfg, workers)
    hint = "; to shorten it: --max-rows N, --epochs E or --seeds S" if secs > 600 else ""
    if not args.no_progress:
        _err(
            f"losskit compare: {len(plans)} task(s), {n_runs} runs ({cfg.seeds} seed(s)) on {workers} process(es); "
            f"at most about {_duration(secs)} (early stopping usually ends sooner){hint}"
        )
    bar = Progress(plans, cfg, enabled=not args.no_progress)
    meta = {"command": "losskit " + " ".join(shlex.quote(a) for a in args._argv), "estimate_seconds": secs}
    try:
        return api.run(plans, cfg, bar.event, meta)
    finally:
        bar.close()


def _duration(s: float) -> str:
    if s < 90:
        return f"{max(s, 1):.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def write(result, args) -> int:
    """Write the files (results first), then print the tables; 130 if the run was interrupted."""
    paths = result.write(args.out, html=not args.no_report)
    _out(result.table())
    _out(
        f"report: {paths.get('html', paths['json'])}  (results.json, results.csv beside it; "
        f"{result.meta['train_seconds']:.1f}s of training)"
    )
    if result.partial:
        _err(
            f"losskit compare: interrupted; {result.meta['finished_groups']} of {result.meta['planned_groups']} "
            f"(task, seed) groups finished; their results are in {args.out}/ (marked partial)"
        )
        return 130
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    try:
        import jinja2  # noqa: F401
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the install
        _err(f"losskit compare needs the workbench extra ({e.name} is missing): pip install 'losskit[workbench]'")
        return 1
    from .workbench.api import PlanError
    from .workbench.data import DataError

    try:
        cfg = _config(args)
        plans = plan(args, cfg)
    except (_UsageError, DataError, PlanError, OSError) as e:
        return _fail(str(e))
    result = train(plans, cfg, args)
    return write(result, args)


def _add_explain(sub) -> None:
    from . import explain

    p = sub.add_parser("explain", help="show a loss's formula, likelihood and loss/gradient against the logit")
    explain.add_arguments(p)
    p.set_defaults(func=explain.run)


def main(argv: Sequence[str] | None = None) -> int:
    from . import __version__

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="losskit", description="Losses for PyTorch, derived from likelihoods.")
    parser.add_argument("--version", action="version", version=f"losskit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the losses in the catalog")
    p_list.set_defaults(func=_cmd_list)
    _add_explain(sub)
    _compare_parser(sub)
    args = parser.parse_args(argv)
    args._argv = argv
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # outside training (planning, writing): nothing more to keep
        _err(f"losskit {args.command}: interrupted")
        return 130
    except BrokenPipeError:
        _out()  # swaps stdout for /dev/null
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
