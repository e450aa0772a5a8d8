"""CPU benchmark: forward + backward time and peak memory of every losskit torch twin against
torch's own function, and of the segmentation and focal losses against their peers.

For each catalog loss that names a ``torch_twin``, both functions run on the same inputs at a
realistic size (the ``SIZES`` table below); each repeat times one forward and one backward of each,
interleaved (ours then torch, torch then ours, alternately) so that drift in the machine's speed
cancels. The table reports the medians and their ratio (ours / torch: lower is better; the target
is <= 1.1).

Peak memory (``--memory-dtypes``, default float32 and bfloat16): the largest amount PyTorch's CPU
allocator holds during one forward + backward above what it held before, read from the
``[memory]`` events of ``torch.profiler`` (every allocation and free, in order); the inputs are
cast to the dtype first. The target is ours <= 1.1x torch's in every dtype.

Peers (``PEERS`` below, same inputs and options on both sides): ``dice_loss`` against MONAI's
``DiceLoss``, ``CombinedLoss(ce + dice)`` against MONAI's ``DiceCELoss``, ``sigmoid_focal_loss``
against torchvision's ``sigmoid_focal_loss`` (its formula written out in torch ops, as
``torchvision/ops/focal_loss.py`` computes it: torchvision does not install beside the CPU build
of torch used here). A peer that is not installed is skipped and the run says so. One more row
times ``nll_loss`` on ``log_softmax`` outputs against torch's, as a training step calls it (the
twin row times it on a leaf tensor, whose values losskit samples to warn about inputs that are not
log-probabilities).

    python benchmarks/bench_cpu.py            # full run, writes benchmarks/results/cpu-<tag>-<date>.json|md
    python benchmarks/bench_cpu.py --quick    # fewer repeats
    python benchmarks/bench_cpu.py --only mse_loss,l1_loss

Settings that matter, all recorded in the results:

* ``torch.set_num_threads(2)`` by default (``--threads``).
* glibc's allocator is told to keep freed memory (``mallopt`` trim / mmap thresholds raised), so a
  1M-element tensor is not handed back to the OS after each call and page-faulted in again on the
  next. Without it, on a VM, page faults dominate and the timings become bimodal noise.
  ``--no-malloc-tune`` measures without it.
* losskit's check level stays at its default (``"auto"``: value checks run on CPU tensors) unless
  ``--checks off`` is given: the cost of validation is part of what is measured.

Twins listed in ``SIZES`` but not registered yet are skipped, and the run prints which.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT / "src") not in sys.path:  # benchmark this checkout's losskit, not an installed one
    sys.path.insert(0, str(_ROOT / "src"))

import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import losskit  # noqa: E402
from losskit import catalog  # noqa: E402

Builder = Callable[[torch.Generator, bool], tuple[tuple, dict, str]]


# --------------------------------------------------------------------------------------------
# input builders: (generator, tiny) -> (args, kwargs, size label); torch's keyword names
# --------------------------------------------------------------------------------------------


def _randn(g, *shape, grad=False):
    t = torch.randn(*shape, generator=g)
    return t.requires_grad_() if grad else t


def _classes(g, n, c):
    return torch.randint(0, c, (n,), generator=g)


def _nc(tiny, n=4096, c=1000):
    return (8, 5) if tiny else (n, c)


def _ce(g, tiny):
    n, c = _nc(tiny)
    return (_randn(g, n, c, grad=True), _classes(g, n, c)), {}, f"{n}x{c}"


def _nll(g, tiny):
    n, c = _nc(tiny)
    lp = torch.log_softmax(_randn(g, n, c), 1).requires_grad_()
    return (lp, _classes(g, n, c)), {}, f"{n}x{c}"


def _bce(g, tiny):
    n, c = _nc(tiny)
    p = torch.sigmoid(_randn(g, n, c)).requires_grad_()
    y = torch.randint(0, 2, (n, c), generator=g).float()
    return (p, y), {}, f"{n}x{c}"


def _bce_logits(g, tiny):
    n, c = _nc(tiny)
    y = torch.randint(0, 2, (n, c), generator=g).float()
    return (_randn(g, n, c, grad=True), y), {}, f"{n}x{c}"


def _soft_margin(g, tiny):
    n, c = _nc(tiny)
    y = torch.randint(0, 2, (n, c), generator=g).float() * 2 - 1
    return (_randn(g, n, c, grad=True), y), {}, f"{n}x{c}"


def _multi_margin(g, tiny):
    n, c = _nc(tiny, c=100)
    return (_randn(g, n, c, grad=True), _classes(g, n, c)), {}, f"{n}x{c}"


def _multilabel_margin(g, tiny):
    n, c = _nc(tiny, c=100)
    k = max(1, c // 20)  # 5 labels per row, then -1 padding
    y = torch.full((n, c), -1, dtype=torch.long)
    y[:, :k] = torch.stack([torch.randperm(c, generator=g)[:k] for _ in range(n)])
    return (_randn(g, n, c, grad=True), y), {}, f"{n}x{c}"


def _kl_div(g, tiny):
    n, c = _nc(tiny)
    lp = torch.log_softmax(_randn(g, n, c), 1).requires_grad_()
    q = torch.softmax(_randn(g, n, c), 1)
    return (lp, q), {"reduction": "batchmean"}, f"{n}x{c}"


def _linear_ce(g, tiny):
    n, h, v = (8, 4, 5) if tiny else (4096, 256, 1000)
    x = _randn(g, n, h, grad=True)
    w = (0.05 * torch.randn(v, h, generator=g)).requires_grad_()
    return (x, w, _classes(g, n, v)), {}, f"{n}x{h}->{v}"


def _ctc(g, tiny):
    t, n, c, s = (12, 2, 5, 4) if tiny else (200, 64, 30, 40)
    lp = torch.log_softmax(torch.randn(t, n, c, generator=g), 2).requires_grad_()
    targets = torch.randint(1, c, (n, s), generator=g)
    return (
        (lp, targets, torch.full((n,), t, dtype=torch.long), torch.full((n,), s, dtype=torch.long)),
        {},
        f"T{t} N{n} C{c} S{s}",
    )


def _regression(g, tiny):
    n = 64 if tiny else 1_000_000
    return (_randn(g, n, grad=True), _randn(g, n)), {}, f"{n}"


def _poisson(g, tiny):
    n = 64 if tiny else 1_000_000
    y = torch.poisson(torch.full((n,), 3.0), generator=g)
    return ((0.5 * _randn(g, n)).requires_grad_(), y), {}, f"{n}"


def _gaussian(g, tiny):
    n = 64 if tiny else 1_000_000
    var = (torch.rand(n, generator=g) + 0.1).requires_grad_()
    return (_randn(g, n, grad=True), _randn(g, n), var), {}, f"{n}"


def _emb(tiny):
    return (8, 6) if tiny else (4096, 128)


def _margin_ranking(g, tiny):
    n, d = _emb(tiny)
    y = torch.randint(0, 2, (n * d,), generator=g).float() * 2 - 1
    return (_randn(g, n * d, grad=True), _randn(g, n * d, grad=True), y), {"margin": 0.1}, f"{n * d}"


def _hinge_embedding(g, tiny):
    n, d = _emb(tiny)
    y = torch.randint(0, 2, (n, d), generator=g).float() * 2 - 1
    return (torch.rand(n, d, generator=g).mul(2).requires_grad_(), y), {}, f"{n}x{d}"


def _cosine_embedding(g, tiny):
    n, d = _emb(tiny)
    y = torch.randint(0, 2, (n,), generator=g) * 2 - 1
    return (_randn(g, n, d, grad=True), _randn(g, n, d, grad=True), y), {"margin": 0.2}, f"{n}x{d}"


def _triplet(g, tiny):
    n, d = _emb(tiny)
    return tuple(_randn(g, n, d, grad=True) for _ in range(3)), {}, f"{n}x{d}"


# torch twin name -> builder. Every twin of torch.nn.functional that losskit has (or will have).
SIZES: dict[str, Builder] = {
    "cross_entropy": _ce,
    "nll_loss": _nll,
    "binary_cross_entropy": _bce,
    "binary_cross_entropy_with_logits": _bce_logits,
    "multilabel_soft_margin_loss": _bce_logits,
    "soft_margin_loss": _soft_margin,
    "multi_margin_loss": _multi_margin,
    "multilabel_margin_loss": _multilabel_margin,
    "kl_div": _kl_div,
    "linear_cross_entropy": _linear_ce,
    "ctc_loss": _ctc,
    "mse_loss": _regression,
    "l1_loss": _regression,
    "smooth_l1_loss": _regression,
    "huber_loss": _regression,
    "poisson_nll_loss": _poisson,
    "gaussian_nll_loss": _gaussian,
    "margin_ranking_loss": _margin_ranking,
    "hinge_embedding_loss": _hinge_embedding,
    "cosine_embedding_loss": _cosine_embedding,
    "triplet_margin_loss": _triplet,
    "triplet_margin_with_distance_loss": _triplet,
}


# --------------------------------------------------------------------------------------------
# peers: name -> (builder, ours, theirs); a builder returns (args, size label) or raises ImportError
# --------------------------------------------------------------------------------------------


def _segmentation(g, tiny):
    n, c, h, w = (2, 3, 8, 8) if tiny else (8, 4, 128, 128)
    return (_randn(g, n, c, h, w, grad=True), torch.randint(0, c, (n, h, w), generator=g)), f"{n}x{c}x{h}x{w}"


def _monai_dice():
    from monai.losses import DiceLoss

    # the same numbers on both sides: softmax, one-hot labels, batch ratio per class, smooth 1e-5
    theirs = DiceLoss(softmax=True, to_onehot_y=True, batch=True, smooth_nr=1e-5, smooth_dr=1e-5)
    return (
        lambda x, y: losskit.functional.dice_loss(x, y, smooth=1e-5, empty="include"),
        lambda x, y: theirs(x, y[:, None]),
    )


def _monai_dice_ce():
    from monai.losses import DiceCELoss

    theirs = DiceCELoss(softmax=True, to_onehot_y=True, batch=True, smooth_nr=1e-5, smooth_dr=1e-5)
    ours = losskit.nn.CombinedLoss(
        {"ce": losskit.nn.CrossEntropyLoss(), "dice": losskit.nn.DiceLoss(smooth=1e-5, empty="include")}
    )
    return ours, lambda x, y: theirs(x, y[:, None])


def _binary_table(g, tiny):
    n, c = _nc(tiny, c=80)
    y = torch.randint(0, 2, (n, c), generator=g).float()
    return (_randn(g, n, c, grad=True), y), f"{n}x{c}"


def _torchvision_focal():
    def theirs(inputs, targets, alpha=0.25, gamma=2.0):
        # torchvision/ops/focal_loss.py (sigmoid_focal_loss), reduction="mean"
        p = torch.sigmoid(inputs)
        ce_loss = TF.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        return (alpha_t * loss).mean()

    return lambda x, y: losskit.functional.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0), theirs


def _log_softmax_table(g, tiny):
    n, c = _nc(tiny)
    return (_randn(g, n, c, grad=True), _classes(g, n, c)), f"{n}x{c}"


def _nll_after_log_softmax():
    # nll_loss as a training step calls it: on log_softmax outputs (the graph shows the log_softmax, so
    # losskit reads no values to check them); the twin row above times it on a leaf, whose values it samples
    return (
        lambda x, y: losskit.functional.nll_loss(torch.log_softmax(x, 1), y),
        lambda x, y: TF.nll_loss(torch.log_softmax(x, 1), y),
    )


PEERS: dict[str, tuple] = {
    "nll_loss(log_softmax(x)) vs torch": (_log_softmax_table, _nll_after_log_softmax),
    "dice_loss vs MONAI DiceLoss": (_segmentation, _monai_dice),
    "CombinedLoss(ce+dice) vs MONAI DiceCELoss": (_segmentation, _monai_dice_ce),
    "sigmoid_focal_loss vs torchvision": (_binary_table, _torchvision_focal),
}


# --------------------------------------------------------------------------------------------
# peak memory
# --------------------------------------------------------------------------------------------


def _cast(args: tuple, dtype: torch.dtype) -> tuple:
    """The floating inputs in ``dtype`` (leaves that required grad still do); integer targets as they are."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            a = a.detach().to(dtype).requires_grad_(a.requires_grad)
        out.append(a)
    return tuple(out)


