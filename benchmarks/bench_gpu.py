"""GPU benchmark of losskit's fused losses against torch eager, torch.compile, Liger-Kernel and Cut Cross-Entropy.

One command on a CUDA machine (peers are used when importable, skipped otherwise)::

    python benchmarks/bench_gpu.py --out benchmarks/results

Peers installed without their dependencies into a folder (``pip install --no-deps --target
/tmp/peers liger-kernel cut-cross-entropy``) are found with ``--peers /tmp/peers``.

For every case of /work/shared/anchors.md it times forward + backward (``triton.testing.do_bench``
median, ms), measures the peak CUDA memory above what was allocated before the call ("extra MB"),
and divides the time by a floor:

* memory-bound losses: floor = bytes that must move (read the inputs once, write the gradient once)
  / copy bandwidth, the bandwidth measured in the same run (read + write of a large copy);
* linear + CE: floor = 3 x the time of the forward GEMM (``x @ W.T``) measured in the same run.

It prints the table and writes ``<out>/<device>-<date>.json`` and ``.md``. ``--cases`` picks cases
(``ce,lce,focal,dice``), ``--scale`` shrinks every case (e.g. 0.1 for a quick look), ``--logits``
chooses random or Zipf-shaped ("realistic") logits for the CE cases: CCE skips gradient tiles below
bf16 resolution, so its speed depends on the data. In-place implementations (Liger, losskit's
``inplace_grad``) overwrite their logits on every timed call; CE's cost does not depend on the values.

The CPU-side logic (floors, ratios, the table and JSON) is unit-tested in
``tests/kernels/test_kernels_bench.py`` with a fake timer.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import os
import sys
from collections.abc import Callable

# ---------------------------------------------------------------------------------------------
# Pure logic (no GPU): floors, ratios, table
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    case: str
    impl: str
    ms: float | None = None
    extra_mb: float | None = None
    x_floor: float | None = None
    note: str = ""


@dataclasses.dataclass
class Case:
    """A benchmark case: a label, its floor in ms (computed once bandwidth/GEMM speed is known),
    and ``impls``: name -> zero-arg function building a ``step`` (forward + backward) callable."""

    key: str
    label: str
    floor_bytes: float = 0.0  # memory-bound cases
    gemm_shape: tuple = ()  # linear + CE: (tokens, hidden, vocab) of the GEMM x @ W.T; the floor is 3 of them
    impls: dict = dataclasses.field(default_factory=dict)


def floor_ms_from_bytes(nbytes: float, bandwidth_bytes_per_s: float) -> float:
    """Milliseconds to move ``nbytes`` at ``bandwidth`` bytes/s (read + write counted in the bytes)."""
    if bandwidth_bytes_per_s <= 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth_bytes_per_s}")
    return 1e3 * nbytes / bandwidth_bytes_per_s


def copy_bandwidth(copy_ms: float, nbytes: float) -> float:
    """Bytes/s of a copy of ``nbytes`` taking ``copy_ms`` (it reads and writes ``nbytes`` each)."""
    return 2.0 * nbytes / (copy_ms * 1e-3)


def x_floor(ms: float | None, floor_ms: float) -> float | None:
    """How many times the floor a time is (``None`` when not measured)."""
    if ms is None or floor_ms <= 0:
        return None
    return ms / floor_ms


def case_floor_ms(case: Case, bandwidth: float, gemm_ms: float | None) -> float:
    if case.gemm_shape:
        if gemm_ms is None:
            raise ValueError(f"case {case.key} needs the measured GEMM time")
        return 3.0 * gemm_ms
    return floor_ms_from_bytes(case.floor_bytes, bandwidth)


def format_markdown(results: list[Result], floors: dict[str, float], meta: dict) -> str:
    """The results as the anchors' Markdown table (one block per case)."""
    lines = [
        f"# losskit GPU benchmark: {meta.get('device', '?')}, {meta.get('date', '?')}",
        "",
        f"torch {meta.get('torch', '?')}, Triton {meta.get('triton', '?')}; copy bandwidth "
        f"{meta.get('bandwidth_tbs', float('nan')):.2f} TB/s (read + write); forward + backward, do_bench median.",
        "",
        "| case | impl | ms | extra MB | × floor |",
        "|---|---|---|---|---|",
    ]
    seen = set()
    for r in results:
        label = ""
        if r.case not in seen:
            seen.add(r.case)
            label = f"{r.case} (floor {floors.get(r.case, float('nan')):.3g} ms)"
        ms = "–" if r.ms is None else f"{r.ms:.3g}"
        mb = "–" if r.extra_mb is None else f"{r.extra_mb:.0f}"
        xf = "–" if r.x_floor is None else f"{r.x_floor:.2f}"
        impl = r.impl + (f" ({r.note})" if r.note else "")
        lines.append(f"| {label} | {impl} | {ms} | {mb} | {xf} |")
    return "\n".join(lines) + "\n"


