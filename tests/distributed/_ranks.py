"""A pool of worker processes joined in one gloo process group on 127.0.0.1, shared by the tests.

``Ranks(world).run(case, *args)`` runs the module-level function ``case(*args)`` on every rank
(each in its own process, spawned with torch.multiprocessing) and returns the per-rank results in
rank order. A case that raises on any rank fails the calling test with that rank's traceback; a
case that does not finish within its timeout fails the test and the pool is shut down (the next
test starts a fresh one). Starting a pool costs a few seconds (each worker imports torch), so the
conftest keeps one pool per world size for the whole session.
"""

from __future__ import annotations

import os
import queue
import socket
import traceback
from datetime import timedelta

import torch
import torch.multiprocessing as mp

START_TIMEOUT_S = 120  # importing torch in three fresh processes on two busy cores
CASE_TIMEOUT_S = 60
GROUP_TIMEOUT_S = 30  # a collective left waiting by a rank that failed gives up before the case times out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pools:
    """One live pool per world size, started on first use (those in ``start`` at once, side by side)
    and again after a failure shut one down."""

    def __init__(self, start: tuple = ()) -> None:
        self._pools: dict = {world: Ranks(world) for world in start}

    def __call__(self, world: int) -> Ranks:
        pool = self._pools.get(world)
        if pool is None or not pool.alive:
            pool = self._pools[world] = Ranks(world)
        pool.wait_ready()
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


def _worker(rank: int, world: int, port: int, tasks, results, backend: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch.distributed as dist

    if backend == "nccl":
        torch.cuda.set_device(rank)  # one GPU per rank
    dist.init_process_group(backend, rank=rank, world_size=world, timeout=timedelta(seconds=GROUP_TIMEOUT_S))
    results.put((rank, "ready", None))
    while True:
        task = tasks.get()
        if task is None:
            break
        case, args = task
        try:
            torch.manual_seed(0)
            results.put((rank, "ok", case(*args)))
        except BaseException:  # report everything, keep serving
            results.put((rank, "error", traceback.format_exc()))
    dist.destroy_process_group()


class Ranks:
    """``world`` processes in one group (gloo, or NCCL with one GPU per rank); ``run`` executes a
    case on all of them."""

    def __init__(self, world: int, backend: str = "gloo") -> None:
        self.world = world
        ctx = mp.get_context("spawn")
        self._tasks = [ctx.Queue() for _ in range(world)]
        self._results = ctx.Queue()
        port = _free_port()
        self._procs = [
            ctx.Process(target=_worker, args=(r, world, port, self._tasks[r], self._results, backend), daemon=True)
            for r in range(world)
        ]
        for p in self._procs:
            p.start()
        self._closed, self._ready = False, False

    def wait_ready(self) -> None:
        """Block until every rank has joined the group (the processes start in the constructor)."""
        if not self._ready:
            self._collect(START_TIMEOUT_S, "start")
            self._ready = True

    @property
    def alive(self) -> bool:
        return not self._closed and all(p.is_alive() for p in self._procs)

    def _collect(self, timeout: float, what: str) -> list:
        out: dict = {}
        errors = []
        try:
            while len(out) + len(errors) < self.world:
                rank, status, value = self._results.get(timeout=timeout)
                if status == "error":
                    errors.append(f"rank {rank}:\n{value}")
                else:
                    out[rank] = value
        except queue.Empty:
            self.close()
            raise AssertionError(
                f"{what} did not finish on every rank within {timeout} s "
                f"(finished: ranks {sorted(out)}); the pool was shut down"
            ) from None
        if errors:  # the group may be left mid-collective: the next test gets a fresh pool
            self.close()
            raise AssertionError(f"{what} failed on {len(errors)} of {self.world} ranks:\n" + "\n".join(errors))
        return [out[r] for r in range(self.world)]

    def run(self, case, *args, timeout: float = CASE_TIMEOUT_S) -> list:
        """``case(*args)`` on every rank (``case`` a module-level function); the results in rank order."""
        for q in self._tasks:
            q.put((case, args))
        return self._collect(timeout, getattr(case, "__name__", "case"))

    def close(self) -> None:
        self._closed = True
        for q in self._tasks:
            try:
                q.put(None)
            except (OSError, ValueError):  # pragma: no cover - queue already closed
                pass
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