def peak_bytes(fn: Callable, args: tuple, kwargs: dict, *, repeats: int = 3) -> int:
    """Peak bytes the CPU allocator holds during one forward + backward of ``fn`` above the level before it:
    the median of ``repeats`` measurements (intra-op threads free their buffers in varying order, which
    moves a single measurement of a small input by a tensor or two)."""
    return int(statistics.median(_peak_once(fn, args, kwargs) for _ in range(repeats)))


def _peak_once(fn: Callable, args: tuple, kwargs: dict) -> int:
    from torch.profiler import ProfilerActivity, profile

    diff = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _step(fn, args, kwargs, diff)
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and "CPU" in str(e.device_type())
    )
    level = peak = 0
    for _, nbytes in events:
        level += nbytes
        peak = max(peak, level)
    for t in diff:
        t.grad = None
    return peak


def memory_pair(ours: Callable, ref: Callable, args: tuple, kwargs: dict, dtype: torch.dtype) -> dict:
    """Peak MiB of ``ours`` and ``ref`` on the inputs cast to ``dtype`` (None where one refuses the dtype)."""
    args = _cast(args, dtype)
    row: dict = {}
    for side, fn in (("ours", ours), ("torch", ref)):
        try:
            _step(fn, args, kwargs, [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad])
            row[f"{side}_mib"] = peak_bytes(fn, args, kwargs) / 2**20
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as e:
            row[f"{side}_mib"], row[f"{side}_error"] = None, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    if row["ours_mib"] is not None and row["torch_mib"]:
        row["ratio"] = row["ours_mib"] / row["torch_mib"]
    return row


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