def run_cases(
    cases: list[Case],
    timer: Callable[[Callable], float],
    memory: Callable[[Callable], float],
    bandwidth: float,
    gemm_ms: dict | None = None,
) -> tuple[list[Result], dict[str, float]]:
    """Time every implementation of every case with ``timer(step) -> ms`` and ``memory(step) -> MB``.

    An implementation whose builder raises ``ImportError`` (peer not installed) is listed as skipped;
    any other exception is recorded in the note, so one failure does not stop the run.
    """
    results: list[Result] = []
    floors: dict[str, float] = {}
    for case in cases:
        floor = case_floor_ms(case, bandwidth, (gemm_ms or {}).get(case.key))
        floors[case.label] = floor
        for name, build in case.impls.items():
            try:
                step = build()
            except ImportError as e:
                results.append(Result(case.label, name, note=f"skipped: {e}"))
                continue
            except Exception as e:
                results.append(Result(case.label, name, note=f"failed: {type(e).__name__}: {str(e)[:80]}"))
                continue
            try:
                mb = memory(step)
                ms = timer(step)
            except Exception as e:
                results.append(Result(case.label, name, note=f"failed: {type(e).__name__}: {str(e)[:80]}"))
                continue
            results.append(Result(case.label, name, ms=ms, extra_mb=mb, x_floor=x_floor(ms, floor)))
            del step
    return results, floors


def write_outputs(out_dir: str, results: list[Result], floors: dict[str, float], meta: dict) -> tuple[str, str]:
    """Write ``<device>-<date>.json`` and ``.md`` under ``out_dir``; return both paths."""
    os.makedirs(out_dir, exist_ok=True)
    stem = f"{meta.get('device', 'device').replace(' ', '_')}-{meta.get('date', 'date')}"
    jpath = os.path.join(out_dir, stem + ".json")
    mpath = os.path.join(out_dir, stem + ".md")
    with open(jpath, "w") as f:
        json.dump({"meta": meta, "floors_ms": floors, "results": [dataclasses.asdict(r) for r in results]}, f, indent=2)
    with open(mpath, "w") as f:
        f.write(format_markdown(results, floors, meta))
    return jpath, mpath


# ---------------------------------------------------------------------------------------------
# The cases (need torch; the steps need CUDA)
# ---------------------------------------------------------------------------------------------


def _grad_step(loss_fn, inputs):
    """forward + backward, gradients returned (not accumulated into .grad: no extra pass)."""
    import torch

    def step():
        loss = loss_fn(*inputs)
        return torch.autograd.grad(loss, [t for t in inputs if getattr(t, "requires_grad", False)])

    return step


def _compile(fn):
    """``torch.compile`` specialised to the case's shapes. The cases re-use one function's code for
    several shapes, and Dynamo's automatic dynamic shapes would compile the second shape onwards as a
    dynamic-shape graph (a different, usually slower program than the one a user's fixed-shape
    training step gets)."""
    import torch

    return torch.compile(fn, dynamic=False)


def _zipf_logits(n, c, dtype, device, gen):
    """Logits shaped like a trained LM's: a Zipfian class prior plus a confident token-specific part."""
    import torch

    prior = -1.1 * torch.log(torch.arange(1, c + 1, device=device, dtype=torch.float32))
    z = torch.randn(n, c, device=device, generator=gen) * 2.0 + prior
    hot = torch.randint(0, min(c, 1000), (n,), device=device, generator=gen)
    z[torch.arange(n, device=device), hot] += 12.0
    return z.to(dtype)


