"""losskit.functional.cross_entropy / linear_cross_entropy given class-sharded DTensors, on 2 and 3
gloo ranks: the same numbers and gradients as on the full tensors, torch's loss_parallel results
where it has them, and the exact mean on a mesh that also shards the positions."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_tensor
from torch.distributed.tensor.parallel import loss_parallel

import losskit.functional as LF
from helpers import TOL, assert_close

_MESHES: dict = {}


def _mesh(shape):
    """One device mesh per shape for the life of the worker (each new mesh makes new process groups)."""
    shape = tuple(shape)
    if shape not in _MESHES:
        _MESHES[shape] = init_device_mesh("cpu", shape, mesh_dim_names=("dp", "tp")[-len(shape) :])
    return _MESHES[shape]


def _data(n, classes, kdims, ignored, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn((n, classes, *kdims), generator=g, dtype=torch.float64) * 3
    target = torch.randint(0, classes, (n, *kdims), generator=g)
    target[torch.rand((n, *kdims), generator=g) < ignored] = -100
    weight = torch.rand(classes, generator=g, dtype=torch.float64) + 0.2
    return logits, target, weight


def _backward(out, reduction, shape):
    """Backpropagate a fixed non-unit upstream gradient (a DTensor like the result for "none")."""
    if reduction == "none":
        up = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(shape)
        (out * distribute_tensor(up, out.device_mesh, out.placements)).sum().backward()
    else:
        (out * 0.7).backward()


def _ref_backward(out, reduction):
    if reduction == "none":
        up = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        (out * up).sum().backward()
    else:
        (out * 0.7).backward()


def case_cross_entropy(mesh_shape, placements, p):
    mesh = _mesh(mesh_shape)
    n, classes, kdims = p.get("n", 6), p["classes"], tuple(p.get("kdims", ()))
    logits, target, weight = _data(n, classes, kdims, p.get("ignored", 0.3))
    opts = {k: p[k] for k in ("reduction", "label_smoothing", "z_loss") if k in p}
    w = weight if p.get("weighted") else None
    ref_x = logits.clone().requires_grad_()
    ref = LF.cross_entropy(ref_x, target, w, **opts)
    _ref_backward(ref, opts.get("reduction", "mean"))

    shards = [Shard(0) if pl == "batch" else Shard(1) for pl in placements]
    x = distribute_tensor(logits.clone(), mesh, shards).requires_grad_()
    target_in = (
        target
        if not p.get("dtensor_target")
        else distribute_tensor(target, mesh, [Shard(0) if pl == "batch" else Replicate() for pl in placements])
    )
    out = LF.cross_entropy(x, target_in, w, **opts)
    assert isinstance(out, DTensor), type(out)
    _backward(out, opts.get("reduction", "mean"), ref.shape)
    assert_close(out.full_tensor().detach(), ref.detach(), tol=TOL[torch.float64], msg="loss differs")
    assert_close(x.grad.full_tensor(), ref_x.grad, tol=TOL[torch.float64], msg="gradient differs")
    return out.full_tensor().sum().item()


CE_CASES = {
    "uneven classes, weights, smoothing, z-loss, mean": dict(
        classes=11, weighted=True, label_smoothing=0.1, z_loss=1e-2
    ),
    "an empty shard, sum": dict(classes=4, reduction="sum", label_smoothing=0.2),
    "K-dim, none": dict(n=2, kdims=(3,), classes=7, reduction="none", weighted=True),
    "DTensor target": dict(classes=9, dtensor_target=True),
}


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("case", list(CE_CASES))
def test_class_sharded_dtensor_logits_give_the_full_cross_entropy(ranks, world, case):
    values = ranks(world).run(case_cross_entropy, (world,), ("classes",), CE_CASES[case])
    assert len(set(values)) == 1


MESH_CASES = {  # (mesh shape, placements of (dp, tp)): positions sharded over dp, classes over tp
    "positions over two ranks": ((2, 1), ("batch", "classes")),
    "classes over two ranks": ((1, 2), ("batch", "classes")),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("mesh", list(MESH_CASES))
def test_mean_over_a_mesh_that_shards_positions_is_the_exact_mean(ranks, mesh, reduction):
    shape, placements = MESH_CASES[mesh]
    for dtensor_target in (False, True):
        p = dict(
            classes=7,
            weighted=True,
            label_smoothing=0.1,
            reduction=reduction,
            ignored=0.5,
            dtensor_target=dtensor_target,
        )
        ranks(2).run(case_cross_entropy, shape, placements, p)


def case_same_as_loss_parallel(world, reduction, weighted):
    mesh = _mesh((world,))
    # torch's loss_parallel backward indexes the weight at ignored targets (it fails with -100),
    # so it is compared with weights and nothing ignored, and with ignored targets and no weight
    logits, target, weight = _data(8, 10, (), 0.0 if weighted else 0.25, seed=3)
    weight = weight if weighted else None
    got = []
    for impl in ("losskit", "torch"):
        x = distribute_tensor(logits.clone(), mesh, [Shard(1)]).requires_grad_()
        if impl == "torch":
            with loss_parallel():
                out = F.cross_entropy(x, target, weight, reduction=reduction)
                _backward(out, reduction, (8,))
        else:
            out = LF.cross_entropy(x, target, weight, reduction=reduction)
            _backward(out, reduction, (8,))
        got.append((out.full_tensor().detach(), x.grad.full_tensor(), out.placements))
    (a, ga, pa), (b, gb, pb) = got
    assert pa == pb, (pa, pb)
    assert_close(a, b, tol=TOL[torch.float64], msg="loss differs from torch's loss_parallel")
    assert_close(ga, gb, tol=TOL[torch.float64], msg="gradient differs from torch's loss_parallel")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_dtensor_cross_entropy_equals_torchs_loss_parallel(ranks, reduction, weighted):
    ranks(3).run(case_same_as_loss_parallel, 3, reduction, weighted)


def case_linear(mesh_shape, p):
    mesh = _mesh(mesh_shape)
    two_d = len(mesh_shape) == 2
    g = torch.Generator().manual_seed(5)
    n, hidden, classes = 6, 4, p["classes"]
    x = torch.randn(n, hidden, generator=g, dtype=torch.float64)
    W = torch.randn(classes, hidden, generator=g, dtype=torch.float64)
    b = torch.randn(classes, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    y[torch.rand(n, generator=g) < 0.5] = -100
    w = torch.rand(classes, generator=g, dtype=torch.float64) + 0.2
    opts = dict(weight=w, label_smoothing=0.1, reduction=p.get("reduction", "mean"))
    ref_in = [t.clone().requires_grad_() for t in (x, W, b)]
    ref = LF.cross_entropy(F.linear(*ref_in), y, opts["weight"], label_smoothing=0.1, reduction=opts["reduction"])
    _ref_backward(ref, opts["reduction"])

    rows = [Replicate(), Shard(0)] if two_d else [Shard(0)]
    Wd = distribute_tensor(W.clone(), mesh, rows).requires_grad_()
    bd = distribute_tensor(b.clone(), mesh, rows).requires_grad_()
    if two_d:  # tokens over dp, replicated over tp
        xd = distribute_tensor(x.clone(), mesh, [Shard(0), Replicate()]).requires_grad_()
        yd = distribute_tensor(y, mesh, [Shard(0), Replicate()])
    else:
        xd, yd = x.clone().requires_grad_(), y
    out = LF.linear_cross_entropy(xd, Wd, yd, linear_bias=bd, chunk_size=4, **opts)
    assert isinstance(out, DTensor), type(out)
    _backward(out, opts["reduction"], ref.shape)
    tol = TOL[torch.float64]
    assert_close(out.full_tensor().detach(), ref.detach(), tol=tol, msg="loss differs")
    gx = xd.grad.full_tensor() if isinstance(xd, DTensor) else xd.grad
    for got, want, name in (
        (gx, ref_in[0].grad, "input"),
        (Wd.grad.full_tensor(), ref_in[1].grad, "weight"),
        (bd.grad.full_tensor(), ref_in[2].grad, "bias"),
    ):
        assert_close(got, want, tol=tol, msg=f"gradient of the {name} differs")


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("mesh", [(3,), (1, 3)])
def test_row_sharded_dtensor_head_gives_the_full_linear_cross_entropy(ranks, mesh, reduction):
    ranks(3).run(case_linear, mesh, dict(classes=8, reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_row_sharded_head_on_a_mesh_that_shards_tokens(ranks, reduction):
    ranks(2).run(case_linear, (2, 1), dict(classes=5, reduction=reduction))


def case_refusals():
    mesh = _mesh((dist.get_world_size(),))
    logits = torch.randn(4, 6, dtype=torch.float64)
    target = torch.randint(0, 6, (4,))
    replicated = distribute_tensor(logits, mesh, [Replicate()])
    with pytest.raises(ValueError, match=r"class dimension 1 sharded on exactly one mesh dimension"):
        LF.cross_entropy(replicated, target)
    sharded = distribute_tensor(logits, mesh, [Shard(1)])
    with pytest.raises(ValueError, match=r"target is a plain tensor of shape \(2,\).*pass the whole target"):
        LF.cross_entropy(sharded, target[:2])
    W = distribute_tensor(torch.randn(6, 3, dtype=torch.float64), mesh, [Shard(1)])
    with pytest.raises(ValueError, match=r"sharded on its input features"):
        LF.linear_cross_entropy(torch.randn(4, 3, dtype=torch.float64), W, target)
    x_features = distribute_tensor(torch.randn(4, 4, dtype=torch.float64), mesh, [Shard(1)])
    W_rows = distribute_tensor(torch.randn(6, 4, dtype=torch.float64), mesh, [Shard(0)])
    with pytest.raises(ValueError, match=r"input is sharded on its features"):
        LF.linear_cross_entropy(x_features, W_rows, target)
    with pytest.raises(ValueError, match=r"linear_weight must be a 2-D DTensor"):
        LF.linear_cross_entropy(
            distribute_tensor(torch.randn(4, 4, dtype=torch.float64), mesh, [Replicate()]),
            torch.randn(6, 4, dtype=torch.float64),
            target,
        )
    mesh2 = _mesh((1, dist.get_world_size()))
    W2 = distribute_tensor(torch.randn(6, 4, dtype=torch.float64), mesh2, [Replicate(), Shard(0)])
    with pytest.raises(ValueError, match=r"input is a plain tensor but linear_weight lives on a 2-dimensional mesh"):
        LF.linear_cross_entropy(torch.randn(4, 4, dtype=torch.float64), W2, target)


def test_dtensor_layouts_losskit_cannot_serve_are_refused(ranks):
    ranks(2).run(case_refusals)
