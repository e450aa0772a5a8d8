"""The hand-derived numeric pieces of losskit.functional._primitives, each against an independent
float64 computation: values, gradients, second-order gradients and torch.func."""

import math

import pytest
import torch

from helpers import assert_close
from losskit.functional._primitives import focal_power, softmax_log_p_and_one_minus_p


def _exact(z: torch.Tensor, dim: int):
    """(log p, 1 - p) from u_c = logsumexp_{j != c} z_j - z_c: log p = logsigmoid(-u), 1 - p = sigmoid(u)."""
    zz = z.movedim(dim, -1)
    c = zz.shape[-1]
    eye = torch.eye(c, dtype=torch.bool)
    masked = torch.where(eye, torch.tensor(-math.inf, dtype=z.dtype), zz.unsqueeze(-2))  # (..., C, C)
    u = torch.logsumexp(masked, -1) - zz
    return torch.nn.functional.logsigmoid(-u).movedim(-1, dim), torch.sigmoid(u).movedim(-1, dim)


SATURATED = torch.tensor(
    [
        [40.0, 0.0, -3.0, 1.0],
        [0.0, 30.0, 1.0, -2.0],
        [2.0, 1.0, 0.5, -1.0],
        [-5.0, -4.0, 20.0, -6.0],
        [0.0, 0.0, 0.0, 0.0],
    ],
    dtype=torch.float64,
)


@pytest.mark.parametrize("dim", [0, 1])
def test_log_p_and_one_minus_p_are_exact_where_p_rounds_to_one(dim):
    z = SATURATED if dim == 1 else SATURATED.t().contiguous()
    log_p, a = softmax_log_p_and_one_minus_p(z, dim)
    ref_log_p, ref_a = _exact(z, dim)
    assert_close(log_p, ref_log_p, tol=dict(rtol=1e-12, atol=0.0))
    assert_close(a, ref_a, tol=dict(rtol=1e-12, atol=0.0))
    naive = 1 - torch.softmax(z, dim)
    assert (naive == 0).any() and (a > 0).all()  # where 1 - softmax rounds to 0, the primitive does not


def test_log_p_and_one_minus_p_gradients_are_exact_relative_to_each_entry():
    z = SATURATED.clone().requires_grad_()
    zr = SATURATED.clone().requires_grad_()
    up1, up2 = torch.rand(5, 4, dtype=torch.float64) + 0.5, torch.rand(5, 4, dtype=torch.float64) + 0.5
    log_p, a = softmax_log_p_and_one_minus_p(z, 1)
    ref_log_p, ref_a = _exact(zr, 1)
    g = torch.autograd.grad((log_p * up1).sum() + (a * up2).sum(), z)[0]
    gr = torch.autograd.grad((ref_log_p * up1).sum() + (ref_a * up2).sum(), zr)[0]
    assert_close(g, gr, tol=dict(rtol=1e-9, atol=1e-300))
    # only 1 - p at the arg-max, whose gradient is of order 1 - p there (~1e-17): relative accuracy kept
    g_top = torch.autograd.grad(softmax_log_p_and_one_minus_p(z, 1)[1][0, 0], z)[0]
    g_top_ref = torch.autograd.grad(_exact(zr, 1)[1][0, 0], zr)[0]
    assert_close(g_top, g_top_ref, tol=dict(rtol=1e-9, atol=1e-300))


def test_log_p_and_one_minus_p_second_order_and_torch_func():
    z = (2 * torch.randn(3, 4, 2, dtype=torch.float64)).requires_grad_()

    def f(z):
        log_p, a = softmax_log_p_and_one_minus_p(z, z.dim() - 2)
        return (a.pow(2) * -log_p).sum()

    assert torch.autograd.gradgradcheck(
        lambda z: softmax_log_p_and_one_minus_p(z, 1)[1] * -softmax_log_p_and_one_minus_p(z, 1)[0], (z,)
    )
    per_sample = torch.func.vmap(torch.func.grad(f))(z.detach())
    for k in range(3):
        zk = z.detach()[k].clone().requires_grad_()
        assert_close(per_sample[k], torch.autograd.grad(f(zk), zk)[0])


