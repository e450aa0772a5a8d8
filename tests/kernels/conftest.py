"""Kernel tests run Triton's interpreter on the CPU.

The interpreter must be switched on before Triton is first imported (Triton decorates its own
library functions at import time), so this file sets ``TRITON_INTERPRET=1`` when pytest reaches
this directory -- on machines without CUDA only, so that a GPU session compiles real kernels for
the ``cuda`` tests. If something imported Triton earlier in the same run, the in-process
interpreter tests skip and ``test_kernels_subprocess.py`` runs them in a fresh interpreter instead.
"""

import os
import sys

import torch

if "triton" not in sys.modules and not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"
