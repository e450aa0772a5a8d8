"""The shared input checks (losskit._checks) as every loss sees them."""

import itertools
import math

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


@pytest.mark.parametrize("value", [0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 1e-300, math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("low, low_open", [(None, False), (0.0, False), (0.0, True), (-1.0, False)])
@pytest.mark.parametrize("high, high_open", [(None, False), (1.0, False), (1.0, True)])
def test_number_plain_float_agrees_with_the_general_path(value, low, low_open, high, high_open):
    # a plain float takes a short path; a NumPy float64 (a float subclass) takes the general one:
    # both accept the same values and refuse the same ones
    np = pytest.importorskip("numpy")
    from losskit import _checks

    def outcome(v):
        try:
            return ("ok", _checks.number(v, "x", low=low, high=high, low_open=low_open, high_open=high_open))
        except ValueError as err:
            return ("refused", str(err).replace("np.float64(", "").replace(")", ""))

    plain, general = outcome(value), outcome(np.float64(value))
    assert plain[0] == general[0]
    if plain[0] == "ok":
        assert type(plain[1]) is float and (plain[1] == general[1] or math.isnan(plain[1]))
        assert math.copysign(1.0, plain[1]) == math.copysign(1.0, general[1])


def test_ignored_plain_int_agrees_with_the_general_path():
    np = pytest.importorskip("numpy")
    from losskit import _checks

    for v in (-100, 0, 7, -1):
        assert _checks.ignored(v, fn="f") == _checks.ignored(np.int64(v), fn="f") == v
    for bad in (True, 1.5, torch.tensor(3)):
        with pytest.raises(TypeError, match="ignore_index must be"):
            _checks.ignored(bad, fn="f")


@pytest.mark.parametrize(
    ("shape", "dim"),
    [
        ((2, 7), 1),
        ((33, 7), 1),
        ((4096, 7), 1),
        ((100003, 7), 1),
        ((7, 4096), 0),
        ((8, 4, 128, 128), 1),
        ((2, 5, 3, 4, 6), 1),
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
def test_sampled_rows_are_a_strided_view_spread_over_every_other_dim(shape, dim, channels_last):
    """At most 32 whole distributions, read in place (a view of the input's storage, whatever its
    layout), spread over the batch and spatial dims: the first position of every dim and one in
    its last stride block."""
    import math

    from losskit import _checks

    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    if channels_last and x.dim() == 4:
        x = x.to(memory_format=torch.channels_last)
    picked = _checks._sample_rows(x, dim)
    assert picked.shape[-1] == x.shape[dim]
    assert math.prod(picked.shape[:-1]) <= 32
    assert picked.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    moved = x.movedim(dim, -1)
    assert torch.equal(picked[(0,) * (picked.dim() - 1)], moved[(0,) * (moved.dim() - 1)])
    for i, (m, size) in enumerate(zip(picked.shape[:-1], moved.shape[:-1], strict=True)):
        step = -(-size // m)
        assert size - step <= (m - 1) * step < size  # the last picked index lies in the last stride block
        assert m == size or m >= 2 or math.prod(picked.shape[:i]) * 2 > 32  # a dim with room is sampled twice or more


def _row(values, classes=5):
    return torch.tensor(values, dtype=torch.float64).expand(64, classes).clone()


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.log_softmax(torch.randn(64, 5, dtype=torch.float64), 1),  # log-probabilities
        lambda: torch.randn(64, 5, dtype=torch.float64),  # logits
        lambda: torch.softmax(torch.randn(64, 5, dtype=torch.float64), 1),  # probabilities
        lambda: _row([100.0, 0.0, 0.0, 0.0, 0.0]),  # exp overflows in float32
        lambda: _row([-120.0] * 5),  # every exp underflows in float32
        lambda: _row([0.0, -math.inf, -math.inf, -math.inf, -math.inf]),  # a certain class
        lambda: _row([-math.inf] * 5),  # no mass at all
        lambda: _row([math.inf, 0.0, 0.0, 0.0, 0.0]),
        lambda: _row([math.nan, 0.0, 0.0, 0.0, 0.0]),  # NaN is left to the NaN checks
        lambda: torch.log(_row([0.5, 0.5, 0.0096, 0.0, 0.0])),  # mass 1.0096: inside the 1% tolerance
        lambda: torch.log(_row([0.5, 0.5, 0.0102, 0.0, 0.0])),  # mass 1.0102: outside
        lambda: torch.log(_row([0.5, 0.4905, 0.0, 0.0, 0.0])),  # mass 0.9905: inside
        lambda: torch.log(_row([0.5, 0.4898, 0.0, 0.0, 0.0])),  # mass 0.9898: outside
    ],
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_not_log_probs_warning_is_the_logsumexp_test_in_float64(make, dtype):
    """The warning fires exactly when a sampled row's float64 logsumexp lies more than 0.01 from 0."""
    import warnings

    x64 = make()
    x = x64.to(dtype)
    lse = torch.logsumexp(x.double(), 1)
    expected = bool((lse.abs() > 1e-2).any())  # NaN compares False: no warning
    if dtype == torch.bfloat16 and 0.005 < float(lse.nan_to_num(0).abs().max()) < 0.02:
        pytest.skip("bfloat16 rounds the row mass across the 1% tolerance")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        LF.nll_loss(x, torch.zeros(64, dtype=torch.long))
    fired = any("expects log-probabilities" in str(w.message) for w in seen)
    assert fired == expected, (x64[0], lse[0])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("high", [1.0, None])
def test_range_read_from_the_bits_agrees_with_the_floats(dtype, high):
    # the integer aminmax over the bits says "in [0, high], no NaN" exactly when the floats do
    # (-0.0 aside: the bits read it as negative, and values_in then reads the floats)
    from losskit import _checks

    specials = [
        0.0,
        -0.0,
        1.0,
        0.5,
        1e-30,
        -1e-30,
        1.0001,
        1 - 1e-4,
        2.0,
        -1.0,
        math.inf,
        -math.inf,
        math.nan,
        -math.nan,
    ]
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        k = int(torch.randint(1, 6, (1,), generator=g))
        picks = torch.randint(0, len(specials), (k,), generator=g).tolist()
        vals = [specials[i] for i in picks] + torch.rand(3, generator=g, dtype=torch.float64).tolist()
        t = torch.tensor(vals, dtype=torch.float64).to(dtype)
        f = t.double()
        floats_say = bool((~f.isnan()).all() and (f >= 0).all() and (high is None or (f <= high).all()))
        negative_zero = bool(((f == 0) & torch.signbit(f)).any())
        bits_say = _checks._in_range_by_bits(t, high)
        assert bits_say == (floats_say and not negative_zero), (dtype, vals)
        # values_in itself: the same verdict as before, with -0.0 accepted
        if floats_say:
            assert _checks.values_in(t, "t", low=0.0, high=high) is True
        elif not bool(f.isnan().any()):
            with pytest.raises(ValueError, match="t has"):
                _checks.values_in(t, "t", low=0.0, high=high)


class _Clock:
    """A stand-in for time.monotonic_ns in losskit._checks, advanced by hand."""

    def __init__(self):
        self.ns = 10**12

    def monotonic_ns(self):
        return self.ns


def test_log_probs_reads_are_spaced_per_kind_of_input(monkeypatch):
    import losskit
    from losskit import _checks

    clock = _Clock()
    monkeypatch.setattr(_checks, "time", clock)
    lp = torch.log_softmax(torch.randn(8, 5), 1)
    due = lambda t, fn="nll_loss": _checks.log_probs_read_due(t, 1, fn)
    assert due(lp)  # the first call of a kind
    assert not due(lp) and not due(torch.log_softmax(torch.randn(3, 5), 1))  # same kind (batch size aside)
    # another loss, number of classes, dtype, grad requirement or producing op: a kind of its own
    assert due(lp, fn="other")
    assert due(torch.randn(8, 6))
    assert due(lp.double())
    assert due(lp.clone().requires_grad_())
    assert due(torch.randn(8, 5, requires_grad=True) * 1.0)
    clock.ns += _checks._READ_INTERVAL_NS - 1
    assert not due(lp)
    clock.ns += 1
    assert due(lp) and not due(lp)
    with losskit.checks("full"):
        assert due(lp) and due(lp)  # every call


def test_log_probs_reads_are_spaced_per_call_site(monkeypatch):
    # two losses of one kind in one step (a good head, then a head that gives logits, microseconds
    # apart): each line is read on its first call and then every 10 ms, so the second is never starved
    import warnings

    from losskit import _checks

    clock = _Clock()
    monkeypatch.setattr(_checks, "time", clock)
    w = torch.randn(5, 7, requires_grad=True)
    feats, y = torch.randn(50, 7), torch.randint(0, 5, (50,))
    flagged = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for step in range(100):
            z = feats @ w.T
            LF.nll_loss(z - torch.logsumexp(z, 1, keepdim=True), y)  # log-probabilities
            clock.ns += 5_000
            before = len(seen)
            LF.nll_loss(z - torch.zeros(()), y)  # logits, made by the same op: inputs of the same kind
            if any("expects log-probabilities" in str(m.message) for m in seen[before:]):
                flagged.append(step)
            clock.ns += 400_000
    assert flagged == list(range(0, 100, 25))
    for m in seen:
        assert m.filename == __file__
    # one line, called twice with inputs of one kind within 10 ms: the reads are shared
    due = lambda t: _checks.log_probs_read_due(t, 1, "nll_loss")
    lp = torch.log_softmax(torch.randn(8, 5), 1)
    assert due(lp) and not due(lp)
    assert _checks.log_probs_read_due(lp, 1, "nll_loss")  # another line: read on its first call


@pytest.mark.parametrize("plain", [True, False])  # the short path of nll_loss, and the general one
def test_a_training_loop_is_warned_within_one_read_interval(monkeypatch, plain):
    # a loop of 0.4 ms steps is read about one step in 25 (one read per 10 ms); a model that starts
    # giving logits mid-run (made by the same op, so the same kind of input) is flagged at the next read
    import warnings

    from losskit import _checks

    clock = _Clock()
    monkeypatch.setattr(_checks, "time", clock)
    reads = []
    real_read = _checks.read_log_probs
    monkeypatch.setattr(_checks, "read_log_probs", lambda *a, **k: (reads.append(step), real_read(*a, **k)))
    w = torch.randn(5, 7, requires_grad=True)
    feats = torch.randn(50, 7)
    y = torch.randint(0, 5, (50,) if plain else (25, 2))
    flagged = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for step in range(500):
            z = feats @ w.T
            out = z - (torch.logsumexp(z, 1, keepdim=True) if step < 300 else torch.zeros(()))  # logits from 300
            if not plain:  # (N, C, d): the general path
                out = out.reshape(25, 2, 5).movedim(-1, 1)
            before = len(seen)
            LF.nll_loss(out, y)
            if any("expects log-probabilities" in str(m.message) for m in seen[before:]):
                flagged.append(step)
            clock.ns += 400_000
    assert 19 <= len(reads) <= 21 and reads[0] == 0
    assert all(b - a == 25 for a, b in itertools.pairwise(reads))
    assert flagged == [s for s in reads if s >= 300] and 300 <= flagged[0] < 325


def test_warnings_name_the_callers_line():
    # losskit's warnings ("not log-probabilities", "sigmoid applied twice", torch's broadcast text,
    # kl_div's mean, the size_average/reduce deprecation) point at the user's call, through the
    # function and through the module (Python's default filter shows each once per line)
    import warnings

    import losskit
    from losskit import _checks

    z = torch.randn(6, 4, requires_grad=True)
    y = torch.randint(0, 4, (6,))
    calls = [
        lambda: LF.nll_loss(torch.randn(6, 4), y),
        lambda: LF.mse_loss(torch.randn(6, 4), torch.randn(4)),
        lambda: losskit.MSELoss()(torch.randn(6, 4), torch.randn(4)),
        lambda: LF.kl_div(torch.randn(6, 4).log_softmax(1), torch.randn(6, 4).softmax(1)),
        lambda: losskit.KLDivLoss()(torch.randn(6, 4).log_softmax(1), torch.randn(6, 4).softmax(1)),
        lambda: LF.l1_loss(torch.randn(6, 4), torch.randn(6, 4), None, False),
        lambda: losskit.CrossEntropyLoss(size_average=False)(torch.randn(6, 4), y),
        lambda: losskit.NLLLoss()(torch.randn(6, 5), torch.randint(0, 5, (6,))),
        lambda: LF.nll_loss(torch.randn(6, 4, 2), torch.zeros(6, 2, dtype=torch.long)),
        lambda: LF.binary_cross_entropy_with_logits(torch.sigmoid(z), torch.ones(6, 4)),
        lambda: losskit.BCEWithLogitsLoss()(torch.sigmoid(z), torch.ones(6, 4)),
    ]
    for call in calls:
        _checks._LAST_READ.clear()  # (reads are spaced per kind of input; each call here is read)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            call()
        assert len(seen) == 1, [str(w.message) for w in seen]
        assert seen[0].filename == __file__, (seen[0].filename, str(seen[0].message))
