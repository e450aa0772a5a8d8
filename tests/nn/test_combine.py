"""CombinedLoss: forward is the functional's total, components, buffers of module parts, reprs, and
segmentation parts fed MONAI-style (N, 1, *) label maps."""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against
from losskit.functional import focal_loss, precomputed
from losskit.nn import CombinedLoss, FocalLoss


def _data(shape=(4, 3, 5)):
    return torch.randn(shape, dtype=torch.float64), torch.randint(0, shape[1], (shape[0], *shape[2:]))


def test_module_forward_components_and_buffers():
    x, t = _data()
    w = torch.rand(3, dtype=torch.float64) + 0.5
    m = CombinedLoss(
        {"ce": precomputed(F.nll_loss, takes="log_probs"), "focal": FocalLoss(weight=w)}, weights={"focal": 0.25}
    )
    total = m(x, t)
    assert isinstance(total, torch.Tensor) and total.dim() == 0
    assert_close(total, F.cross_entropy(x, t) + 0.25 * focal_loss(x, t, weight=w))
    assert set(m.last_components) == {"ce", "focal"}
    assert all(not v.requires_grad for v in m.last_components.values())
    xr = x.clone().requires_grad_(True)
    total2, parts = m.components(xr, t)
    assert parts["focal"].requires_grad and total2.requires_grad
    assert "parts.focal.weight" in m.state_dict()
    m.to(torch.float32)
    assert m.parts["focal"].weight.dtype == torch.float32
    m.weights["focal"] = 0.0  # schedules may change the weights
    assert_close(m(x, t), F.cross_entropy(x, t))
    assert "weights=" in repr(m)


def test_precomputed_module_is_registered():
    m = CombinedLoss({"f": precomputed(torch.nn.NLLLoss(weight=torch.ones(3)), takes="log_probs")})
    assert "parts.f.weight" in m.state_dict()
    assert "takes='log_probs'" in repr(m._parts["f"])


@pytest.mark.parametrize("mode", ["multiclass", "multilabel"])
def test_with_losskit_dice_from_probs(mode):
    import losskit.functional as LF

    dice = getattr(LF, "dice_loss", None)
    if dice is None:
        pytest.skip("losskit.functional.dice_loss not present")
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    if mode == "multiclass":
        t, act, ce = torch.randint(0, 3, (2, 4, 4)), "softmax", precomputed(F.nll_loss, takes="log_probs")
        ref_ce = F.cross_entropy
    else:
        t, act, ce = torch.randint(0, 2, (2, 3, 4, 4)).double(), "sigmoid", F.binary_cross_entropy_with_logits
        ref_ce = F.binary_cross_entropy_with_logits
    losses = {"ce": ce, "dice": precomputed(dice, takes="probs", activation=act, mode=mode, from_logits=False)}
    ref = lambda x, t: ref_ce(x, t) + 0.5 * dice(x, t, mode=mode)
    check_against(lambda x, t: CombinedLoss(losses, weights={"dice": 0.5})(x, t), ref, x, t, grad=[True, False])


def test_monai_label_maps_reach_the_segmentation_parts_as_class_indices():
    """MONAI's DiceCELoss(to_onehot_y=True, softmax=True) takes (N, 1, H, W) label maps; so does
    CombinedLoss (peer: monai/losses/dice.py, DiceCELoss; batch=True is losskit dice_loss's pooling)."""
    monai_losses = pytest.importorskip("monai.losses")
    import losskit.functional as LF

    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (2, 1, 5, 5))
    ours = CombinedLoss({"ce": F.cross_entropy, "dice": LF.dice_loss})
    peer = monai_losses.DiceCELoss(to_onehot_y=True, softmax=True, batch=True, smooth_nr=0.0, smooth_dr=1e-7)
    check_against(ours, peer, x, y, grad=[True, False], tol=dict(rtol=1e-6, atol=1e-8))
    assert_close(ours(x, y), ours(x, y.squeeze(1)))


def test_other_targets_reach_the_parts_unchanged():
    seen = []

    def part(x, t):
        seen.append(t)
        return x.sum() * 0

    x = torch.randn(2, 3, 4)
    masks = torch.randint(0, 2, (2, 3, 4))  # multilabel masks: C channels
    soft = torch.rand(2, 1, 4)  # a floating (N, 1, *) target is not a label map
    binary_logits, binary_target = torch.randn(2, 1, 4), torch.randint(0, 2, (2, 1, 4))  # one channel: binary
    CombinedLoss({"p": part})(x, masks)
    CombinedLoss({"p": part})(x, soft)
    CombinedLoss({"p": part})(binary_logits, binary_target)
    assert seen[0] is masks and seen[1] is soft and seen[2] is binary_target
