"""The models ``losskit compare`` trains: the built-in ones, and the user's module or factory.

Every loss of a comparison starts from the same weights: a module is deep-copied once per loss; a
factory is called once per loss with the random seed set to the run's seed (so the seeds of a
comparison vary the initial weights, and the losses of a seed share them).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["mlp", "segmentation_cnn", "SegmentationCNN", "Model"]


def mlp(n_features: int, n_outputs: int, hidden: int = 64) -> nn.Module:
    """The tabular model: Linear -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))


class SegmentationCNN(nn.Module):
    """The segmentation model: a 3x3 convolution at full resolution, a strided 3x3 convolution and a
    3x3 convolution at half resolution (their receptive field covers a whole 8x8 digit), upsampled
    and joined with the full-resolution features, then a 1x1 convolution to the class logits. The
    output keeps the input's height and width (even sizes)."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 12):
        super().__init__()
        self.full = nn.Conv2d(in_channels, width, 3, padding=1)
        self.down = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.mid = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
        self.head = nn.Conv2d(3 * width, n_classes, 1)

    def forward(self, x):
        a = torch.relu(self.full(x))
        b = torch.relu(self.mid(torch.relu(self.down(a))))
        up = nn.functional.interpolate(b, size=a.shape[-2:], mode="nearest")
        return self.head(torch.cat([a, up], 1))


def segmentation_cnn(in_channels: int, n_classes: int, width: int = 12) -> nn.Module:
    """The built-in segmentation model (:class:`SegmentationCNN`)."""
    return SegmentationCNN(in_channels, n_classes, width)


@dataclass
class Model:
    """How to make the model of every run: ``build(seed)`` returns a fresh module.

    ``source`` is an ``nn.Module`` (deep-copied: every run starts from its weights, whatever the seed)
    or a zero-argument factory (called under ``torch.manual_seed(seed)``).
    """

    source: nn.Module | Callable[[], nn.Module]
    description: str = ""
    builtin: bool = False

    @classmethod
    def of(cls, model, *, builtin: bool = False, description: str = "") -> Model:
        if isinstance(model, nn.Module):
            text = (
                description
                or f"your model: {type(model).__name__} ({_n_params(model):,} parameters), deep-copied for every run"
            )
            return cls(model, text, builtin)
        if callable(model):
            try:
                required = [
                    p
                    for p in inspect.signature(model).parameters.values()
                    if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                ]
            except (TypeError, ValueError):  # a builtin or C callable: trust it
                required = []
            if required:
                raise TypeError(
                    f"model: a factory must take no arguments; {model!r} needs {', '.join(p.name for p in required)}"
                    " (wrap it: model=lambda: make(...))"
                )
            return cls(model, description, builtin)
        raise TypeError(
            f"model must be an nn.Module or a zero-argument function returning one; got {type(model).__name__}"
        )

    def build(self, seed: int) -> nn.Module:
        if isinstance(self.source, nn.Module):
            return copy.deepcopy(self.source)
        torch.manual_seed(seed)
        m = self.source()
        if not isinstance(m, nn.Module):
            raise TypeError(f"model: the factory returned {type(m).__name__}, not an nn.Module")
        if not self.description:
            self.description = (
                f"your model: {type(m).__name__} ({_n_params(m):,} parameters), built by your factory for every run"
            )
        return m

    @property
    def varies_with_seed(self) -> bool:
        return not isinstance(self.source, nn.Module)


def _n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def describe_builtin(kind: str, n_in: int, n_out: int, hidden: int) -> str:
    if kind == "segmentation":
        return (
            f"built-in CNN: a 3x3 convolution ({hidden} channels), a strided 3x3 and a 3x3 convolution at half "
            f"resolution ({2 * hidden} channels), upsampled and joined with the first, a 1x1 convolution to "
            f"{n_out} class logits (ReLU between)"
        )
    return f"built-in MLP: {n_in} inputs, one hidden layer of {hidden} ReLU units, {n_out} output(s)"
