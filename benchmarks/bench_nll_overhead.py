"""Where ``nll_loss``'s time above torch's goes, on a leaf tensor (CPU, forward + backward).

``nll_loss`` on a leaf is the one torch twin whose step is dominated by a fixed per-call cost:
torch's whole step is the zero-fill of the ``(N, C)`` gradient (about 0.4 ms at 4096 x 1000 on two
cores), and the fill leaves the caches cold, so each op and each Python call after it costs two to
three times its warm time. This splits losskit's extra time into its parts, timed round-robin (each
repeat runs every variant once, so drift in the machine's speed cancels):

* ``torch``: ``torch.nn.functional.nll_loss``.
* ``torch + one read``: losskit's sampled "not log-probabilities" read (``read_log_probs``: a few
  rows spread over the batch, ``exp``, ``sum``, one host read) on every call, then torch's function --
  the cost of one read, with no other check.
* ``losskit, read every call``: ``losskit.functional.nll_loss`` with the read due on every call
  (as under ``checks("full")``, without its other reads).
* ``losskit checks off``: ``losskit.functional.nll_loss`` under ``losskit.checks("off")``.
* ``losskit``: the default, what ``bench_cpu.py`` times: under ``checks("auto")`` the read is spaced
  10 ms apart per call site and kind of input (``log_probs_read_due``), about one call in 25 here.

    python benchmarks/bench_nll_overhead.py                 # 4096 x 1000, 1500 repeats
    python benchmarks/bench_nll_overhead.py --size 256x1000 --repeats 300

Prints a table (median microseconds and the ratio to torch); writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
for _path in (_ROOT / "src", _ROOT / "benchmarks"):  # this checkout's losskit, and bench_cpu beside this file
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import losskit  # noqa: E402
from bench_cpu import _tune_malloc  # noqa: E402
from losskit import _checks  # noqa: E402


def _variants():
    def torch_plus_read(x, y):
        _checks.read_log_probs(x, 1, fn="nll_loss")
        return TF.nll_loss(x, y)

    def read_every_call(x, y):
        # no recent read, so this call's is due; the default variant's record of its reads is put back
        saved = dict(_checks._LAST_READ)
        _checks._LAST_READ.clear()
        try:
            return losskit.functional.nll_loss(x, y)
        finally:
            _checks._LAST_READ.clear()
            _checks._LAST_READ.update(saved)

    def checks_off(x, y):
        with losskit.checks("off"):
            return losskit.functional.nll_loss(x, y)

    return {
        "torch": TF.nll_loss,
        "torch + one read": torch_plus_read,
        "losskit, read every call": read_every_call,
        "losskit checks off": checks_off,
        "losskit": losskit.functional.nll_loss,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="4096x1000", help="N x C of the log-probabilities")
    parser.add_argument("--repeats", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _tune_malloc()
    n, c = (int(v) for v in args.size.lower().split("x"))
    g = torch.Generator().manual_seed(0)
    x = torch.log_softmax(torch.randn(n, c, generator=g), 1).requires_grad_()
    y = torch.randint(0, c, (n,), generator=g)
    variants = _variants()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(max(1, args.repeats)):
        for name, fn in variants.items():
            x.grad = None
            t0 = time.perf_counter()
            fn(x, y).backward()
            times[name].append(time.perf_counter() - t0)
    medians = {k: sorted(v)[len(v) // 2] * 1e6 for k, v in times.items()}
    base = medians["torch"]
    print(f"nll_loss on a leaf {n}x{c}, {args.threads} threads, {args.repeats} round-robin repeats")
    print(f"{'variant':26s} {'us':>9s} {'ratio':>7s}")
    for name, us in medians.items():
        print(f"{name:26s} {us:9.1f} {us / base:7.3f}")
    return medians


if __name__ == "__main__":
    main()
