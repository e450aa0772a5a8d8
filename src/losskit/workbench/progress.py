"""Progress of a comparison: a tqdm bar on a terminal, one log line per finished run otherwise."""

from __future__ import annotations

import math
import sys
import time

from . import tasks as _tasks

__all__ = ["Progress"]


class Progress:
    """Receives :func:`~losskit.workbench.train.run_groups` events and shows them on ``stream``.

    On a terminal: a tqdm bar counting epochs (a run that stops early moves it by the epochs it
    skipped). Otherwise (a pipe, a log file): one line per finished run, with its task, loss, seed,
    the task's headline metric, the epoch kept and the time.
    """

    def __init__(self, plans: list, cfg, *, enabled: bool = True, stream=None, prefix: str = "losskit compare"):
        self.plans, self.cfg, self.enabled, self.prefix = plans, cfg, enabled, prefix
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total_runs = sum(len(p.rows) for p in plans) * cfg.seeds
        self.done_runs = 0
        self.bar = None
        self.seen: dict = {}
        self.t0 = time.perf_counter()

    def _line(self, text: str) -> None:
        try:
            print(text, file=self.stream, flush=True)
        except (BrokenPipeError, ValueError, OSError):  # a closed log pipe is not the run's problem
            self.enabled = False

    def event(self, what, job, payload) -> None:
        if not self.enabled:
            return
        if what == "start":
            if self.tty:
                from tqdm.auto import tqdm

                total = sum(len(p.rows) for p in self.plans) * self.cfg.epochs * self.cfg.seeds
                self.bar = tqdm(total=total, unit="epoch", file=self.stream, dynamic_ncols=True, leave=False)
            else:
                self._line(f"{self.prefix}: training {self.total_runs} runs on {payload} process(es)")
        elif what == "epoch":
            self.seen[job] = self.seen.get(job, 0) + payload
            if self.bar is not None:
                self.bar.update(payload)
        elif what == "done":
            plan = self.plans[payload.task]
            planned = len(plan.rows) * self.cfg.epochs
            if self.bar is not None:
                self.bar.update(planned - self.seen.get(job, 0))
                self.bar.set_description(f"{plan.name} seed {payload.seed}")
            kind = _tasks.get(plan.kind)
            col = next(c for c in kind.columns if c.key == kind.headline)
            for r in payload.runs:
                self.done_runs += 1
                if self.bar is None:
                    v = r.metrics.get(kind.headline, math.nan)
                    self._line(
                        f"{self.prefix}: [{self.done_runs}/{self.total_runs}] {plan.name} | {r.display} | seed "
                        f"{r.seed} | {col.header} {col.fmt.format(v)} | epoch {r.best_epoch} of {r.epochs_run} "
                        f"| {r.seconds:.1f}s"
                    )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
