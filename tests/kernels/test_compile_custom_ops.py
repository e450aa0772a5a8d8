"""The kernels are torch.library custom ops: opcheck (schema, fake tensors, autograd registration) and
torch.compile(fullgraph=True) without graph breaks, on the CPU under Triton's interpreter."""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close

pytest.importorskip("triton")
from losskit.kernels._triton import interpreter_active

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

if interpreter_active():
    import losskit
    import losskit.functional as LF
    from losskit.kernels import cross_entropy, sigmoid_focal, soft_counts  # noqa: F401  (register their ops and primitives)

# opcheck's own tests, minus the dynamic-shape AOT test (it recompiles per shape: slow in the interpreter)
TESTS = ("test_schema", "test_autograd_registration", "test_faketensor")


def test_opcheck_cross_entropy():
    x = torch.randn(5, 7, 1, requires_grad=True)
    t = torch.tensor([0, 6, -100, 3, 2])
    w = torch.rand(7)
    ops = torch.ops.losskit
    torch.library.opcheck(ops.cross_entropy_fwd, (x, t, w, -100, 0.1, 1e-3, 4.0, False), test_utils=TESTS)
    torch.library.opcheck(ops.cross_entropy_fwd, (x, t, None, -100, 0.0, 0.0, 0.0, False), test_utils=TESTS)
    _, m, logl, _ = ops.cross_entropy_fwd(x.detach(), t, w, -100, 0.1, 0.0, 0.0, False)
    g = torch.rand(5)
    torch.library.opcheck(ops.cross_entropy_bwd, (g, x.detach(), t, w, m, logl, -100, 0.1, 0.0, 0.0), test_utils=TESTS)
    torch.library.opcheck(
        ops.cross_entropy_bwd_, (g, x.detach().clone(), t, w, m, logl, -100, 0.1, 0.0, 0.0), test_utils=TESTS
    )


def test_opcheck_soft_counts():
    ops = torch.ops.losskit
    x = torch.randn(2, 3, 5, requires_grad=True)
    t = (torch.rand(2, 3, 5) > 0.5).float()
    y = torch.randint(0, 3, (2, 5))
    y[0, 0] = 255
    torch.library.opcheck(ops.soft_counts_fwd, (x, t, 0, None), test_utils=TESTS)
    torch.library.opcheck(ops.soft_counts_fwd, (x, t, 1, None), test_utils=TESTS)
    torch.library.opcheck(ops.soft_counts_fwd, (x, y, 2, 255), test_utils=TESTS)
    torch.library.opcheck(ops.soft_counts_fwd, (x, torch.randint(0, 3, (2, 5)), 2, -100), test_utils=TESTS)
    g = torch.rand_like(ops.soft_counts_fwd(x.detach(), y, 2, 255))
    torch.library.opcheck(ops.soft_counts_bwd, (g, x.detach(), y, 2, 255), test_utils=TESTS)


def _compiled(fn):
    return torch.compile(fn, fullgraph=True, backend="aot_eager")  # fullgraph: a graph break would raise


@pytest.mark.parametrize("case", ["ce", "focal", "dice"])
def test_compile_fullgraph(case):
    torch._dynamo.reset()
    if case.startswith("ce"):
        x = torch.randn(6, 11)
        t = torch.randint(0, 11, (6,))

        def fn(x):
            z = x * 2.0  # logits produced inside the graph, as from an output layer
            return LF.cross_entropy(z, t, label_smoothing=0.1, z_loss=1e-3)

        def ref(x):
            z = (x * 2.0).double()
            lse = torch.logsumexp(z, 1)
            return F.cross_entropy(z, t, label_smoothing=0.1) + 1e-3 * (lse**2).mean()
    elif case == "focal":
        x = torch.randn(5, 9)
        t = (torch.rand(5, 9) > 0.5).float()

        def fn(x):
            return LF.sigmoid_focal_loss(x, t, alpha=0.25)  # served by sigmoid_focal_rows under impl('triton')

        def ref(x):
            x = x.double()
            p = torch.sigmoid(x)
            ce = F.binary_cross_entropy_with_logits(x, t.double(), reduction="none")
            p_t = p * t + (1 - p) * (1 - t)
            return ((0.25 * t + 0.75 * (1 - t)) * ce * (1 - p_t) ** 2).mean()
    else:
        x = torch.randn(2, 3, 4, 5)
        t = (torch.rand(2, 3, 4, 5) > 0.5).float()

        def fn(x):
            return LF.dice_loss(
                x, t, mode="multilabel", per_image=True, smooth=1.0
            ) + 0.5 * LF.binary_cross_entropy_with_logits(x, t)

        def ref(x):
            x = x.double()
            p = torch.sigmoid(x)
            d = 1 - (2 * (p * t).sum((2, 3)) + 1) / (p.sum((2, 3)) + t.sum((2, 3)) + 1)
            return d.mean() + 0.5 * F.binary_cross_entropy_with_logits(x, t.double())

    xa = x.clone().requires_grad_()
    with losskit.impl("triton"):
        out = _compiled(fn)(xa)
    out.backward()
    xr = x.clone().double().requires_grad_()
    expected = ref(xr)
    expected.backward()
    assert_close(out.detach(), expected.detach(), tol=dict(rtol=1e-5, atol=1e-6))
    assert_close(xa.grad, xr.grad, tol=dict(rtol=1e-5, atol=1e-6))
