"""combined_loss / combined_loss_components / precomputed / Activations: weighted sums, components, shared
activations, refusals."""

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from helpers import assert_close, assert_refuses, check_against
from losskit.functional import (
    Activations,
    combined_loss,
    combined_loss_components,
    focal_loss,
    precomputed,
    sigmoid_focal_loss,
)
from losskit.nn import CombinedLoss


class CountOps(TorchDispatchMode):
    """Counts aten calls by name (to see that the softmax is computed once)."""

    def __init__(self):
        super().__init__()
        self.counts = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def soft_dice(x, target, *, from_logits=True, eps=1.0):
    """A small multiclass soft dice written for the test (takes probs with from_logits=False)."""
    p = torch.softmax(x, 1) if from_logits else x
    q = F.one_hot(target, x.shape[1]).movedim(-1, 1).to(p.dtype)
    dims = (0, *range(2, x.dim()))
    inter = (p * q).sum(dims)
    return 1 - ((2 * inter + eps) / (p.sum(dims) + q.sum(dims) + eps)).mean()


def _data(shape=(4, 3, 5)):
    return torch.randn(shape, dtype=torch.float64), torch.randint(0, shape[1], (shape[0], *shape[2:]))


def test_total_is_weighted_sum_of_parts():
    x, t = _data()
    losses = {"ce": F.cross_entropy, "focal": lambda x, t: focal_loss(x, t, gamma=2.0), "dice": soft_dice}
    weights = {"focal": 2.0, "dice": 0.5}
    ref = lambda x, t: F.cross_entropy(x, t) + 2.0 * focal_loss(x, t, gamma=2.0) + 0.5 * soft_dice(x, t)
    check_against(lambda x, t: combined_loss(x, t, losses, weights=weights), ref, x, t, grad=[True, False])
    total, parts = combined_loss_components(x, t, losses, weights=weights)
    assert set(parts) == {"ce", "focal", "dice"}
    assert_close(parts["focal"], focal_loss(x, t, gamma=2.0))
    assert_close(total, parts["ce"] + 2 * parts["focal"] + 0.5 * parts["dice"])


def test_precomputed_parts_share_one_log_softmax():
    x, t = _data()
    losses = {
        "ce": precomputed(F.nll_loss, takes="log_probs"),
        "dice": precomputed(soft_dice, takes="probs", from_logits=False),
    }
    ref = lambda x, t: F.cross_entropy(x, t) + 0.5 * soft_dice(x, t)
    check_against(lambda x, t: combined_loss(x, t, losses, weights={"dice": 0.5}), ref, x, t, grad=[True, False])
    with CountOps() as ops:
        combined_loss(x, t, losses, weights={"dice": 0.5})
    assert ops.counts.get("_log_softmax", 0) == 1
    assert ops.counts.get("_softmax", 0) == 0
    with CountOps() as ops:  # without sharing: two softmax passes
        combined_loss(x, t, {"ce": F.cross_entropy, "dice": soft_dice})
    assert ops.counts.get("_log_softmax", 0) + ops.counts.get("_softmax", 0) == 2


def test_sigmoid_activation_is_shared():
    x = torch.randn(6, 4, dtype=torch.float64)
    y = torch.randint(0, 2, (6, 4)).double()
    soft_iou = lambda p, y: 1 - (p * y).sum() / (p + y - p * y).sum()
    losses = {
        "bce": F.binary_cross_entropy_with_logits,
        "iou": precomputed(soft_iou, activation="sigmoid"),
        "focal": sigmoid_focal_loss,
    }
    ref = lambda x, y: (
        F.binary_cross_entropy_with_logits(x, y) + soft_iou(torch.sigmoid(x), y) + sigmoid_focal_loss(x, y)
    )
    check_against(lambda x, y: combined_loss(x, y, losses), ref, x, y, grad=[True, False])


def test_activations_cache():
    acts = Activations(torch.tensor([[1.0, 2.0, 3.0]]))
    assert acts.get("log_probs") is acts.get("log_probs", "softmax")
    assert_close(acts.get("probs"), torch.softmax(torch.tensor([[1.0, 2.0, 3.0]]), 1))
    assert_close(acts.get("probs", "sigmoid"), torch.sigmoid(torch.tensor([[1.0, 2.0, 3.0]])))
    assert acts.get("logits") is acts.logits
    assert Activations(torch.randn(3)).dim == 0


def test_combine_errors():
    x, t = _data()
    assert_refuses(lambda: combined_loss(x, t, {}), match="losses must be a non-empty mapping")
    assert_refuses(lambda: combined_loss(x, t, {"ce": 3}), match=r"losses\['ce'\] must be callable")
    assert_refuses(
        lambda: combined_loss(x, t, {"ce": F.cross_entropy}, weights={"dice": 1.0}),
        match=r"weights has names that are not losses: \['dice'\]",
    )
    assert_refuses(
        lambda: combined_loss(x, t, {"ce": F.cross_entropy}, weights={"ce": "1"}),
        match=r"weights\['ce'\] must be a finite number",
    )
    assert_refuses(lambda: combined_loss(x, t, {"ce": lambda x, t: 1.0}), match="returned float, expected a Tensor")
    assert_refuses(lambda: precomputed(F.nll_loss, takes="logits"), match="takes='logits' is not valid")
    assert_refuses(lambda: precomputed(F.nll_loss, activation="relu"), match="activation='relu' is not valid")
    assert_refuses(lambda: CombinedLoss({"ce": F.cross_entropy}, weights={"x": 1}), match="not losses")


