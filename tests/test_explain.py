"""losskit.explain: the text, the loss/gradient curves against closed forms, the plot and the CLI entry."""

import argparse

import pytest
import torch

import losskit
from helpers import assert_close
from losskit import catalog, explain

Z = torch.linspace(-8, 8, 161, dtype=torch.float64)


def needs(*names):
    missing = [n for n in names if not hasattr(losskit.functional, n)]
    return pytest.mark.skipif(bool(missing), reason=f"losskit.functional lacks {', '.join(missing)}")


def _text(name):
    """explain_text with the line wrapping undone, so that phrases can be searched."""
    return " ".join(explain.explain_text(name).split())


# ---- text ---------------------------------------------------------------------------------------


def test_explain_text_for_a_likelihood_loss():
    text = _text("binary_cross_entropy_with_logits")
    for piece in (
        "formula:",
        "softplus(z) − y·z",
        "likelihood: negative log-likelihood of: Bernoulli",
        "link:",
        "sigmoid",
        "inference:",
        "z ≥ 0",
        "dropped:",
        "none (exact NLL)",
        "y(1−ε)+ε/2",
    ):
        assert piece in text, piece


def test_explain_text_for_regression_states_the_dropped_constants():
    text = _text("mse_loss")
    assert "Gaussian" in text and "½·log 2π" in text and "2σ²" in text and "the mean" in text
    assert "Laplace" in _text("l1_loss") and "the median" in _text("l1_loss")
    assert "log y!" in _text("poisson_nll_loss")


def test_explain_text_for_losses_built_on_a_likelihood():
    focal = _text("sigmoid_focal_loss")
    assert "built on the likelihood: Bernoulli" in focal
    assert "built on:" in focal and "binary_cross_entropy_with_logits" in focal and "(1 − p_t)^γ" in focal
    poly = _text("poly1_cross_entropy")
    assert "ε·(1 − p_y)" in poly and "cross_entropy" in poly
    dice = _text("dice_loss")
    assert "likelihood: none (not a likelihood)" in dice and "usually added to CE" in dice
    assert "paired with: cross_entropy" in dice
    assert "no probabilistic reading" in _text("margin_ranking_loss")


def test_explain_text_lines_are_wrapped():
    for name in ("cross_entropy", "sigmoid_focal_loss", "huber_loss"):
        assert max(len(line) for line in explain.explain_text(name).splitlines()) <= 100


@needs("cross_entropy")
def test_explain_text_names_the_function_for_registered_losses():
    text = _text("cross_entropy")
    assert "losskit.functional.cross_entropy" in text


def test_explain_text_unknown_name():
    with pytest.raises(KeyError, match="did you mean"):
        explain.explain_text("binary_cross_entropy_logits")


# ---- curves against closed forms ----------------------------------------------------------------


@needs("binary_cross_entropy_with_logits")
def test_bce_gradient_is_sigmoid_minus_y():
    c = explain.loss_curves(["binary_cross_entropy_with_logits", "mse_after_sigmoid"], Z)
    s = torch.sigmoid(Z)
    assert c.names == ["binary_cross_entropy_with_logits", "mse_after_sigmoid"]
    assert torch.equal(c.logits, Z)
    for y in (0, 1):
        assert_close(c.loss["binary_cross_entropy_with_logits"][y], torch.nn.functional.softplus(Z) - y * Z)
        assert_close(c.grad["binary_cross_entropy_with_logits"][y], s - y)
        assert_close(c.loss["mse_after_sigmoid"][y], (s - y) ** 2)
        assert_close(c.grad["mse_after_sigmoid"][y], 2 * (s - y) * s * (1 - s))
    # the point of the picture: confidently wrong (y = 1, z = -8), BCE still pushes, mse-after-sigmoid does not
    assert float(c.grad["binary_cross_entropy_with_logits"][1, 0]) < -0.99
    assert abs(float(c.grad["mse_after_sigmoid"][1, 0])) < 1e-3


def test_mse_after_sigmoid_needs_no_registered_loss():
    c = explain.loss_curves("mse_after_sigmoid", Z)
    assert c.loss["mse_after_sigmoid"].shape == (2, Z.numel())
    assert c.loss["mse_after_sigmoid"].dtype == torch.float64


