"""Fused Triton kernels, used automatically for CUDA tensors when Triton is installed."""
