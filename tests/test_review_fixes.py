"""Regression tests for bugs found in review: each test failed before its fix."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.functional as LF
from helpers import assert_close


def test_legacy_reduction_traces_under_fullgraph_compile():
    # the deprecation warning of size_average/reduce used to break torch.compile(fullgraph=True)
    fn = lambda x, y: LF.cross_entropy(x, y, None, False)  # noqa: E731  (size_average=False: "sum")
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    assert_close(compiled(x, y), F.cross_entropy(x, y, reduction="sum"))
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        fn(x, y)  # eager still warns
