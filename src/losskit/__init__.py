"""losskit: classification and regression losses for PyTorch, each derived from a likelihood.

>>> import torch, losskit
>>> logits = torch.tensor([[2.0, 0.5, -1.0]])
>>> losskit.functional.cross_entropy(logits, torch.tensor([0]))
tensor(0.2413)
"""

from . import catalog, decision, functional, likelihoods, nn
from ._checks import check_level, checks
from .kernels._dispatch import current_impl, impl
from .nn import *  # noqa: F403  (the modules, listed in losskit.nn.__all__)
from .nn import __all__ as _nn_all

__version__ = "0.2.0.dev0"  # the one version source (pyproject reads it; so do the docs and --version)

__all__ = [
    "functional",
    "likelihoods",
    "decision",
    "nn",
    "catalog",
    "checks",
    "check_level",
    "impl",
    "current_impl",
    "__version__",
    *_nn_all,
]
