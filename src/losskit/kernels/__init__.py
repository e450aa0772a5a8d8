"""Fused Triton kernels, used automatically for CUDA tensors when Triton is installed.

They serve primitives of :mod:`losskit.functional` through one dispatcher; :func:`load` imports
them ahead of ``torch.compile``.
"""

from ._dispatch import load

__all__ = ["load"]
