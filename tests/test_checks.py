"""The shared input checks (losskit._checks) as every loss sees them."""

import pytest
import torch
import torch.nn.functional as F

import losskit.functional as LF
from helpers import assert_close


def test_label_smoothing_accepts_numpy_numbers():
    np = pytest.importorskip("numpy")
    x, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert_close(LF.cross_entropy(x, y, label_smoothing=np.float32(0.25)), F.cross_entropy(x, y, label_smoothing=0.25))
    z, t = torch.randn(5), torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    assert_close(
        LF.binary_cross_entropy_with_logits(z, t, label_smoothing=np.float32(0.5)),
        LF.binary_cross_entropy_with_logits(z, t, label_smoothing=0.5),
    )
    with pytest.raises(TypeError, match="label_smoothing must be a Python number"):
        LF.cross_entropy(x, y, label_smoothing=torch.tensor(0.1))


@pytest.mark.parametrize("n", [2, 33, 4096, 100003])
def test_sampled_rows_of_a_matrix_are_the_rows_the_general_path_picks(n):
    """The (N, C) gather and the position-by-position path of any other shape read the same rows."""
    from losskit import _checks

    x = torch.randn(n, 7, generator=torch.Generator().manual_seed(n))
    picked = _checks._sample_rows(x, 1)
    assert picked.shape == (min(32, n), 7)
    assert torch.equal(picked, _checks._sample_rows(x.unsqueeze(-1), 1))
    assert torch.equal(picked[0], x[0]) and torch.equal(picked[-1], x[-1])
