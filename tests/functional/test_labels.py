"""smooth_labels: the library's label-smoothing definitions, as targets, against the losses that smooth inside."""

import pytest
import torch
import torch.nn.functional as F

import losskit.functional as LF
from helpers import assert_close, assert_refuses


@pytest.mark.parametrize("shape", [(7,), (4, 3, 2)])
def test_smoothed_indices_give_cross_entropy_with_label_smoothing(shape):
    g = torch.Generator().manual_seed(0)
    c = 5
    y = torch.randint(0, c, shape, generator=g)
    x = torch.randn(shape[0], c, *shape[1:], generator=g, dtype=torch.float64)
    t = LF.smooth_labels(y, smoothing=0.2, num_classes=c, dtype=torch.float64)
    assert t.shape == x.shape
    assert_close(t.sum(1), torch.ones(shape, dtype=torch.float64))
    assert_close(LF.cross_entropy(x, t), F.cross_entropy(x, y, label_smoothing=0.2))


def test_probability_and_binary_targets():
    p = torch.softmax(torch.randn(3, 4, dtype=torch.float64), 1)
    assert_close(LF.smooth_labels(p, smoothing=0.4), p * 0.6 + 0.1)
    y = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    z = torch.randn(1, 3, dtype=torch.float64)
    ys = LF.smooth_labels(y, smoothing=0.1, binary=True)
    assert_close(ys, torch.tensor([[0.95, 0.05, 0.95]], dtype=torch.float64))
    assert_close(
        F.binary_cross_entropy_with_logits(z, ys), LF.binary_cross_entropy_with_logits(z, y, label_smoothing=0.1)
    )
    # the binary rule is the two-class categorical one
    assert_close(
        LF.smooth_labels(torch.tensor([1, 0]), smoothing=0.1, num_classes=2, dtype=torch.float64)[:, 1],
        LF.smooth_labels(torch.tensor([1.0, 0.0], dtype=torch.float64), smoothing=0.1, binary=True),
    )


def test_ignored_positions_get_zero_rows_and_errors():
    t = LF.smooth_labels(torch.tensor([1, -100, 0]), smoothing=0.3, num_classes=3)
    assert torch.equal(t[1], torch.zeros(3)) and torch.allclose(t[0].sum(), torch.tensor(1.0))
    assert_refuses(lambda: LF.smooth_labels(torch.tensor([0, 1]), smoothing=0.1), match="need num_classes")
    assert_refuses(
        lambda: LF.smooth_labels(torch.tensor([0, 3]), smoothing=0.1, num_classes=3), match="class index 3 outside"
    )
    assert_refuses(
        lambda: LF.smooth_labels(torch.tensor([0, 1]), smoothing=1.5, num_classes=2),
        match=r"smoothing must be in \[0, 1\]",
    )
    assert_refuses(
        lambda: LF.smooth_labels(torch.tensor([2.0]), smoothing=0.1, binary=True),
        match=r"target has values outside \[0, 1\]",
    )