def test_single_class_gives_p_one_exactly():
    log_p, a = softmax_log_p_and_one_minus_p(torch.tensor([[3.0], [-7.0]]), 1)
    assert (log_p == 0).all() and (a == 0).all()


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 1.5, 2.0])
def test_focal_power_is_pow_with_autograds_gradient_away_from_zero(gamma):
    a = (torch.rand(20, dtype=torch.float64) * 0.98 + 0.01).requires_grad_()
    assert_close(focal_power(a, gamma), a.detach() ** gamma)
    if gamma:  # a^0 = 1 is a constant
        assert torch.autograd.gradcheck(lambda a: focal_power(a, gamma), (a,))
        assert torch.autograd.gradgradcheck(lambda a: focal_power(a, gamma), (a,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", [0.01, 0.3, 0.7])
def test_focal_power_gradient_stays_finite_where_one_minus_p_underflows(dtype, gamma):
    """1 - p = 0 (p rounds to 1) and denormal 1 - p: a^gamma exact, its gradient finite (dropped below tiny)."""
    tiny = torch.finfo(dtype).tiny
    a = torch.tensor([0.0, tiny / 4, tiny, 0.25, 1.0], dtype=dtype, requires_grad=True)
    out = focal_power(a, gamma)
    assert_close(out, a.detach() ** gamma)
    (g,) = torch.autograd.grad(out.sum(), a)
    assert torch.isfinite(g).all()
    assert g[0] == 0 and g[1] == 0
    assert_close(g[2:], gamma * a.detach()[2:] ** (gamma - 1))
    (naive,) = torch.autograd.grad((a**gamma).sum(), a)
    assert not torch.isfinite(naive[0])  # what the primitive avoids: gamma a^(gamma - 1) = inf at a = 0


def test_focal_term_from_the_primitives_has_a_finite_gradient_on_saturated_rows():
    z = torch.tensor([[200.0, 0.0, -3.0], [0.0, 0.0, 0.0]], requires_grad=True)
    log_p, a = softmax_log_p_and_one_minus_p(z, 1)
    loss = (focal_power(a, 0.5) * -log_p).sum()
    (g,) = torch.autograd.grad(loss, z)
    assert torch.isfinite(g).all()


def test_signature_cached_function_binds_defaults_as_before():
    """A Function whose forward's signature is computed once still gets its defaults bound by
    ``apply``, and works under torch.func (which needs setup_context's full inputs)."""
    import inspect

    from losskit.functional._primitives import signature_cached

    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(x, factor=3.0):
            return x * factor

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.factor = inputs[1]

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None

    fresh = inspect.signature(Scale.forward)
    signature_cached(Scale)
    assert Scale.forward.__signature__ == fresh
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    out = Scale.apply(x)  # the default factor bound by apply, reaching setup_context
    out.sum().backward()
    assert torch.equal(out, torch.tensor([3.0, 6.0])) and torch.equal(x.grad, torch.tensor([3.0, 3.0]))
    assert torch.equal(torch.func.grad(lambda t: Scale.apply(t, 2.0).sum())(x.detach()), torch.tensor([2.0, 2.0]))


def test_losskit_functions_cache_their_signatures():
    """Every autograd.Function with setup_context in losskit carries its forward's signature."""
    import losskit.distributed  # every module that may define a Function is imported
    import losskit.functional  # noqa: F401

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = [
        cls
        for cls in subclasses(torch.autograd.Function)
        if cls.__module__.startswith("losskit.") and "setup_context" in vars(cls)
    ]
    assert len(found) >= 3
    for cls in found:
        assert "__signature__" in vars(cls.forward), cls.__name__
        code = cls.forward.__code__
        assert tuple(cls.forward.__signature__.parameters) == code.co_varnames[: code.co_argcount], cls.__name__
