"""CPU benchmark of the softmax focal family against ``torch.nn.functional.cross_entropy``.

    python benchmarks/bench_focal_cpu.py                     # 2048 x 1000, 2 threads
    python benchmarks/bench_focal_cpu.py --n 512 --c 100 --md benchmarks/results/cpu-focal-<date>.md

Each case times forward + backward of one loss (``reduction="mean"``, fp32 logits with
``requires_grad``) and of ``F.cross_entropy`` on the same inputs with the same target kind (class
indices, class indices + label smoothing, or probabilities). Repeats are interleaved (loss, CE,
loss, CE, ...) so that load on a shared machine hits both alike; the table reports the median time
of each and their ratio, which is the number to compare between runs (absolute times are noisy), and
the ratio of the fastest repeats (the least disturbed by other processes).

Which ``losskit`` is timed is whatever ``import losskit`` finds (set ``PYTHONPATH`` to time another
checkout).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import losskit
from losskit.functional import focal_loss, poly1_cross_entropy, poly1_focal_loss

# name -> (target kind, loss(logits, target) -> scalar)
CASES: dict[str, tuple[str, Callable]] = {
    "focal_loss g=2": ("index", lambda z, t: focal_loss(z, t, gamma=2.0)),
    "focal_loss g=0.5 alpha(C,)": ("index", None),  # filled in main(): needs C
    "poly1_cross_entropy e=1": ("index", lambda z, t: poly1_cross_entropy(z, t, epsilon=1.0)),
    "poly1_focal_loss g=2 e=1": ("index", lambda z, t: poly1_focal_loss(z, t, gamma=2.0, epsilon=1.0)),
    "focal_loss g=2 ls=0.1": ("smooth", lambda z, t: focal_loss(z, t, gamma=2.0, label_smoothing=0.1)),
    "poly1_cross_entropy e=1 ls=0.1": (
        "smooth",
        lambda z, t: poly1_cross_entropy(z, t, epsilon=1.0, label_smoothing=0.1),
    ),
    "poly1_focal_loss g=2 e=1 ls=0.1": (
        "smooth",
        lambda z, t: poly1_focal_loss(z, t, gamma=2.0, epsilon=1.0, label_smoothing=0.1),
    ),
    "focal_loss g=2 probs": ("probs", lambda z, t: focal_loss(z, t, gamma=2.0)),
    "poly1_focal_loss g=2 e=1 probs": ("probs", lambda z, t: poly1_focal_loss(z, t, gamma=2.0, epsilon=1.0)),
}


def _ce(kind: str) -> Callable:
    if kind == "smooth":
        return lambda z, t: F.cross_entropy(z, t, label_smoothing=0.1)
    return F.cross_entropy


def _step(fn: Callable, z: torch.Tensor, t: torch.Tensor) -> float:
    z.grad = None
    t0 = time.perf_counter()
    fn(z, t).backward()
    return time.perf_counter() - t0


def run(n: int, c: int, repeats: int, warmup: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    z = (3.0 * torch.randn(n, c, generator=g)).requires_grad_(True)
    idx = torch.randint(0, c, (n,), generator=g)
    probs = torch.softmax(torch.randn(n, c, generator=g), 1)
    alpha = torch.rand(c, generator=g)
    cases = dict(CASES)
    cases["focal_loss g=0.5 alpha(C,)"] = ("index", lambda z, t: focal_loss(z, t, gamma=0.5, alpha=alpha))
    rows = []
    for name, (kind, fn) in cases.items():
        t = probs if kind == "probs" else idx
        ce = _ce(kind)
        for _ in range(warmup):
            _step(fn, z, t), _step(ce, z, t)
        ours, ref = [], []
        for _ in range(repeats):
            ours.append(_step(fn, z, t))
            ref.append(_step(ce, z, t))
        m_ours, m_ref = statistics.median(ours) * 1e3, statistics.median(ref) * 1e3
        rows.append(
            dict(case=name, target=kind, ms=m_ours, ce_ms=m_ref, ratio=m_ours / m_ref, min_ratio=min(ours) / min(ref))
        )
    return rows


def table(rows: list[dict]) -> str:
    out = [
        "| case | target | loss ms | F.cross_entropy ms | ratio | ratio of minima |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['case']} | {r['target']} | {r['ms']:.2f} | {r['ce_ms']:.2f} | {r['ratio']:.2f}x "
            f"| {r['min_ratio']:.2f}x |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--c", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--md", help="also write the table to this markdown file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = run(args.n, args.c, args.repeats, args.warmup)
    header = (
        f"losskit {getattr(losskit, '__version__', '?')} from {losskit.__file__}; torch {torch.__version__}; "
        f"{platform.processor() or platform.machine()}; {args.threads} threads; logits {args.n}x{args.c} fp32, "
        f"forward+backward, median of {args.repeats} interleaved repeats; {_dt.date.today()}"
    )
    text = header + "\n\n" + table(rows)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
