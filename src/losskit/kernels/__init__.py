"""Fused Triton kernels, used automatically for CUDA tensors when Triton is installed.

They serve primitives of :mod:`losskit.functional` through one dispatcher; ``load()`` imports
them ahead of ``torch.compile`` (``losskit.kernels.load()``).
"""

from ._dispatch import load

__all__ = ["load"]
