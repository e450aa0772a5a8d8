"""The ``losskit`` command line: ``list``, ``explain``, ``compare``.

``losskit compare`` trains the same small model once per loss on bundled real data (or on
``--data file.csv --target column``), prints a table of test metrics per task and writes a
self-contained HTML report. Bad input is reported on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from typing import Optional, Sequence


def _cmd_list(args: argparse.Namespace) -> int:
    from . import catalog

    for e in catalog.entries():
        print(f"{e.name:36s} {e.family:15s} takes {e.takes:9s} {e.summary}")
    return 0


#: seeds per task by default: enough for the paired differences to separate effects from noise
DEFAULT_SEEDS = 5


class _UsageError(Exception):
    """Bad command-line input: printed on stderr, exit code 2."""


def _fail(msg: str) -> int:
    print(f"losskit compare: error: {msg}", file=sys.stderr)
    return 2


def _compare_parser(sub) -> argparse.ArgumentParser:
    from .workbench.data import BUILTIN, DEFAULT_DATASETS
    from .workbench.train import ROSTER, roster_keys

    by_task: dict = {}
    for e in ROSTER:
        by_task.setdefault(e.task, []).append(e.key + ("" if e.default else " (opt-in)"))
    losses_help = "; ".join(f"{task}: {', '.join(keys)}" for task, keys in by_task.items())
    p = sub.add_parser(
        "compare",
        help="train the same model once per loss and compare (table + HTML report)",
        description=(
            "Train the same small MLP once per loss and compare test metrics, calibration and tuned "
            "thresholds. Without --data it runs on bundled real datasets "
            f"({', '.join(DEFAULT_DATASETS)}); the report goes to --out/report.html."
        ),
    )
    p.add_argument("--data", metavar="FILE.csv", help="your data: a CSV with a header row and numeric features")
    p.add_argument("--target", metavar="COLUMN", help="the label column of --data (2 values: binary; more: multi-class)")
    p.add_argument("--positive", metavar="LABEL", help="the positive label of a binary --target (default: the larger/later one)")
    p.add_argument("--dataset", metavar="NAMES", default=None,
                   help=f"bundled dataset(s), comma-separated: {', '.join(BUILTIN)} (default: {','.join(DEFAULT_DATASETS)})")
    p.add_argument("--losses", metavar="NAMES", default=None,
                   help=f"comma-separated losses to compare (default: all but opt-in) — {losses_help}")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per loss (default 60; 8 with --quick)")
    p.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64)")
    p.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate (default 2e-3)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units of the MLP (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the initial weights and the batch order (default 0)")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help=f"repeat with seeds --seed ... --seed+N-1 and show mean ± sd and paired differences "
                        f"(default {DEFAULT_SEEDS}; 1 with --quick)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to train (default cpu)")
    # one thread: the MLP's matrices are tiny, so intra-op threads cost more in synchronisation than they
    # save, and on a busy machine (shared cores) a second thread can make a run 20x slower
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1: fastest for this small model)")
    p.add_argument("--out", metavar="DIR", default="losskit-report", help="report folder (default ./losskit-report)")
    p.add_argument("--quick", action="store_true", help="a fast smoke run: 8 epochs, one seed")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-report", action="store_true", help="print the tables and write results.json, skip the HTML")
    p.set_defaults(func=_cmd_compare, _known_losses=roster_keys())
    return p


def _parse_losses(text: Optional[str], known: list) -> Optional[list]:
    if text is None:
        return None
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise _UsageError(f"--losses is empty; known losses: {', '.join(known)}")
    unknown = [k for k in keys if k not in known]
    if unknown:
        import difflib

        hints = [f"{u!r}" + (f" (did you mean {difflib.get_close_matches(u, known, 1)[0]!r}?)"
                             if difflib.get_close_matches(u, known, 1) else "") for u in unknown]
        raise _UsageError(f"unknown loss name(s) {', '.join(hints)} in --losses; known losses: {', '.join(known)}")
    return keys


def _check_args(args) -> None:
    import torch

    if args.data is None and args.target is not None:
        raise _UsageError("--target needs --data FILE.csv")
    if args.data is not None and args.target is None:
        raise _UsageError("--data needs --target COLUMN (the label column)")
    if args.data is not None and args.dataset is not None:
        raise _UsageError("use either --data (your CSV) or --dataset (bundled data), not both")
    if args.positive is not None and args.data is None:
        raise _UsageError("--positive applies to --data")
    for name in ("epochs", "batch_size", "hidden", "threads", "seeds"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise _UsageError(f"--{name.replace('_', '-')} must be >= 1; got {v}")
    if not args.lr > 0:
        raise _UsageError(f"--lr must be > 0; got {args.lr}")
    if args.device == "cuda" and not torch.cuda.is_available():
        why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
        raise _UsageError(f"--device cuda: CUDA is not available ({why}; torch {torch.__version__}); use --device cpu")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise _UsageError(f"--out {args.out}: exists and is not a directory")


def _cmd_compare(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the install
        print(f"losskit compare needs the workbench extra ({e.name} is missing): pip install 'losskit[workbench]'",
              file=sys.stderr)
        return 1
    import torch

    from . import __version__
    from .workbench import data as wdata
    from .workbench import report
    from .workbench.train import TrainConfig, roster, run_seeds

    try:
        _check_args(args)
        keys = _parse_losses(args.losses, args._known_losses)
        if args.data is not None:
            datasets = [wdata.load_csv(args.data, args.target, positive=args.positive)]
        else:
            names = [n.strip() for n in (args.dataset or ",".join(wdata.DEFAULT_DATASETS)).split(",") if n.strip()]
            datasets = [wdata.load_builtin(n) for n in names]
        plan = [(ds, roster(ds.task, keys)) for ds in datasets]
        skipped = [ds for ds, entries in plan if not entries]
        plan = [(ds, entries) for ds, entries in plan if entries]
        if plan:
            for ds in skipped:
                print(f"losskit compare: skipping {ds.name} ({ds.task}): none of --losses apply to it", file=sys.stderr)
        else:
            valid = {ds.task: [e.key for e in roster(ds.task, None)] for ds in datasets}
            raise _UsageError(
                "none of --losses apply to the data; "
                + "; ".join(f"{task} tasks take {', '.join(k)}" for task, k in valid.items())
            )
    except (_UsageError, wdata.DataError) as e:
        return _fail(str(e))

    epochs = args.epochs if args.epochs is not None else (8 if args.quick else 60)
    n_seeds = args.seeds if args.seeds is not None else (1 if args.quick else DEFAULT_SEEDS)
    seeds = [args.seed + i for i in range(n_seeds)]
    cfg = TrainConfig(epochs=epochs, batch_size=args.batch_size, lr=args.lr, hidden=args.hidden, seed=args.seed,
                      device=args.device)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    total = sum(len(entries) for _, entries in plan) * epochs * n_seeds
    progress = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        # disable=None: a bar on a terminal, nothing in logs and pipes
        progress = tqdm(total=total, unit="epoch", file=sys.stderr, dynamic_ncols=True, leave=False, disable=None)
    tasks = []
    try:
        for ds, entries in plan:
            tasks.append(run_seeds(ds, entries, cfg, seeds, progress, wdata.split))
    finally:
        if progress is not None:
            progress.close()
    train_seconds = time.perf_counter() - t0

    for t in tasks:
        print(report.format_table(t))
        print()
        deltas = report.format_deltas(t)
        if deltas:
            print(deltas)
            print()
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)
    meta = {
        "command": "losskit " + " ".join(shlex.quote(a) for a in args._argv),
        "date": report.now(),
        "losskit": __version__,
        "torch": torch.__version__,
        "seed": args.seed,
        "seeds": seeds,
        "device": args.device,
        "epochs": epochs,
        "train_seconds": train_seconds,
    }
    meta["seconds"] = time.perf_counter() - t0
    html_path = None
    if not args.no_report:
        html_path = report.write_html(tasks, os.path.join(out_dir, "report.html"), meta)
    meta["seconds"] = time.perf_counter() - t0
    json_path = os.path.join(out_dir, "results.json")
    report.write_json(tasks, meta, json_path)
    print(("* = best mean in column; ± = sd over seeds. " if n_seeds > 1 else "* = best in column. ")
          + "Threshold and temperature tuned on validation, scored on test.")
    print(f"report: {html_path or json_path}  ({meta['seconds']:.1f}s in all)")
    return 0


def _add_explain(sub) -> None:
    """``losskit explain`` from :mod:`losskit.explain`, when that module is present."""
    try:
        from . import explain
    except ImportError:
        return
    if hasattr(explain, "add_arguments") and hasattr(explain, "run"):
        p = sub.add_parser("explain", help="show a loss's formula, likelihood and loss/gradient against the logit")
        explain.add_arguments(p)
        p.set_defaults(func=explain.run)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="losskit", description="Losses for PyTorch, derived from likelihoods.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the losses in the catalog")
    p_list.set_defaults(func=_cmd_list)
    _add_explain(sub)
    _compare_parser(sub)
    args = parser.parse_args(argv)
    args._argv = argv
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
