"""The twins trace into one graph under torch.compile(fullgraph=True): no host syncs, no graph breaks."""

import pytest
import torch

import losskit.functional as LF
from helpers import assert_close

P = torch.softmax(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), 1)
Y = torch.tensor([0, 1, -100, 2])
W = torch.tensor([0.5, 1.0, 2.0])

CASES = {
    "cross_entropy": lambda x: LF.cross_entropy(x, Y, W, label_smoothing=0.1, all_ignored="zero"),
    "cross_entropy_probs": lambda x: LF.cross_entropy(x, P, W),
    "bce_with_logits": lambda x: LF.binary_cross_entropy_with_logits(x, P, label_smoothing=0.1, pos_weight=W),
    "kl_div_mean": lambda x: LF.kl_div(torch.log_softmax(x, 1), P, reduction="mean"),
    "measures": lambda x: (
        LF.entropy(torch.softmax(x, 1)) + LF.js_divergence(torch.log_softmax(x, 1), P.log(), log_input=True)
    ).sum(),
}


@pytest.mark.filterwarnings("ignore:kl_div")
@pytest.mark.parametrize("name", list(CASES))
def test_fullgraph_compile(name):
    fn = CASES[name]
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    x = torch.randn(4, 3, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    out, ref = compiled(x), fn(x2)
    out.backward()
    ref.backward()
    assert_close(out, ref)
    assert_close(x.grad, x2.grad)
