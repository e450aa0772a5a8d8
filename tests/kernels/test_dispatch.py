"""Automatic dispatch: each hooked functional, run with ``impl("triton")``, gives the numbers of the same
functional run with ``impl("torch")`` (its PyTorch path, the source of truth) -- value and gradient --
and a spy on the dispatcher entries shows which calls the kernels serve and which fall back.

Runs under Triton's CPU interpreter (``TRITON_INTERPRET=1``, see conftest.py); tiny shapes.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import losskit.functional as LF
from helpers import assert_close, tol_for

pytest.importorskip("triton")
from losskit.kernels import _dispatch
from losskit.kernels._triton import interpreter_active

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # numpy, on masked lanes of the interpreter
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

HOOKED = (
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "sigmoid_focal_loss",
    "dice_loss",
    "linear_cross_entropy",
)
#: the primitive each hooked loss asks the dispatcher for
PRIMITIVE = {
    "cross_entropy": "cross_entropy_rows",
    "linear_cross_entropy": "linear_cross_entropy_chunk",
    "binary_cross_entropy_with_logits": "sigmoid_focal_rows",
    "sigmoid_focal_loss": "sigmoid_focal_rows",
    "dice_loss": "soft_counts",
}
ENTRIES: dict = {}  # name -> the registered kernel function (unwrapped)


@pytest.fixture
def spy(monkeypatch):
    """Wrap every kernel; record (loss name, options, served) for each call that reaches one."""
    records: list[tuple[str, dict, bool]] = []
    for name in HOOKED:
        k = _dispatch.registered(PRIMITIVE[name])
        assert k is not None, f"no kernel registered for {PRIMITIVE[name]}"
        ENTRIES[name] = k.fn

        def supports(*args, _k=k, _name=name, **options):
            ok = _k.supports(*args, **options)
            records.append((_name, options, ok))
            return ok

        monkeypatch.setitem(_dispatch._REGISTERED, k.name, _dispatch.Kernel(k.name, k.fn, supports))
    return records


def _fresh(v):
    if isinstance(v, torch.Tensor):
        return v.detach().clone().requires_grad_(v.requires_grad)
    return v


def _run(fn, args, kwargs, mode, upstream_seed):
    args = [_fresh(a) for a in args]
    kwargs = {k: _fresh(v) for k, v in kwargs.items()}
    with _dispatch.impl(mode):
        out = fn(*args, **kwargs)
    leaves = [t for t in [*args, *kwargs.values()] if isinstance(t, torch.Tensor) and t.requires_grad]
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(upstream_seed)) + 1.5  # non-unit
    grads = torch.autograd.grad((out.double() * g.double()).sum(), leaves, allow_unused=True)
    return out.detach(), grads


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------------
# cases: id -> (functional, args, kwargs, served?)
# --------------------------------------------------------------------------------------------------


def _ce(opt):
    g = _gen(1)
    x = (torch.randn(6, 5, generator=g) * 2).requires_grad_()
    t = torch.randint(0, 5, (6,), generator=g)
    t[0] = 1
    w = torch.rand(5, generator=g) + 0.5
    kw, args = {}, None
    if opt == "weight":
        kw = {"weight": w}
    elif opt == "ignore_index":
        kw = {"ignore_index": 1}
    elif opt == "label_smoothing":
        kw = {"label_smoothing": 0.1}
    elif opt in ("none", "sum"):
        kw = {"reduction": opt}
    elif opt == "legacy_size_average":
        kw = {"size_average": False}
    elif opt == "weight+smoothing+ignore":
        kw = {"weight": w, "label_smoothing": 0.2, "ignore_index": 1}
    elif opt == "all_ignored_zero":
        t = torch.full((6,), -100)
        kw = {"all_ignored": "zero"}
    elif opt == "nd":
        x = torch.randn(2, 5, 3, generator=g).requires_grad_()
        t = torch.randint(0, 5, (2, 3), generator=g)
    elif opt == "unbatched":
        x, t = torch.randn(5, generator=g).requires_grad_(), torch.tensor(3)
    elif opt in ("bfloat16", "float16"):
        x = x.detach().to(getattr(torch, opt)).requires_grad_()
    elif opt == "int32_target":
        t = t.int()
    # fall back:
    elif opt == "prob_target":
        t = torch.softmax(torch.randn(6, 5, generator=g), 1)
    elif opt == "float64":
        x = x.detach().double().requires_grad_()
    served = opt not in ("prob_target", "float64")
    return LF.cross_entropy, args or (x, t), kw, served


CE_OPTS = [
    "default",
    "weight",
    "ignore_index",
    "label_smoothing",
    "none",
    "sum",
    "legacy_size_average",
    "weight+smoothing+ignore",
    "all_ignored_zero",
    "nd",
    "unbatched",
    "bfloat16",
    "float16",
    "int32_target",
    "prob_target",
    "float64",
]


def _bce(opt):
    g = _gen(2)
    x = (torch.randn(4, 3, generator=g) * 2).requires_grad_()
    t = torch.rand(4, 3, generator=g)
    kw = {}
    if opt == "weight":
        kw = {"weight": torch.rand(3, generator=g) + 0.5}
    elif opt == "pos_weight":
        kw = {"pos_weight": torch.rand(3, generator=g) * 3}
    elif opt == "label_smoothing":
        kw = {"label_smoothing": 0.1}
    elif opt in ("none", "sum"):
        kw = {"reduction": opt}
    elif opt == "all_options":
        kw = {
            "weight": torch.rand(4, 1, generator=g),
            "pos_weight": torch.rand(3, generator=g) * 2,
            "label_smoothing": 0.2,
            "reduction": "sum",
        }
    elif opt == "int_target":
        t = (t > 0.5).long()
    elif opt == "bool_target":
        t = t > 0.5
    elif opt == "float16":
        x, t = x.detach().half().requires_grad_(), t.half()
    elif opt == "bfloat16_int_target":
        x, t = x.detach().bfloat16().requires_grad_(), (t > 0.5).long()
    # fall back:
    elif opt == "float64_target":
        t = t.double()  # the functional returns float64 for float32 logits
    elif opt == "float16_logits_float32_target":
        x = x.detach().half().requires_grad_()  # the functional returns float32
    elif opt == "float64":
        x, t = x.detach().double().requires_grad_(), t.double()
    served = opt not in ("float64_target", "float16_logits_float32_target", "float64")
    return LF.binary_cross_entropy_with_logits, (x, t), kw, served


BCE_OPTS = [
    "default",
    "weight",
    "pos_weight",
    "label_smoothing",
    "none",
    "sum",
    "all_options",
    "int_target",
    "bool_target",
    "float16",
    "bfloat16_int_target",
    "float64_target",
    "float16_logits_float32_target",
    "float64",
]


def _focal(opt):
    g = _gen(3)
    x = (torch.randn(4, 3, generator=g) * 2).requires_grad_()
    t = (torch.rand(4, 3, generator=g) > 0.5).float()
    t[0] = torch.rand(3, generator=g)  # soft targets: the expectation form of the functional
    kw = {}
    if opt == "alpha":
        kw = {"alpha": 0.25}
    elif opt == "alpha_tensor":
        kw = {"alpha": torch.rand(3, generator=g)}
    elif opt == "gamma0":
        kw = {"gamma": 0.0}
    elif opt == "gamma_half":
        kw = {"gamma": 0.5}
    elif opt == "weight":
        kw = {"weight": torch.rand(3, generator=g) + 0.5}
    elif opt == "pos_weight":
        kw = {"pos_weight": torch.rand(4, 1, generator=g) * 3}
    elif opt == "label_smoothing":
        kw = {"label_smoothing": 0.1}
    elif opt in ("ignore_index", "ignore_index_int_target"):
        if opt == "ignore_index_int_target":
            t = (t > 0.5).long()
        t[1, :2] = -1
        kw = {"ignore_index": -1}
    elif opt == "all_ignored_zero":
        t = torch.full((4, 3), 255.0)
        kw = {"ignore_index": 255, "all_ignored": "zero"}
    elif opt in ("none", "sum"):
        kw = {"reduction": opt}
    elif opt == "all_options":
        t[1, :2] = -1
        kw = {
            "alpha": 0.3,
            "gamma": 1.5,
            "weight": torch.rand(3, generator=g),
            "label_smoothing": 0.05,
            "pos_weight": torch.rand(3, generator=g) + 1,
            "ignore_index": -1,
            "reduction": "sum",
        }
    elif opt == "bool_target":
        t = t > 0.5
    elif opt == "bfloat16":
        x = x.detach().bfloat16().requires_grad_()
    # fall back:
    elif opt == "ignore_index_float16_target":
        t[1, :2] = -1
        t = t.half()
        kw = {"ignore_index": -1}
    elif opt == "float64":
        x = x.detach().double().requires_grad_()
    elif opt == "alpha_requires_grad":
        kw = {"alpha": torch.rand(3, generator=g).requires_grad_()}
    elif opt == "weight_requires_grad":
        kw = {"weight": (torch.rand(3, generator=g) + 0.5).requires_grad_()}
    served = opt not in ("ignore_index_float16_target", "float64", "alpha_requires_grad", "weight_requires_grad")
    return LF.sigmoid_focal_loss, (x, t), kw, served


FOCAL_OPTS = [
    "default",
    "alpha",
    "alpha_tensor",
    "gamma0",
    "gamma_half",
    "weight",
    "pos_weight",
    "label_smoothing",
    "ignore_index",
    "ignore_index_int_target",
    "all_ignored_zero",
    "none",
    "sum",
    "all_options",
    "bool_target",
    "bfloat16",
    "ignore_index_float16_target",
    "float64",
    "alpha_requires_grad",
    "weight_requires_grad",
]


def _dice(opt):
    g = _gen(4)
    x = (torch.randn(2, 4, 3, 3, generator=g) * 2).requires_grad_()  # C = 4, 9 pixels: two blocks of 8
    t = torch.randint(0, 3, (2, 3, 3), generator=g)  # class 3 absent: excluded by default
    t[0, 0] = 0
    kw = {}
    if opt == "empty_include":
        kw = {"empty": "include"}
    elif opt == "smooth":
        kw = {"smooth": 1.0}
    elif opt == "eps":
        x = x.detach().clone()
        x[:, 2] = -30.0  # class 2 predicted empty ...
        t = t.masked_fill(t == 2, 0)  # ... and absent: P + T < eps, a perfect ratio
        x.requires_grad_()
        kw = {"eps": 1e-3, "empty": "include"}
    elif opt == "per_image":
        kw = {"per_image": True}
    elif opt == "no_background":
        kw = {"include_background": False}
    elif opt == "weight":
        kw = {"weight": torch.rand(4, generator=g) + 0.5}
    elif opt == "weight_requires_grad":
        kw = {"weight": (torch.rand(4, generator=g) + 0.5).requires_grad_(), "empty": "include"}
    elif opt == "ignore_index":
        t[1, 1] = 255
        kw = {"ignore_index": 255, "per_image": True}
    elif opt in ("none", "sum"):
        kw = {"reduction": opt, "per_image": opt == "none"}
    elif opt == "onehot_target":
        t = torch.nn.functional.one_hot(t, 4).movedim(-1, 1).float()
    elif opt == "all_options":
        t[1, 1] = -1
        kw = {
            "weight": torch.rand(4, generator=g) + 0.5,
            "ignore_index": -1,
            "smooth": 0.5,
            "eps": 1e-5,
            "per_image": True,
            "include_background": False,
            "empty": "include",
            "reduction": "sum",
        }
    elif opt == "binary":
        x = x.detach()[:, :1].clone().requires_grad_()
        t = (torch.rand(2, 3, 3, generator=g) > 0.5).float()  # (N, *) target of an (N, 1, *) input
        kw = {"mode": "binary"}
    elif opt == "binary_flat":
        x, t = x.detach()[:, 0].clone().requires_grad_(), torch.rand(2, 3, 3, generator=g) > 0.5
        kw = {"mode": "binary", "smooth": 1.0}
    elif opt == "multilabel":
        t = (torch.rand(2, 4, 3, 3, generator=g) > 0.6).float()
        t[:, 3] = 0  # an empty channel
        kw = {"mode": "multilabel", "per_image": True}
    elif opt == "bfloat16":
        x = x.detach().bfloat16().requires_grad_()
    elif opt == "channels_last":
        x = x.detach().to(memory_format=torch.channels_last).requires_grad_()
    # fall back:
    elif opt == "from_logits_false":
        x = torch.softmax(x.detach(), 1).requires_grad_()
        kw = {"from_logits": False}
    elif opt == "multilabel_ignore_index":
        t = (torch.rand(2, 4, 3, 3, generator=g) > 0.6).float()
        t[0, 0, 0] = -1
        kw = {"mode": "multilabel", "ignore_index": -1}
    elif opt == "float64":
        x = x.detach().double().requires_grad_()
    served = opt not in ("from_logits_false", "multilabel_ignore_index", "float64")
    return LF.dice_loss, (x, t), kw, served


DICE_OPTS = [
    "default",
    "empty_include",
    "smooth",
    "eps",
    "per_image",
    "no_background",
    "weight",
    "weight_requires_grad",
    "ignore_index",
    "none",
    "sum",
    "onehot_target",
    "all_options",
    "binary",
    "binary_flat",
    "multilabel",
    "bfloat16",
    "channels_last",
    "from_logits_false",
    "multilabel_ignore_index",
    "float64",
]


def _lce(opt):
    g = _gen(5)
    x = torch.randn(5, 4, generator=g).requires_grad_()
    w = (torch.randn(7, 4, generator=g) * 0.5).requires_grad_()
    t = torch.randint(0, 7, (5,), generator=g)
    kw = {}
    if opt == "label_smoothing+weight":
        kw = {"label_smoothing": 0.1, "weight": torch.rand(7, generator=g) + 0.5, "chunk_size": 2}
    elif opt == "prob_target":  # fall back
        t = torch.softmax(torch.randn(5, 7, generator=g), 1)
    return LF.linear_cross_entropy, (x, w, t), kw, opt != "prob_target"


LCE_OPTS = ["default", "label_smoothing+weight", "prob_target"]

CASES = (
    [("cross_entropy", o, _ce) for o in CE_OPTS]
    + [("binary_cross_entropy_with_logits", o, _bce) for o in BCE_OPTS]
    + [("sigmoid_focal_loss", o, _focal) for o in FOCAL_OPTS]
    + [("dice_loss", o, _dice) for o in DICE_OPTS]
    + [("linear_cross_entropy", o, _lce) for o in LCE_OPTS]
)


@pytest.mark.filterwarnings("ignore:size_average and reduce are deprecated")
@pytest.mark.parametrize("name,opt,make", CASES, ids=[f"{n}-{o}" for n, o, _ in CASES])
def test_dispatch_matches_pytorch_path(name, opt, make, spy):
    fn, args, kwargs, served = make(opt)
    out_k, grads_k = _run(fn, args, kwargs, "triton", upstream_seed=7)
    calls = [r for r in spy if r[0] == name]
    if name == "linear_cross_entropy":  # asked once per chunk
        assert calls and all(c[2] is served for c in calls), f"{name} [{opt}]: expected {served}"
    else:
        assert len(calls) == 1, f"{name} reached its kernel {len(calls)} times"
        assert calls[0][2] is served, f"{name} [{opt}]: expected {'served' if served else 'fallback'}"
    del spy[:]
    out_t, grads_t = _run(fn, args, kwargs, "torch", upstream_seed=7)
    assert not spy, "impl('torch') must not reach a kernel"
    assert out_k.dtype == out_t.dtype and out_k.shape == out_t.shape
    tol = tol_for(out_t, *[a for a in args if isinstance(a, torch.Tensor)])
    assert_close(out_k, out_t, tol=tol, msg=f"{name} [{opt}] value")
    for gk, gt in zip(grads_k, grads_t, strict=True):
        assert (gk is None) == (gt is None)
        if gk is not None:
            assert gk.dtype == gt.dtype
            assert_close(gk, gt, tol=tol, msg=f"{name} [{opt}] gradient")


@pytest.mark.parametrize("name", HOOKED)
def test_entry_accepts_exactly_the_functionals_keywords(name, spy):
    """The default call of each functional is served, and the options it passes are exactly the
    kernel's keyword parameters."""
    make = {
        "cross_entropy": _ce,
        "binary_cross_entropy_with_logits": _bce,
        "sigmoid_focal_loss": _focal,
        "dice_loss": _dice,
        "linear_cross_entropy": _lce,
    }[name]
    fn, args, kwargs, served = make("default")
    assert served and not kwargs
    with _dispatch.impl("triton"):
        fn(*args)
    rec = next(r for r in spy if r[0] == name)
    assert rec[2], f"the default call of {name} is not served by its kernel"
    params = inspect.signature(ENTRIES[name]).parameters
    named = {k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(rec[1]) == named


@pytest.mark.parametrize("name", HOOKED)
def test_unknown_option_is_a_type_error(name):
    x = torch.randn(2, 3, 4)
    with _dispatch.impl("triton"), pytest.raises(TypeError):
        _dispatch.kernel(PRIMITIVE[name], x, an_option_from_the_future=1.0)


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy_with_logits"])
def test_weight_with_grad_falls_back_to_torchs_error(name, spy):
    """torch's twins have no gradient for ``weight``; the kernel would silently drop it, so the call
    falls back and torch's own error reaches the user."""
    fn, args, _, _ = (_ce if name == "cross_entropy" else _bce)("default")
    w = torch.rand(args[0].shape[-1], requires_grad=True)
    with _dispatch.impl("triton"), pytest.raises(RuntimeError, match="weight"):
        fn(*args, weight=w)
    assert [r[2] for r in spy if r[0] == name] == [False]  # (BCE and sigmoid focal share one primitive)


def test_catalog_names_the_kernels():
    """``Entry.kernel`` names exactly the primitive each served loss asks for, and every primitive serves one."""
    from losskit import catalog

    with_kernel = {e.name: e.kernel for e in catalog.entries() if e.kernel is not None}
    assert {n: with_kernel.get(n) for n in HOOKED} == PRIMITIVE
    assert set(with_kernel.values()) == set(_dispatch.PRIMITIVES)
