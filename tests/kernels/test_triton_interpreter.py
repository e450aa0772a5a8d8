"""Fallback: when Triton was imported before tests/kernels/conftest.py could switch its interpreter on
(another test module imported torch._dynamo, say), the in-process kernel tests skip; this test then
runs them in a fresh Python with TRITON_INTERPRET=1, so that the single CI command still covers them."""

import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("triton")
from losskit.kernels._triton import interpreter_active

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))


@pytest.mark.skipif(interpreter_active(), reason="the kernel tests already run in this process")
@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU the cuda tests cover the kernels")
def test_kernel_suite_in_a_fresh_interpreter():
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", _HERE, "-k", "not fresh_interpreter"],
        cwd=_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "passed" in proc.stdout.splitlines()[-1]