def _tune_malloc() -> bool:
    """Ask glibc to keep freed memory (no trimming, no per-allocation mmap); False if not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_trim_threshold, 1 << 30) == 1
        ok &= libc.mallopt(m_mmap_threshold, 1 << 30) == 1
        return bool(ok)
    except (OSError, AttributeError):
        return False


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _step(fn: Callable, args: tuple, kwargs: dict, diff: list) -> float:
    for t in diff:
        t.grad = None
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    if out.dim():
        out = out.sum()
    out.backward()
    return time.perf_counter() - t0


def time_pair(ours: Callable, ref: Callable, args: tuple, kwargs: dict, *, repeats: int, warmup: int) -> dict:
    """Median forward+backward seconds of ``ours`` and ``ref``, interleaved, alternating which goes first."""
    diff = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    for _ in range(warmup):
        _step(ours, args, kwargs, diff)
        _step(ref, args, kwargs, diff)
    t_ours, t_ref = [], []
    for r in range(repeats):
        if r % 2 == 0:
            t_ours.append(_step(ours, args, kwargs, diff))
            t_ref.append(_step(ref, args, kwargs, diff))
        else:
            t_ref.append(_step(ref, args, kwargs, diff))
            t_ours.append(_step(ours, args, kwargs, diff))
    m_ours, m_ref = statistics.median(t_ours), statistics.median(t_ref)
    return {
        "ours_ms": m_ours * 1e3,
        "torch_ms": m_ref * 1e3,
        "ratio": m_ours / m_ref,
        "ours_min_ms": min(t_ours) * 1e3,
        "torch_min_ms": min(t_ref) * 1e3,
        "ratio_of_mins": min(t_ours) / min(t_ref),
        "paired_ratio": statistics.median(o / r for o, r in zip(t_ours, t_ref, strict=True)),
        "repeats": repeats,
    }


# --------------------------------------------------------------------------------------------
# device description and output
# --------------------------------------------------------------------------------------------


def describe_device() -> dict:
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "losskit": losskit.__version__,
        "python": platform.python_version(),
    }


def _markdown(meta: dict, rows: list[dict], skipped: dict, memory: list[dict], peers: list[dict]) -> str:
    d = meta["device"]
    lines = [
        f"# losskit vs torch on CPU: forward + backward ({meta['date']})",
        "",
        f"- CPU: {d['cpu']}, {d['cores']} cores; torch.set_num_threads({d['threads']})",
        f"- torch {d['torch']}, losskit {d['losskit']}, Python {d['python']}",
        f"- median of {meta['repeats']} interleaved repeats (after {meta['warmup']} warm-up); float32;"
        f" losskit checks level '{meta['checks']}'; glibc malloc tuned: {meta['malloc_tuned']}",
        f"- 1-minute load average before / after: {meta['loadavg_1min']['before']} / {meta['loadavg_1min']['after']}"
        " (other processes on the machine; above ~1 the timings are noisy)",
        "- ratio = ours / torch (lower is better; target <= 1.1)",
        "- also shown: the median of the per-repeat ratios (each pair run back to back) and the ratio of the"
        " fastest runs, both less sensitive to other processes than the ratio of medians",
        "",
        "| loss | size | losskit ms | torch ms | ratio | paired ratio | ratio of mins |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        flag = " **slow**" if r["ratio"] > 1.1 else ""
        name = r["name"] + (f" (vs {r['peer']})" if r.get("peer") else "")
        lines.append(
            f"| {name} | {r['size']} | {r['ours_ms']:.3f} | {r['torch_ms']:.3f} | {r['ratio']:.2f}{flag} "
            f"| {r['paired_ratio']:.2f} | {r['ratio_of_mins']:.2f} |"
        )
    if peers:
        lines += [
            "",
            "## Against the peers, and torch on a training step's input (forward + backward, the same inputs and options)",
            "",
            "| comparison | size | losskit ms | peer ms | ratio | paired ratio | ratio of mins |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in peers:
            flag = " **slow**" if r["ratio"] > 1.1 else ""
            lines.append(
                f"| {r['name']} | {r['size']} | {r['ours_ms']:.3f} | {r['torch_ms']:.3f} | {r['ratio']:.2f}{flag} "
                f"| {r['paired_ratio']:.2f} | {r['ratio_of_mins']:.2f} |"
            )
    if memory:
        lines += [
            "",
            "## Peak memory of one forward + backward (CPU allocator, torch.profiler memory events)",
            "",
            "| loss | size | dtype | losskit MiB | torch MiB | ratio |",
            "|---|---|---|---:|---:|---:|",
        ]
        for m in memory:
            ours = "-" if m["ours_mib"] is None else f"{m['ours_mib']:.2f}"
            ref = "-" if m["torch_mib"] is None else f"{m['torch_mib']:.2f}"
            ratio = m.get("ratio")
            cell = "-" if ratio is None else f"{ratio:.2f}" + (" **over**" if ratio > 1.1 else "")
            note = m.get("torch_error") or m.get("ours_error")
            lines.append(
                f"| {m['name']} | {m['size']} | {m['dtype']} | {ours} | {ref} | {cell}"
                + (f" ({note})" if note and ratio is None else "")
                + " |"
            )
    for why, names in skipped.items():
        if names:
            lines += ["", f"Skipped ({why}): {', '.join(names)}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats (a short run)")
    p.add_argument("--tiny", action="store_true", help="tiny inputs (a smoke test, timings meaningless)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per loss (default 101, quick 21)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up calls (default 5, quick 2)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated twin names")
    p.add_argument("--checks", default="auto", choices=["off", "auto", "full"], help="losskit check level")
    p.add_argument("--no-malloc-tune", action="store_true")
    p.add_argument(
        "--memory-dtypes",
        default="float32,bfloat16",
        help="dtypes whose peak memory is measured (comma-separated; '' for none)",
    )
    p.add_argument("--out", default=str(_ROOT / "benchmarks" / "results"), help="results folder")
    p.add_argument("--tag", default=None, help="file-name tag (default: '2core' on 2 cores, else the hostname)")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)

    repeats = a.repeats or (21 if a.quick else 101)
    warmup = a.warmup if a.warmup is not None else (2 if a.quick else 5)
    torch.set_num_threads(a.threads)
    tuned = False if a.no_malloc_tune else _tune_malloc()
    load_before = _loadavg()
    if load_before is not None and load_before > (os.cpu_count() or 1) * 0.5:
        print(
            f"warning: load average {load_before:.1f} on {os.cpu_count()} cores: other processes compete for the "
            "CPU, and timings with several threads get noisy"
        )

    wanted = set(filter(None, a.only.split(",")))
    specs = {e.torch_twin: e for e in catalog.entries() if e.torch_twin}
    skipped = {
        "not in the catalog": sorted(n for n in SIZES if n not in specs and (not wanted or n in wanted)),
        "in the catalog but no size entry": sorted(n for n in specs if n not in SIZES and (not wanted or n in wanted)),
        "not in this torch": sorted(n for n in specs if not hasattr(TF, n)),
    }
    mem_dtypes = [getattr(torch, d) for d in filter(None, a.memory_dtypes.split(","))]
    rows, memory = [], []
    print(f"{'loss':36s} {'size':>14s} {'losskit ms':>11s} {'torch ms':>9s} {'ratio':>6s} {'paired':>6s} {'mins':>6s}")
    for twin, build in SIZES.items():
        if twin not in specs or (wanted and twin not in wanted) or not hasattr(TF, twin):
            continue
        spec = specs[twin]
        args, kwargs, size = build(torch.Generator().manual_seed(0), a.tiny)
        with warnings.catch_warnings(), losskit.checks(a.checks):
            warnings.simplefilter("ignore")
            res = time_pair(spec.functional, getattr(TF, twin), args, kwargs, repeats=repeats, warmup=warmup)
            for dt in mem_dtypes:
                memory.append(
                    {
                        "name": spec.name,
                        "size": size,
                        "dtype": str(dt).replace("torch.", ""),
                        **memory_pair(spec.functional, getattr(TF, twin), args, kwargs, dt),
                    }
                )
        row = {"name": spec.name, "torch_twin": twin, "size": size, **res}
        rows.append(row)
        flag = "  <-- slower than 1.1x" if res["ratio"] > 1.1 else ""
        print(
            f"{spec.name:36s} {size:>14s} {res['ours_ms']:11.3f} {res['torch_ms']:9.3f} {res['ratio']:6.2f} "
            f"{res['paired_ratio']:6.2f} {res['ratio_of_mins']:6.2f}{flag}"
        )
    peers = []
    for label, (build, make) in PEERS.items():
        if wanted and label not in wanted and not (wanted & {"peers"}):
            continue
        try:
            ours, theirs = make()
        except ImportError as e:
            skipped.setdefault("peer not installed", []).append(f"{label} ({e.name})")
            continue
        args, size = build(torch.Generator().manual_seed(0), a.tiny)
        with warnings.catch_warnings(), losskit.checks(a.checks):
            warnings.simplefilter("ignore")
            res = time_pair(ours, theirs, args, {}, repeats=repeats, warmup=warmup)
        peers.append({"name": label, "size": size, **res})
        print(
            f"{label:36s} {size:>14s} {res['ours_ms']:11.3f} {res['torch_ms']:9.3f} {res['ratio']:6.2f} "
            f"{res['paired_ratio']:6.2f} {res['ratio_of_mins']:6.2f}"
        )
    for m in memory:
        if m.get("ratio") is not None and m["ratio"] > 1.1:
            print(f"memory: {m['name']} {m['dtype']}: {m['ours_mib']:.1f} MiB vs torch {m['torch_mib']:.1f} MiB")
    for why, names in skipped.items():
        if names:
            print(f"skipped ({why}): {', '.join(names)}")

    date = _dt.date.today().isoformat()
    meta = {
        "date": date,
        "device": describe_device(),
        "repeats": repeats,
        "warmup": warmup,
        "checks": a.checks,
        "malloc_tuned": tuned,
        "tiny": a.tiny,
        "dtype": "float32",
        "loadavg_1min": {"before": load_before, "after": _loadavg()},
    }
    result = {"meta": meta, "results": rows, "memory": memory, "peers": peers, "skipped": skipped}
    if not a.no_write:
        tag = a.tag or ("2core" if os.cpu_count() == 2 else socket.gethostname())
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"cpu-{tag}-{date}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        stem.with_suffix(".md").write_text(_markdown(meta, rows, skipped, memory, peers))
        print(f"wrote {stem}.json and {stem}.md")
        result["paths"] = [str(stem) + ".json", str(stem) + ".md"]
    return result


if __name__ == "__main__":
    main()