def build_cases(
    scale: float = 1.0, which=("ce", "lce", "focal", "dice"), logits: str = "random", device: str = "cuda"
) -> list[Case]:
    import torch
    import torch.nn.functional as F

    def s(n):
        return max(1, int(n * scale))

    gen = torch.Generator(device=device).manual_seed(0)
    bf16 = torch.bfloat16
    cases: list[Case] = []

    if "ce" in which:
        for n, c in ((8192, 128256), (4096, 256000), (65536, 1000)):
            n = s(n)
            label = f"CE bf16 {n}×{c}"
            nbytes = n * c * 2 * 2 + n * 8  # read logits, write grad (bf16), read targets (int64)

            def make(n=n, c=c):
                x = (
                    _zipf_logits(n, c, bf16, device, gen)
                    if logits == "realistic"
                    else torch.randn(n, c, device=device, dtype=bf16, generator=gen)
                )
                y = torch.randint(0, c, (n,), device=device, generator=gen)
                return x.requires_grad_(), y

            impls = {}

            def lk(make=make, inplace=False):
                from losskit.kernels.cross_entropy import cross_entropy_triton

                x, y = make()
                if not inplace:
                    return _grad_step(lambda a, b: cross_entropy_triton(a, b), (x, y))

                def step():
                    xi = x.detach().requires_grad_()  # same storage: the backward writes the gradient over it
                    loss = cross_entropy_triton(xi, y, inplace_grad=True)
                    return torch.autograd.grad(loss, [xi])

                return step

            impls["losskit"] = lk
            impls["losskit (inplace_grad)"] = lambda lk=lk: lk(inplace=True)
            impls["torch eager (bf16 in)"] = lambda make=make: _grad_step(F.cross_entropy, make())
            impls["torch eager (upcast fp32)"] = lambda make=make: _grad_step(
                lambda a, b: F.cross_entropy(a.float(), b), make()
            )
            impls["torch.compile (upcast fp32)"] = lambda make=make: _grad_step(
                _compile(lambda a, b: F.cross_entropy(a.float(), b)), make()
            )

            def liger(make=make):
                from liger_kernel.transformers import LigerCrossEntropyLoss

                return _grad_step(LigerCrossEntropyLoss(), make())

            impls["Liger CrossEntropy"] = liger
            cases.append(Case(f"ce{c}", label, floor_bytes=nbytes, impls=impls))

    if "lce" in which:
        n, h, v = s(8192), 4096, 128256
        label = f"linear+CE bf16, {n} tokens, H={h}, V={v}"

        def make_lce():
            x = torch.randn(n, h, device=device, dtype=bf16, generator=gen).requires_grad_()
            w = (torch.randn(v, h, device=device, dtype=bf16, generator=gen) * (2.0 / math.sqrt(h))).requires_grad_()
            y = torch.randint(0, v, (n,), device=device, generator=gen)
            return x, w, y

        def lk_lce():
            from losskit.functional import linear_cross_entropy

            return _grad_step(lambda x, w, y: linear_cross_entropy(x, w, y), make_lce())

        impls = {
            "losskit": lk_lce,
            "torch eager": lambda: _grad_step(lambda x, w, y: F.cross_entropy(x @ w.T, y), make_lce()),
            "torch.compile": lambda: _grad_step(
                _compile(lambda x, w, y: F.cross_entropy((x @ w.T).float(), y)), make_lce()
            ),
        }

        def torch_chunked():
            if not hasattr(F, "linear_cross_entropy"):
                raise ImportError("torch.nn.functional.linear_cross_entropy needs torch >= 2.13")
            opts = torch.nn.LinearCrossEntropyOptions()
            return _grad_step(lambda x, w, y: F.linear_cross_entropy(x, w, y, options=opts), make_lce())

        def liger_flce():
            from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

            f = LigerFusedLinearCrossEntropyLoss()
            return _grad_step(lambda x, w, y: f(w, x, y), make_lce())

        def cce():
            from cut_cross_entropy import linear_cross_entropy as cce_lce

            return _grad_step(lambda x, w, y: cce_lce(x, w, y), make_lce())

        impls["torch F.linear_cross_entropy (chunked)"] = torch_chunked
        impls["Liger fused linear CE"] = liger_flce
        impls["Cut Cross-Entropy"] = cce
        cases.append(Case("lce", label, gemm_shape=(n, h, v), impls=impls))

    if "focal" in which:
        for n, dt, name in ((s(2_000_000), bf16, "bf16"), (s(200_000), torch.float32, "fp32")):
            c = 80
            label = f"sigmoid focal {name} {n}×{c}"
            es = torch.tensor([], dtype=dt).element_size()

            def make_f(n=n, dt=dt, c=c):
                x = torch.randn(n, c, device=device, dtype=dt, generator=gen).requires_grad_()
                t = (torch.rand(n, c, device=device, generator=gen) < 0.05).to(dt)
                return x, t

            def tv_focal(x, t, alpha=0.25, gamma=2.0):
                p = torch.sigmoid(x)
                ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
                p_t = p * t + (1 - p) * (1 - t)
                loss = ce * ((1 - p_t) ** gamma)
                loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
                return loss.mean()

            def lk_f(make_f=make_f):
                from losskit.functional import sigmoid_focal_loss

                return _grad_step(lambda x, t: sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0), make_f())

            def tv(make_f=make_f):
                try:
                    from torchvision.ops import sigmoid_focal_loss as f
                except ImportError:
                    return _grad_step(tv_focal, make_f())
                return _grad_step(lambda x, t: f(x, t, reduction="mean"), make_f())

            impls = {
                "losskit": lk_f,
                "torchvision eager": tv,
                "torch.compile": lambda make_f=make_f: _grad_step(_compile(tv_focal), make_f()),
            }
            cases.append(Case(f"focal_{name}", label, floor_bytes=3 * n * c * es, impls=impls))

    if "dice" in which:
        shape = (s(16), 21, 512, 512)
        numel = math.prod(shape)
        label = f"dice + BCE bf16 {'×'.join(map(str, shape))}"

        def make_d():
            x = torch.randn(shape, device=device, dtype=bf16, generator=gen).requires_grad_()
            t = (torch.rand(shape, device=device, generator=gen) < 0.3).to(bf16)
            return x, t

        def eager_dice(x, t):
            xf, tf = x.float(), t.float()
            p = torch.sigmoid(xf)
            inter = (p * tf).sum((2, 3))
            den = p.sum((2, 3)) + tf.sum((2, 3))
            dice = 1 - (2 * inter + 1.0) / (den + 1.0)
            return dice.mean() + F.binary_cross_entropy_with_logits(xf, tf)

        def lk_d():
            from losskit.functional import binary_cross_entropy_with_logits, dice_loss

            # the soft_counts kernel behind dice_loss (per image, smooth 1: the eager formula's numbers) + BCE
            return _grad_step(
                lambda x, t: (
                    dice_loss(x, t, mode="multilabel", per_image=True, smooth=1.0)
                    + binary_cross_entropy_with_logits(x, t)
                ),
                make_d(),
            )

        impls = {
            "losskit": lk_d,
            "eager": lambda: _grad_step(eager_dice, make_d()),
            "torch.compile": lambda: _grad_step(_compile(eager_dice), make_d()),
        }
        cases.append(Case("dice", label, floor_bytes=3 * numel * 2, impls=impls))
    return cases


