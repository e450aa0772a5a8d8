"""Peak memory per rank of vocab_parallel_linear_cross_entropy against the world size.

Each world size runs as its own process group (gloo on 127.0.0.1 by default, one process per
rank, spawned with torch.multiprocessing). Every rank holds the same tokens ``(N, H)`` and its
``V / world`` rows of the output layer, and runs one forward + backward with ``reduction="mean"``;
the number reported for a world size is the largest over its ranks of the peak memory allocated
*during* the call, above what was allocated before it (the inputs). That peak is the weight and
bias gradients of the shard, one chunk of logits and its float32 temporaries (both
``chunk x V / world``), and the input's gradient ``(N, H)`` (the only term that does not shrink):
it falls as 1 / world size while ``V H`` dominates ``N H``. In the same run, at world size 1, the
unfused ``cross_entropy(linear(x, W))`` (the ``(N, V)`` logits and their gradient, which a gather of
sharded logits would need too) and losskit's single-process ``linear_cross_entropy`` are measured
for comparison.

    python benchmarks/bench_distributed.py                 # worlds 1 2 4, writes benchmarks/results/
    python benchmarks/bench_distributed.py --worlds 1 2 --tokens 256 --classes 4096 --out /tmp

Memory on CPU is read from PyTorch's allocator: the ``[memory]`` events of ``torch.profiler``
(every allocation and free, in order), summed to the running total whose maximum is the peak. A
second, unprofiled run cross-checks it with the process's resident-set high-water mark (Linux:
``VmHWM`` after resetting it through ``/proc/self/clear_refs``), which also counts pages touched
by other allocations and is coarser.

NCCL on a multi-GPU machine (``--device cuda``): one GPU per rank (``torch.cuda.set_device(rank)``,
``world <= torch.cuda.device_count()``), the NCCL backend, and the inputs on that GPU; the code path
in losskit is the same (the same torch.distributed collectives), and the peak is read from
``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. The tests for that path are
``tests/distributed/test_nccl.py`` (they run where two GPUs are present: they also check that no
call synchronises the host). The committed results were measured on CPU (gloo).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import queue
import re
import socket
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT / "src") not in sys.path:  # benchmark this checkout's losskit, not an installed one
    sys.path.insert(0, str(_ROOT / "src"))

import torch  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MiB = 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loopback() -> str:
    names = [name for _, name in socket.if_nameindex()]
    return next((n for n in ("lo", "lo0") if n in names), names[0] if names else "lo")


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _allocator_peak(fn) -> int:
    """Peak bytes allocated by PyTorch's CPU allocator during ``fn()``, above the level before it."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and "CPU" in str(e.device_type())
    )
    level = peak = 0
    for _, nbytes in events:
        level += nbytes
        peak = max(peak, level)
    return peak


