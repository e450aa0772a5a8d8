"""The registry: every losskit loss by name, with its module, what it takes and the likelihood behind it.

Keys equal functional names (``"cross_entropy"`` → :func:`losskit.functional.cross_entropy`).
Each entry carries an ``example`` factory that builds valid random inputs; the registry-contract
test uses it to check every loss against every reduction, and the workbench and ``losskit list``
read the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

__all__ = ["LossSpec", "register", "get", "names", "specs"]

Example = Callable[[torch.Generator], tuple[tuple, dict]]


@dataclass(frozen=True)
class LossSpec:
    """What losskit knows about one loss.

    Attributes:
        name: registry key, equal to the functional's name.
        functional: the pure function in :mod:`losskit.functional`.
        module: the ``nn.Module`` wrapper in :mod:`losskit.nn` (or ``None``).
        family: ``"classification"``, ``"regression"``, ``"ranking"``, ``"overlap"``,
            ``"divergence"`` or ``"combination"``.
        takes: what the first argument is: ``"logits"``, ``"probs"``, ``"log_probs"`` or ``"values"``.
        summary: one line for listings.
        example: ``example(generator) -> (args, kwargs)`` building valid random inputs; the
            floating-point tensors in ``args`` that require grad are the differentiable inputs.
        reductions: the reductions it accepts.
        torch_twin: the ``torch.nn.functional`` name it reproduces exactly, if any.
        kernel: name of a fused kernel that can serve it on CUDA, if any.
    """

    name: str
    functional: Callable
    module: type | None = None
    family: str = "classification"
    takes: str = "logits"
    summary: str = ""
    example: Example | None = None
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    torch_twin: str | None = None
    kernel: str | None = None
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, LossSpec] = {}


def register(spec: LossSpec) -> LossSpec:
    """Add ``spec`` to the registry (its name must be new and equal its functional's name)."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name].functional is not spec.functional:
        raise ValueError(f"a loss named {spec.name!r} is already registered")
    if spec.functional.__name__ != spec.name:
        raise ValueError(f"registry key {spec.name!r} must equal the functional's name {spec.functional.__name__!r}")
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> LossSpec:
    """The spec registered under ``name``; the error lists close names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known losses: {', '.join(sorted(_REGISTRY))}"
        raise KeyError(f"no loss named {name!r}{hint}") from None


def names(family: str | None = None) -> list[str]:
    """Sorted registered names, optionally of one family."""
    return sorted(n for n, s in _REGISTRY.items() if family is None or s.family == family)


def specs() -> list[LossSpec]:
    """All registered specs, sorted by name."""
    return [_REGISTRY[n] for n in names()]
