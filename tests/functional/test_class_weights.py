"""Class weights: effective number (Cui et al. 2019), inverse frequency, class counts."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, assert_refuses
from losskit.functional import class_balanced_weights, class_counts, focal_loss, inverse_frequency_weights


def test_class_balanced_hand_values():
    # beta = 0.9, n = [1, 2, 10]: 1/E_n = 0.1 / (1 - 0.9^n) = [1, 0.1/0.19, 0.1/(1 - 0.9^10)]
    raw = torch.tensor([1.0, 0.1 / 0.19, 0.1 / (1 - 0.9**10)], dtype=torch.float64)
    assert_close(
        class_balanced_weights(torch.tensor([1.0, 2.0, 10.0], dtype=torch.float64), beta=0.9, normalize=None), raw
    )
    w = class_balanced_weights([1, 2, 10], beta=0.9)
    assert w.dtype == torch.get_default_dtype()
    assert_close(w, (raw * 3 / raw.sum()).float())
    assert_close(w.sum(), torch.tensor(3.0))
    m = class_balanced_weights(np.array([1, 2, 10]), beta=0.9, normalize="max")
    assert_close(m, (raw / raw.max()).float())


def test_class_balanced_limits():
    counts = [5, 50, 500, 5000]
    assert_close(class_balanced_weights(counts, beta=0.0), torch.ones(4))
    assert_close(class_balanced_weights(counts, beta=1e-12), torch.ones(4))
    inv = inverse_frequency_weights(counts)
    near = class_balanced_weights(counts, beta=1 - 1e-9)
    assert_close(near, inv, tol=dict(rtol=1e-5, atol=1e-6))
    # monotone in the count
    w = class_balanced_weights(counts, beta=0.999)
    assert (w[:-1] > w[1:]).all()


def test_inverse_frequency_hand_values():
    assert_close(inverse_frequency_weights([1, 4, 16], normalize=None), torch.tensor([1.0, 0.25, 0.0625]))
    assert_close(inverse_frequency_weights([1, 4, 16], power=0.5, normalize=None), torch.tensor([1.0, 0.5, 0.25]))
    assert_close(inverse_frequency_weights([1, 4, 16], power=0.0), torch.ones(3))
    assert_close(inverse_frequency_weights([2, 2, 4]), torch.tensor([1.2, 1.2, 0.6]))


@pytest.mark.parametrize("fn", [class_balanced_weights, inverse_frequency_weights])
@pytest.mark.parametrize("normalize", ["num_classes", "max", None])
def test_zero_counts_never_inf_or_nan(fn, normalize):
    w = fn([0, 10, 100, 0], normalize=normalize)
    assert torch.isfinite(w).all()
    assert w[0] == w[3] == w[1:3].max()  # absent="max": the rarest present class's weight
    z = fn([0, 10, 100, 0], normalize=normalize, absent="zero")
    assert z[0] == 0 and z[3] == 0 and (z[1:3] > 0).all()
    u = fn([0, 0, 0], normalize=normalize)
    assert torch.isfinite(u).all() and (u == u[0]).all() and u[0] > 0


def test_input_kinds_and_output_placement():
    ref = class_balanced_weights([3, 7, 1])
    assert_close(class_balanced_weights(np.array([3, 7, 1])), ref)
    assert_close(class_balanced_weights(torch.tensor([3, 7, 1])), ref)
    assert class_balanced_weights(torch.tensor([3.0, 7.0, 1.0], dtype=torch.float64)).dtype == torch.float64
    assert class_balanced_weights(torch.tensor([3.0, 7.0, 1.0], dtype=torch.float16)).dtype == torch.float16


def test_weights_plug_into_losses():
    labels = torch.tensor([0, 0, 0, 0, 1, 2, 2])
    counts = class_counts(labels, 4)
    w = class_balanced_weights(counts, beta=0.99)
    logits = torch.randn(7, 4)
    out = F.cross_entropy(logits, labels, weight=w)
    assert torch.isfinite(out)
    assert torch.isfinite(focal_loss(logits, labels, alpha=w, weight=w))


def test_class_counts():
    assert class_counts(torch.tensor([[0, 2], [2, 2]]), 3).tolist() == [1, 0, 3]
    assert class_counts(torch.tensor([1, -100, 1]), 2, ignore_index=-100).tolist() == [0, 2]
    mh = torch.tensor([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [1.0, 0.0]]])  # (N=2, C=2, d=2)
    assert class_counts(mh, 2).tolist() == [1.0, 3.0]
    assert class_counts(torch.tensor([[True, False, True]]), 3).tolist() == [1.0, 0.0, 1.0]
    assert class_counts(torch.tensor([0.2, 0.8]), 2).tolist() == pytest.approx([0.2, 0.8])


def test_weights_errors():
    assert_refuses(lambda: class_balanced_weights([1, 2], beta=1.0), match=r"beta must be in \[0, 1\), got 1.0")
    assert_refuses(lambda: class_balanced_weights([1, 2], beta=-0.5), match=r"beta must be in \[0, 1\)")
    assert_refuses(
        lambda: class_balanced_weights([1, -2]), match=r"counts must be finite and >= 0, got -2.0 for class 1"
    )
    assert_refuses(lambda: class_balanced_weights([[1, 2]]), match="counts must be 1-D")
    assert_refuses(lambda: class_balanced_weights([]), match="counts must be 1-D")
    assert_refuses(lambda: class_balanced_weights(["a"]), match="counts must be")
    assert_refuses(lambda: class_balanced_weights([1, 2], normalize="sum"), match="normalize='sum' is not valid")
    assert_refuses(lambda: inverse_frequency_weights([1, 2], absent="min"), match="absent='min' is not valid")
    assert_refuses(lambda: inverse_frequency_weights([1, 2], power=-1.0), match=r"power must be in \[0, inf\]")
    assert_refuses(lambda: class_counts(torch.tensor([0, 5]), 3), match="labels has class index 5 outside")
    assert_refuses(lambda: class_counts(torch.rand(4, 3), 2), match="num_classes=2 entries on dim 1")
    assert_refuses(lambda: class_counts(torch.tensor([0]), 0), match="num_classes must be a positive int")
