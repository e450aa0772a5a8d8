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



@pytest.mark.parametrize("fn, inp", [
    (LF.cross_entropy, lambda x: x),
    (LF.nll_loss, lambda x: torch.log_softmax(x, 1)),
])
def test_ignore_index_none_means_no_ignored_label(fn, inp):
    # ignore_index=None used to crash inside torch ("must be int, not NoneType")
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1])
    assert_close(fn(inp(x), y, ignore_index=None), fn(inp(x), y))
    with pytest.raises(ValueError, match="class index -100 outside"):
        fn(inp(x), torch.tensor([0, -100, 1, 1]), ignore_index=None)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        fn(inp(x), y, ignore_index=1.5)


def test_label_smoothing_accepts_numpy_numbers():
    np = pytest.importorskip("numpy")
    x, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert_close(LF.cross_entropy(x, y, label_smoothing=np.float32(0.25)),
                 F.cross_entropy(x, y, label_smoothing=0.25))
    z, t = torch.randn(5), torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    assert_close(LF.binary_cross_entropy_with_logits(z, t, label_smoothing=np.float32(0.5)),
                 LF.binary_cross_entropy_with_logits(z, t, label_smoothing=0.5))
    with pytest.raises(TypeError, match="label_smoothing must be a Python number"):
        LF.cross_entropy(x, y, label_smoothing=torch.tensor(0.1))