def test_default_logits_are_401_points_from_minus_8_to_8():
    c = explain.loss_curves(["mse_after_sigmoid"])
    assert torch.equal(c.logits, torch.linspace(-8, 8, 401))


@needs("cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy")
def test_categorical_losses_on_two_class_logits_equal_bce():
    names = ["cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy"]
    c = explain.loss_curves(names, Z)
    s = torch.sigmoid(Z)
    for name in names:
        for y in (0, 1):
            assert_close(c.loss[name][y], torch.nn.functional.softplus(Z) - y * Z, msg=name)
            assert_close(c.grad[name][y], s - y, msg=name)


@needs("mse_loss", "l1_loss", "poisson_nll_loss", "gaussian_nll_loss")
def test_regression_losses_regress_the_logit():
    c = explain.loss_curves(["mse_loss", "l1_loss", "poisson_nll_loss", "gaussian_nll_loss"], Z)
    for y in (0, 1):
        assert_close(c.grad["mse_loss"][y], 2 * (Z - y))
        assert_close(c.grad["l1_loss"][y], torch.sign(Z - y))
        assert_close(c.grad["poisson_nll_loss"][y], torch.exp(Z) - y)
        assert_close(c.loss["gaussian_nll_loss"][y], 0.5 * (Z - y) ** 2)


def test_every_drawable_registered_loss_gives_finite_curves():
    names = explain.curve_names()
    assert names[0] == "mse_after_sigmoid"
    c = explain.loss_curves(names, Z)
    for name in names:
        assert torch.isfinite(c.loss[name]).all(), name
        assert torch.isfinite(c.grad[name]).all(), name
        assert c.grad[name].abs().sum() > 0, name


def test_loss_curves_refuses_bad_input():
    with pytest.raises(ValueError, match="1-D floating-point"):
        explain.loss_curves(["mse_after_sigmoid"], torch.arange(5))
    with pytest.raises(ValueError, match="1-D floating-point"):
        explain.loss_curves(["mse_after_sigmoid"], torch.zeros(2, 3))
    with pytest.raises(KeyError, match="no loss named"):
        explain.loss_curves(["not_a_loss"], Z)
    # a catalog loss whose entry has no curve (a ranking loss on pairs of scores)
    assert catalog.get("margin_ranking_loss").curve is None
    with pytest.raises(ValueError, match="no loss-vs-logit curve"):
        explain.loss_curves(["margin_ranking_loss"], Z)
    assert "margin_ranking_loss" not in explain.curve_names()


# ---- plot ---------------------------------------------------------------------------------------


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    fig = explain.plot_loss_and_gradient(["mse_after_sigmoid"], path=path)
    assert _is_png(path) and path.stat().st_size > 10_000
    ax_loss, ax_grad = fig.axes[:2]
    assert ax_loss.get_xlabel().startswith("logit z") and "dℓ" in ax_grad.get_ylabel()
    assert len(ax_loss.lines) >= 2 and len(ax_grad.lines) >= 2  # y = 0 and y = 1