def test_parts_share_their_reads_of_the_same_input_and_target():
    """Inside one combined call the sampled "softmax applied twice?" read of the logits and the class-index
    range read of the target run once for all parts; a bad label is still refused, the warning still fires
    (once), a tensor changed in place is read again, and outside a combined call every call reads."""
    import warnings

    import losskit
    from losskit import _checks
    from losskit.functional import cross_entropy, dice_loss, generalized_cross_entropy

    x, t = _data((4, 3, 6))
    parts = {"ce": cross_entropy, "gce": generalized_cross_entropy, "dice": dice_loss}
    with CountOps() as ops:
        combined_loss(x, t, parts)
    assert ops.counts.get("aminmax", 0) == 2  # one range read of t (gce), one sampled read of x
    with CountOps() as ops:
        for part in parts.values():
            part(x, t)
    assert ops.counts.get("aminmax", 0) == 4  # each call alone: gce's range read, and every part's sampled read
    bad = t.clone()
    bad[0, 0] = 3
    assert_refuses(lambda: combined_loss(x, bad, parts), match=r"class index 3 outside \[0, 2\]")
    probs = torch.softmax(x, 1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        combined_loss(probs, t, parts)
    assert sum("applied twice" in str(w.message) for w in seen) == 1
    with _checks.checked_once():
        y = t.clone()
        generalized_cross_entropy(x, y)
        y[0, 0] = 7  # changed in place: read again
        assert_refuses(lambda: generalized_cross_entropy(x, y), match="class index 7")
    with losskit.checks("off"), CountOps() as ops:
        combined_loss(x, t, parts)
    assert ops.counts.get("aminmax", 0) == 0


def test_options_checked_once_per_distinct_set_still_refuse_a_bad_one():
    """The overlap options are checked once per distinct set of plain values; a value equal to a passed
    one but of another type (True for 1) or a NaN is still refused on every call."""
    from losskit.functional import dice_loss

    x, t = _data((2, 3, 4))
    dice_loss(x, t, smooth=1)
    for _ in range(2):
        assert_refuses(lambda: dice_loss(x, t, smooth=True), match="smooth must be a Python number")
        assert_refuses(lambda: dice_loss(x, t, smooth=float("nan")), match="smooth must be in")
        assert_refuses(lambda: dice_loss(x, t, smooth=-1.0), match="smooth must be in")


def test_cross_entropy_and_multiclass_overlap_parts_share_one_log_softmax():
    """Plain losskit parts on logits: cross-entropy computes log_softmax, the overlap loss after it takes
    exp of it (no second softmax); the numbers are those of the parts called alone."""
    from losskit import _checks
    from losskit.functional import cross_entropy, dice_loss, tversky_loss

    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 4, 6, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 4, (3, 6, 5), generator=g)
    t[0, 0, 0] = -100  # an ignored pixel for cross-entropy
    dice = lambda x, t: dice_loss(x, t.clamp_min(0), smooth=1e-5)
    tversky = lambda x, t: tversky_loss(x, t.clamp_min(0), alpha=0.3, beta=0.7)
    for losses in (
        {"ce": cross_entropy, "dice": dice},
        {"ce": cross_entropy, "dice": dice, "tversky": tversky},
        {"dice": dice, "ce": cross_entropy},  # the overlap loss first: its own softmax, nothing shared
    ):
        ref = lambda x, t, losses=losses: sum(f(x, t) for f in losses.values())
        check_against(lambda x, t, losses=losses: combined_loss(x, t, losses), ref, x, t, grad=[True, False])
        with CountOps() as ops:
            combined_loss(x, t, losses)
        shared = next(iter(losses)) == "ce"
        assert ops.counts.get("_log_softmax", 0) == 1
        assert ops.counts.get("_softmax", 0) == (0 if shared else 1)
    assert _checks._SHARED.activations is None  # nothing left behind after the call

    import losskit.nn as LN

    module = CombinedLoss({"ce": LN.CrossEntropyLoss(), "dice": LN.DiceLoss(smooth=1e-5)})
    with CountOps() as ops:
        total = module(x, t.clamp_min(0))
    assert ops.counts.get("_softmax", 0) == 0 and ops.counts.get("_log_softmax", 0) == 1
    assert_close(total, LN.CrossEntropyLoss()(x, t.clamp_min(0)) + LN.DiceLoss(smooth=1e-5)(x, t.clamp_min(0)))
    for dtype in (torch.bfloat16, torch.float16):  # half logits keep their float32 softmax
        with CountOps() as ops:
            combined_loss(x.to(dtype), t, {"ce": cross_entropy, "dice": dice})
        assert ops.counts.get("_softmax", 0) == 1


def test_a_part_given_other_logits_does_not_read_the_shared_log_softmax():
    from losskit.functional import cross_entropy, dice_loss

    x, t = _data((2, 3, 4, 4))
    other = x.flip(0)
    losses = {"ce": cross_entropy, "dice_of_other": lambda _, t: dice_loss(other, t)}
    total = combined_loss(x, t, losses)
    assert_close(total, cross_entropy(x, t) + dice_loss(other, t))