def _cuda_timer(step) -> float:
    import triton.testing

    return float(triton.testing.do_bench(step, warmup=25, rep=200, return_mode="median"))


def _cuda_memory(step) -> float:
    import torch

    step()  # warm-up: compile, autotune, workspace allocation
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    out = step()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del out
    return (peak - before) / 2**20


def _measure_bandwidth(timer) -> float:
    import torch

    nbytes = 2**30
    a = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = timer(lambda: b.copy_(a))
    return copy_bandwidth(ms, nbytes)


def _measure_gemm(timer, cases) -> dict:
    import torch

    out = {}
    for case in cases:
        if case.gemm_shape:
            n, h, v = case.gemm_shape
            x = torch.randn(n, h, device="cuda", dtype=torch.bfloat16)
            w = torch.randn(v, h, device="cuda", dtype=torch.bfloat16)
            out[case.key] = timer(lambda x=x, w=w: x @ w.T)
            del x, w
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="benchmarks/results", help="directory for the JSON and Markdown results")
    ap.add_argument("--cases", default="ce,lce,focal,dice", help="comma list of: ce, lce, focal, dice")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink every case's batch dimension")
    ap.add_argument("--logits", choices=("random", "realistic"), default="random")
    ap.add_argument(
        "--peers",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder holding peers installed with pip install --no-deps --target DIR (repeatable)",
    )
    args = ap.parse_args(argv)
    for d in args.peers:  # appended: a peer folder must not shadow torch or triton
        if d not in sys.path:
            sys.path.append(os.path.abspath(d))

    import torch

    if not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA device (the CPU-side logic is tested in tests/kernels)", file=sys.stderr)
        return 2
    import triton

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    which = tuple(c.strip() for c in args.cases.split(",") if c.strip())
    cases = build_cases(args.scale, which, args.logits)
    bw = _measure_bandwidth(_cuda_timer)
    gemm = _measure_gemm(_cuda_timer, cases)
    results, floors = run_cases(cases, _cuda_timer, _cuda_memory, bw, gemm)
    meta = {
        "device": torch.cuda.get_device_name(),
        "date": _dt.date.today().isoformat(),
        "torch": torch.__version__,
        "triton": triton.__version__,
        "bandwidth_tbs": bw / 1e12,
        "gemm_ms": gemm,
        "logits": args.logits,
        "scale": args.scale,
    }
    print(format_markdown(results, floors, meta))
    paths = write_outputs(args.out, results, floors, meta)
    print("wrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