def _rss_peak(fn) -> int | None:
    """Resident-set high-water mark during ``fn()`` above the resident set before it (Linux), or None."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
        before = _status_kib("VmRSS")
        fn()
        return (_status_kib("VmHWM") - before) * 1024
    except (OSError, AttributeError):
        return None


def _cuda_peak(fn) -> int:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def _rank(rank: int, world: int, port: int, cfg: dict, results) -> None:
    import torch.distributed as dist

    from losskit.distributed import vocab_parallel_linear_cross_entropy
    from losskit.functional import cross_entropy, linear_cross_entropy

    torch.set_num_threads(cfg["threads"])
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    os.environ.setdefault("GLOO_SOCKET_IFNAME", _loopback())
    cuda = cfg["device"] == "cuda"
    if cuda:
        torch.cuda.set_device(rank)
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    dev = torch.device("cuda", rank) if cuda else torch.device("cpu")
    n, h, v, chunk = cfg["tokens"], cfg["hidden"], cfg["classes"], cfg["chunk"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, h, generator=g).div_(h**0.5)
    W = torch.randn(v, h, generator=g)
    b = torch.randn(v, generator=g)
    y = torch.randint(0, v, (n,), generator=g)
    y[torch.rand(n, generator=g) < 0.1] = -100
    sizes = [v // world + (r < v % world) for r in range(world)]
    lo = sum(sizes[:rank])
    shard = [t[lo : lo + sizes[rank]].clone().to(dev) for t in (W, b)]  # this rank's rows only
    x, y = x.to(dev), y.to(dev)
    del W, b

    cases = {
        "vocab_parallel_linear_cross_entropy": lambda xs, ws, bs: vocab_parallel_linear_cross_entropy(
            xs, ws, y, group=None, bias_shard=bs, chunk_size=chunk
        )
    }
    if world == 1:
        cases["unfused cross_entropy(linear(x, W))"] = lambda xs, ws, bs: cross_entropy(F.linear(xs, ws, bs), y)
        cases["linear_cross_entropy (one process)"] = lambda xs, ws, bs: linear_cross_entropy(
            xs, ws, y, linear_bias=bs, chunk_size=chunk
        )
    out = []
    for name, loss in cases.items():
        measured = {}
        for kind in ("warm-up", "allocator", "rss"):
            leaves = [t.detach().clone().requires_grad_() for t in (x, *shard)]  # allocated before the call

            def step(ts=leaves, loss=loss):
                loss(*ts).backward()

            dist.barrier()
            t0 = time.perf_counter()
            if kind == "warm-up":
                step()
            elif cuda:
                measured[kind] = _cuda_peak(step) if kind == "allocator" else None
            else:
                measured[kind] = _allocator_peak(step) if kind == "allocator" else _rss_peak(step)
            measured.setdefault("ms", (time.perf_counter() - t0) * 1e3)  # the warm-up call's
            del step, leaves  # free this run's gradients before the next
        out.append(
            dict(
                name=name,
                rank=rank,
                classes=sizes[rank],
                peak=measured["allocator"],
                rss=measured["rss"],
                ms=measured["ms"],
            )
        )
    results.put(out)
    dist.barrier()
    dist.destroy_process_group()


def _run_worlds(worlds: list, cfg: dict, timeout: float) -> dict:
    """Every world size as its own process group; on CPU all at once (the peak of each process is
    its own: sharing the cores changes the times only), on CUDA one after the other (a GPU per rank)."""
    ctx = mp.get_context("spawn")
    batches = [worlds] if cfg["device"] == "cpu" else [[w] for w in worlds]
    rows: dict = {w: [] for w in worlds}
    for batch in batches:
        queues = {w: ctx.Queue() for w in batch}
        procs = {
            w: [ctx.Process(target=_rank, args=(r, w, port, cfg, queues[w])) for r in range(w)]
            for w, port in zip(batch, [_free_port() for _ in batch], strict=True)
        }
        for p in (p for ps in procs.values() for p in ps):
            p.start()
        waited = 0.0
        try:
            for w in batch:
                reported = 0
                while reported < w:  # every rank puts the list of its rows once
                    try:
                        rows[w] += queues[w].get(timeout=5)
                        reported += 1
                    except queue.Empty:
                        waited += 5
                        if waited > timeout or any(p.exitcode not in (None, 0) for p in procs[w]):
                            raise RuntimeError(
                                f"world {w}: a rank failed or timed out (exit codes "
                                f"{[p.exitcode for p in procs[w]]}); see its traceback above"
                            ) from None
                print(f"world {w}: done", flush=True)
        finally:
            for p in (p for ps in procs.values() for p in ps):
                p.join(timeout=30)
                if p.is_alive():
                    p.terminate()
    return rows


def _summarise(rows: list, world: int) -> list:
    out = []
    for name in dict.fromkeys(r["name"] for r in rows):
        mine = [r for r in rows if r["name"] == name]
        rss = [r["rss"] for r in mine if r["rss"] is not None]
        out.append(
            dict(
                name=name,
                world=world,
                classes_per_rank=max(r["classes"] for r in mine),
                peak_mib=max(r["peak"] for r in mine) / MiB,
                rss_mib=max(rss) / MiB if rss else None,
                ms=max(r["ms"] for r in mine),
            )
        )
    return out


def _table(results: list, cfg: dict, meta: dict) -> str:
    base = next(r["peak_mib"] for r in results if r["world"] == 1 and r["name"].startswith("vocab_parallel"))
    lines = [
        f"# Peak memory per rank of vocab_parallel_linear_cross_entropy against world size ({meta['date']})",
        "",
        f"- {meta['device']}; torch {meta['torch']}; Python {meta['python']}; backend {meta['backend']}; "
        f"{cfg['threads']} thread(s) per rank",
        f"- tokens N = {cfg['tokens']}, hidden H = {cfg['hidden']}, classes V = {cfg['classes']}, float32, chunk "
        f"{cfg['chunk']} tokens, reduction 'mean', 10% of targets ignored; one forward + backward",
        "- peak = the largest over the ranks of the memory allocated during the call above what was allocated "
        "before it (PyTorch's allocator, from torch.profiler's memory events); RSS = the resident-set "
        "high-water mark over the same call in an unprofiled run (a cross-check, coarser)",
        "- ideal = world-1 peak / world size. Times are in the JSON only: every rank of every world size shares "
        "the CPU cores, so they measure nothing",
        "",
        "| function | world size | classes per rank | peak MiB per rank | x world 1 | ideal x | RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rss = "-" if r["rss_mib"] is None else f"{r['rss_mib']:.1f}"
        ideal = f"{1 / r['world']:.3f}" if r["name"].startswith("vocab_parallel") else "-"
        lines.append(
            f"| {r['name']} | {r['world']} | {r['classes_per_rank']} | {r['peak_mib']:.1f} | "
            f"{r['peak_mib'] / base:.3f} | {ideal} | {rss} |"
        )
    fixed = cfg["tokens"] * cfg["hidden"] * 4 / MiB
    lines += [
        "",
        f"The input's gradient ({cfg['tokens']} x {cfg['hidden']} float32 = {fixed:.1f} MiB) is the part "
        "of the peak that does not shrink with the world size; the rest (the shard's weight and bias "
        "gradients, one chunk of logits and its temporaries) is proportional to V / world size.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--classes", type=int, default=32768)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out", default=str(_ROOT / "benchmarks" / "results"))
    ap.add_argument("--tag", default=None)
    args = ap.parse_args(argv)
    if 1 not in args.worlds:
        ap.error("--worlds must include 1 (the reference the other world sizes are compared with)")
    cfg = {k: getattr(args, k) for k in ("tokens", "hidden", "classes", "chunk", "threads", "device")}
    rows = _run_worlds(args.worlds, cfg, args.timeout)
    results = [r for world in args.worlds for r in _summarise(rows[world], world)]
    date = _dt.date.today().isoformat()
    cuda = args.device == "cuda"
    meta = dict(
        date=date,
        torch=torch.__version__,
        python=platform.python_version(),
        backend="nccl" if cuda else "gloo (127.0.0.1)",
        device=torch.cuda.get_device_name(0) if cuda else f"CPU, {os.cpu_count()} cores",
    )
    table = _table(results, cfg, meta)
    print(table)
    tag = args.tag or ("cuda" if cuda else f"cpu-{os.cpu_count()}core")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"distributed-{tag}-{date}"
    payload = dict(meta=meta, config=cfg, results=results)
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    return payload


if __name__ == "__main__":
    main()
