"""Workbench benchmark: reading a large table, and the default ``losskit compare`` run, on this machine.

1. A 1,000,000-row x 20-column CSV (18 numeric columns, one text column of 12 categories, a 0/1
   target; 1% of the numeric cells missing) is written once, then read with
   :func:`losskit.workbench.data.load_table` (pandas: type, dialect and header detection) and
   prepared for one seed (:func:`losskit.workbench.data.split`: imputation, one-hot encoding,
   standardisation fitted on the training rows). Median of ``--repeats``.
2. The default ``losskit compare`` (no arguments: both bundled default tasks, 5 seeds) run as a
   subprocess, wall and CPU time; its own phases (planning, training, writing) from its results.

The machine's load average is recorded next to the timings: other processes on the same cores slow
every figure down (the CPU seconds are the load-independent part).

    python benchmarks/bench_workbench.py                 # writes benchmarks/results/workbench-<tag>-<date>.json|md
    python benchmarks/bench_workbench.py --skip-default  # the table benchmark only
    python benchmarks/bench_workbench.py --keep DIR      # keep the default run's report in DIR
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {f"x{j}": rng.normal(size=rows).round(5) for j in range(18)}
    df = pd.DataFrame(cols)
    df = df.mask(rng.random(df.shape) < 0.01)
    df["city"] = rng.choice([f"city{k}" for k in range(12)], rows)
    df["y"] = (df["x0"].fillna(0) + rng.normal(size=rows) > 1.5).astype(int)
    df.to_csv(path, index=False)


def bench_table(rows: int, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from losskit.workbench.data import load_table, split

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        t0 = time.perf_counter()
        make_csv(path, rows)
        size = path.stat().st_size
        write_s = time.perf_counter() - t0
        reads, preps = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ds = load_table(str(path), "y")
            reads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sp = split(ds, 0)
            preps.append(time.perf_counter() - t0)
        return {
            "rows": rows,
            "columns": 20,
            "file_mb": size / 2**20,
            "write_seconds": write_s,
            "read_seconds": statistics.median(reads),
            "read_all": reads,
            "prepare_seconds": statistics.median(preps),
            "prepare_all": preps,
            "model_inputs": int(sp.X_train.shape[1]),
            "kind": ds.kind,
            "peak_rss_mb": _rss_mb(),
        }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_default(out: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "losskit", "compare", "--out", str(out)], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"losskit compare failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    meta = json.loads((out / "results.json").read_text())["meta"]
    return {
        "command": "losskit compare",
        "wall_seconds": wall,
        "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "train_seconds": meta["train_seconds"],
        "estimate_seconds": meta.get("estimate_seconds"),
        "load_average_before": load,
        "load_average_after": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-default", action="store_true")
    ap.add_argument("--tag", default=f"cpu-{os.cpu_count()}core")
    ap.add_argument(
        "--keep", metavar="DIR", help="write the default run's report to DIR (kept) instead of a temporary folder"
    )
    args = ap.parse_args()
    import pandas
    import torch

    res = {
        "date": _dt.date.today().isoformat(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pandas": pandas.__version__,
        "load_average_start": os.getloadavg()[0],
        "table": bench_table(args.rows, args.repeats),
    }
    if not args.skip_default and args.keep:
        res["default_run"] = bench_default(Path(args.keep))
    elif not args.skip_default:
        with tempfile.TemporaryDirectory() as tmp:
            res["default_run"] = bench_default(Path(tmp) / "report")
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"workbench-{args.tag}-{res['date']}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1))
    t = res["table"]
    lines = [
        f"# Workbench benchmark ({res['date']}, {res['cpus']} CPUs, torch {res['torch']}, pandas {res['pandas']})",
        "",
        f"Load average at the start: {res['load_average_start']:.2f} (other processes on the same cores).",
        "",
        "| what | seconds |",
        "|---|---|",
        f"| read a {t['rows']:,}-row x {t['columns']}-column CSV ({t['file_mb']:.0f} MB) with `load_table` "
        f"(median of {len(t['read_all'])}) | {t['read_seconds']:.2f} |",
        f"| prepare it for one seed (`split`: impute, one-hot, standardise; {t['model_inputs']} inputs) | "
        f"{t['prepare_seconds']:.2f} |",
    ]
    if "default_run" in res:
        d = res["default_run"]
        lines += [
            f"| `losskit compare` (default run), wall | {d['wall_seconds']:.1f} |",
            f"| `losskit compare` (default run), CPU (all processes) | {d['cpu_seconds']:.1f} |",
            f"| of which training (wall) | {d['train_seconds']:.1f} |",
            "",
            f"Load average before / after the default run: {d['load_average_before']:.2f} / "
            f"{d['load_average_after']:.2f}.",
        ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