def test_plot_into_given_axes(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    out = explain.plot_loss_and_gradient("mse_after_sigmoid", ax=axes)
    assert out is fig and len(axes[0].lines) >= 2
    with pytest.raises(TypeError, match="pair of matplotlib Axes"):
        explain.plot_loss_and_gradient(["mse_after_sigmoid"], ax=axes[0])


# ---- the CLI entry ------------------------------------------------------------------------------


def _args(*argv):
    parser = explain.add_arguments(argparse.ArgumentParser(prog="losskit explain"))
    return parser.parse_args(list(argv))


@needs("binary_cross_entropy_with_logits")
def test_run_prints_the_text_and_saves_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bce.png"
    assert explain.run(_args("mse_after_sigmoid", "--out", str(path))) == 0
    out = capsys.readouterr().out
    assert out.startswith("mse_after_sigmoid\n") and "vanishes" in out
    assert f"wrote {path}" in out and "binary_cross_entropy_with_logits" in out.splitlines()[-1]
    assert _is_png(path)


def test_run_with_explicit_comparison_and_without_a_plot(tmp_path, capsys):
    assert explain.run(_args("dice_loss")) == 0
    assert "not a likelihood" in capsys.readouterr().out
    path = tmp_path / "x.png"
    assert explain.run(_args("mse_after_sigmoid", "--out", str(path), "--compare")) == 0
    assert _is_png(path)


def test_run_reports_errors_with_exit_codes(tmp_path, capsys):
    assert explain.run(_args("crossentropy")) == 2
    assert "no loss named 'crossentropy'" in capsys.readouterr().err
    # a loss with no binary-logit curve: text printed, plot refused
    assert explain.run(_args("margin_ranking_loss", "--out", str(tmp_path / "m.png"), "--compare")) == 1
    captured = capsys.readouterr()
    assert "margin_ranking_loss" in captured.out and "no plot" in captured.err
    assert not (tmp_path / "m.png").exists()


@needs("cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits")
def test_default_companions_contrast_the_loss():
    assert explain._default_companions("cross_entropy") == ["mse_after_sigmoid"]
    assert explain._default_companions("l1_loss") == ["mse_loss"]
    assert explain._default_companions("huber_loss") == ["mse_loss", "l1_loss"]
    assert explain._default_companions("mse_after_sigmoid") == ["binary_cross_entropy_with_logits"]
    assert explain._default_companions("binary_cross_entropy_with_logits") == ["mse_after_sigmoid"]


@needs("dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss")
def test_overlap_losses_score_one_pixel_images():
    c = explain.loss_curves(["dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss"], Z)
    s = torch.sigmoid(Z)
    assert_close(c.loss["dice_loss"][1], (1 - s) / (1 + s))
    assert_close(c.grad["dice_loss"][1], -2 * s * (1 - s) / (1 + s) ** 2)
    assert_close(c.loss["jaccard_loss"][1], 1 - s)
    assert_close(c.loss["tversky_loss"][1], c.loss["dice_loss"][1])  # alpha = beta = 1/2
    for name in c.names:  # an image with no foreground gives no gradient
        assert torch.equal(c.grad[name][0], torch.zeros_like(Z)), name
    assert float(c.grad["dice_loss"][1, 0]).__abs__() < 1e-3  # vanishes when confidently wrong


@needs("sigmoid_focal_loss", "focal_loss", "poly1_cross_entropy", "asymmetric_loss")
def test_focal_family_curves_against_closed_forms():
    names = ["sigmoid_focal_loss", "focal_loss", "poly1_cross_entropy", "asymmetric_loss"]
    c = explain.loss_curves(names, Z)
    s = torch.sigmoid(Z)
    for y in (0, 1):
        p_t = s if y == 1 else 1 - s
        bce = torch.nn.functional.softplus(Z) - y * Z
        assert_close(c.loss["sigmoid_focal_loss"][y], (1 - p_t) ** 2 * bce)  # defaults: gamma=2, no alpha
        # d/dz of (1 - p_t)^2 * (-log p_t), with dp_t/dz = ±p_t(1 - p_t)
        sign = 1.0 if y == 1 else -1.0
        grad = sign * (-2 * (1 - p_t) * p_t * (1 - p_t) * bce - (1 - p_t) ** 3)
        assert_close(c.grad["sigmoid_focal_loss"][y], grad)
        # two-class softmax focal loss on logits (0, z) is the sigmoid focal loss on z
        assert_close(c.loss["focal_loss"][y], c.loss["sigmoid_focal_loss"][y])
        assert_close(c.grad["focal_loss"][y], c.grad["sigmoid_focal_loss"][y])
        assert_close(c.loss["poly1_cross_entropy"][y], bce + (1 - p_t))  # default epsilon = 1
    # asymmetric defaults (gamma_pos=0, gamma_neg=4, clip=0.05): BCE on positives, shifted focal on negatives
    p_m = (s - 0.05).clamp_min(0)
    assert_close(c.loss["asymmetric_loss"][1], torch.nn.functional.softplus(Z) - Z)
    assert_close(c.loss["asymmetric_loss"][0], -(p_m**4) * torch.log1p(-p_m))
