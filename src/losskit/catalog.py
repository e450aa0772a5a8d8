"""The catalog: ONE table of every losskit loss and what the rest of losskit knows about it.

Each :class:`Entry` names a loss's function (:mod:`losskit.functional`) and module
(:mod:`losskit.nn`), its family, what it takes (``logits``, ``probs``, ``log_probs`` or
``values``), the torch function it twins, the kernel primitive that can serve it, its likelihood
view (:class:`LossView`, read by :func:`losskit.likelihoods.for_loss` and ``losskit explain``), how
``losskit explain`` draws it against a binary logit, and its rows in the ``losskit compare`` roster.
``losskit list``, ``explain``, the likelihood views and the workbench all read this table; the
guarantees every loss must meet are tested by iterating it.

The table is built when this module is imported, with no other side effect.

>>> from losskit import catalog
>>> catalog.get("focal_loss").family, catalog.get("focal_loss").view.base
('classification', 'cross_entropy')
>>> "dice_loss" in catalog.names("overlap")
True
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import functional as F
from . import nn as N
from .likelihoods import Bernoulli, Categorical, Gaussian, Laplace, Likelihood, Poisson

__all__ = [
    "LossView",
    "Roster",
    "Term",
    "Entry",
    "ENTRIES",
    "get",
    "names",
    "entries",
    "roster",
    "roster_keys",
    "views",
    "select",
    "parse_losses",
    "RosterError",
    "TASKS",
    "FAMILIES",
    "TAKES",
]

FAMILIES = ("classification", "regression", "ranking", "overlap", "divergence")
TAKES = ("logits", "probs", "log_probs", "values")


@dataclass(frozen=True)
class LossView:
    """How one loss relates to a likelihood.

    Attributes:
        name: the loss (a catalog name).
        formula: the per-element (or per-image) loss in plain text.
        distribution: the distribution whose NLL the loss is (or is built on), e.g. ``"Bernoulli"``;
            ``None`` for losses with no likelihood behind them (margin and overlap losses).
        link: the map from the model's output to that distribution's parameters.
        inference: the decision rule used at inference.
        dropped_constants: what the loss drops or rescales from the true NLL (``"none"`` if exact).
        is_likelihood: ``True`` if minimising the loss is maximum likelihood (possibly up to a
            constant and a positive scale); ``False`` for reweighted, regularised or overlap losses.
        base: for the other losses, the likelihood loss they are built on (e.g. ``"cross_entropy"``).
        adds: what they add or change on top of ``base``.
        likelihood: a :class:`losskit.likelihoods.Likelihood` for the distribution, where losskit has one.
        notes: anything else worth knowing (options that change the picture, calibration).
    """

    name: str
    formula: str
    distribution: str | None
    link: str | None
    inference: str
    dropped_constants: str
    is_likelihood: bool
    base: str | None = None
    adds: str | None = None
    likelihood: Likelihood | None = None
    notes: str = ""


# ---------------------------------------------------------------------------------------------
# The likelihood view of each loss
# ---------------------------------------------------------------------------------------------

_MARGIN = "not a likelihood: a margin (hinge) penalty, zero once the margin is met; it has no probabilistic reading"
_PER_PIXEL = "σ(z) ≥ 0.5 per pixel, or argmax over classes"


def _nll(name: str, *, dropped_constants: str = "none (exact NLL)", **kw) -> LossView:
    """The view of a likelihood's negative log-likelihood (exact unless ``dropped_constants`` says otherwise)."""
    return LossView(name=name, dropped_constants=dropped_constants, is_likelihood=True, **kw)


def _built_on(name: str, base: str, adds: str, *, dropped_constants: str = "none", **kw) -> LossView:
    """The view of a loss that reweights, transforms or adds to the likelihood loss ``base``."""
    return LossView(name=name, dropped_constants=dropped_constants, is_likelihood=False, base=base, adds=adds, **kw)


def _overlap(
    name: str,
    formula: str,
    adds: str,
    *,
    base: str = "cross_entropy (or binary_cross_entropy_with_logits)",
    link: str | None = "sigmoid or softmax",
    inference: str = _PER_PIXEL,
) -> LossView:
    """The view of an overlap measure: no distribution behind it, usually added to ``base``."""
    return _built_on(
        name, base, adds, formula=formula, distribution=None, link=link, inference=inference, dropped_constants="n/a"
    )


def _margin(name: str, formula: str, inference: str, also: str = "") -> LossView:
    """The view of a margin (hinge) loss: no distribution, no link; ``also`` is appended to :data:`_MARGIN`."""
    return LossView(name, formula, None, None, inference, "n/a", False, adds=_MARGIN + also)


_VIEWS: dict[str, LossView] = {
    v.name: v
    for v in [
        # ---- likelihoods: classification ------------------------------------------------------
        _nll(
            "binary_cross_entropy_with_logits",
            formula="ℓ = −[y·log σ(z) + (1−y)·log σ(−z)] = softplus(z) − y·z",
            distribution="Bernoulli",
            link="sigmoid",
            inference="σ(z) ≥ 0.5, i.e. z ≥ 0 (tune the threshold for other costs)",
            likelihood=Bernoulli(),
            notes="pos_weight multiplies the y=1 term (a reweighted likelihood); label_smoothing=ε fits the "
            "Bernoulli to the soft target y(1−ε)+ε/2; soft targets in [0, 1] are cross-entropies.",
        ),
        _nll(
            "binary_cross_entropy",
            formula="ℓ = −[y·log p + (1−y)·log(1−p)], p = σ(z) applied by the model",
            distribution="Bernoulli",
            link="sigmoid (applied by the model: input is p)",
            inference="p ≥ 0.5",
            dropped_constants="none (exact NLL); log p is clamped at −100 as in torch",
            likelihood=Bernoulli(),
            notes="Prefer binary_cross_entropy_with_logits: log σ(z) computed from the logit is exact, "
            "log(σ(z)) after rounding p to 1 is not.",
        ),
        _nll(
            "cross_entropy",
            formula="ℓ = −log softmax(z)_y = logsumexp(z) − z_y",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes",
            likelihood=Categorical(),
            notes="weight=w makes a weighted likelihood (mean = Σ w_y ℓ / Σ w_y); label_smoothing=ε is "
            "CE against the mixed target (1−ε)·onehot(y) + ε/K; probability targets give CE(t, p).",
        ),
        _nll(
            "nll_loss",
            formula="ℓ = −log p_y, input = log p (log_softmax applied by the model)",
            distribution="Categorical",
            link="log_softmax (applied by the model: input is log p)",
            inference="argmax over classes",
            likelihood=Categorical(),
            notes="nll_loss(log_softmax(z), y) == cross_entropy(z, y).",
        ),
        _nll(
            "kl_div",
            formula="ℓ = Σ_k t_k·(log t_k − log p_k), input = log p",
            distribution="Categorical",
            link="log_softmax (applied by the model: input is log p)",
            inference="argmax over classes",
            dropped_constants="the target's entropy H(t): kl_div = CE(t, p) − H(t), and H(t) does not depend on the model",
            likelihood=Categorical(),
            notes="Use reduction='batchmean' for the true KL per example (torch's 'mean' divides by every element).",
        ),
        _built_on(
            "generalized_cross_entropy",
            "cross_entropy",
            "the negative Box-Cox transform (1 − L^q)/q of the likelihood L = p_y: its gradient is p_y^q times "
            "cross-entropy's, so examples the model finds unlikely (often mislabelled) count less; q → 0 gives "
            "cross_entropy, q = 1 the bounded mean absolute error 1 − p_y",
            formula="ℓ = (1 − p_y^q)/q, p = softmax(z), q ∈ (0, 1]",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes",
            likelihood=Categorical(),
        ),
        _nll(
            "linear_cross_entropy",
            formula="ℓ = logsumexp(h·Wᵀ) − (h·Wᵀ)_y, computed without storing the logits",
            distribution="Categorical",
            link="softmax of h·Wᵀ (+ b)",
            inference="argmax over classes",
            likelihood=Categorical(),
            notes="The same likelihood as cross_entropy on the logits h·Wᵀ; only the memory use differs.",
        ),
        _nll(
            "soft_margin_loss",
            formula="ℓ = log(1 + exp(−y·z)), y ∈ {−1, +1}",
            distribution="Bernoulli",
            link="sigmoid",
            inference="sign(z)",
            likelihood=Bernoulli(),
            notes="binary_cross_entropy_with_logits with targets coded ±1 instead of 0/1.",
        ),
        _nll(
            "multilabel_soft_margin_loss",
            formula="ℓ = −(1/C)·Σ_c [y_c·log σ(z_c) + (1−y_c)·log σ(−z_c)]",
            distribution="Bernoulli (one per label)",
            link="sigmoid",
            inference="σ(z_c) ≥ 0.5 per label",
            dropped_constants="none; the NLL is divided by the number of labels C",
            likelihood=Bernoulli(),
        ),
        # ---- likelihoods: regression ------------------------------------------------------------
        _nll(
            "mse_loss",
            formula="ℓ = (x − y)²",
            distribution="Gaussian (fixed σ)",
            link="identity",
            inference="the mean",
            dropped_constants="NLL = (x−y)²/(2σ²) + log σ + ½·log 2π: mse is 2σ²·(NLL − log σ − ½·log 2π)",
            likelihood=Gaussian(1.0),
        ),
        _nll(
            "l1_loss",
            formula="ℓ = |x − y|",
            distribution="Laplace (fixed b)",
            link="identity",
            inference="the median",
            dropped_constants="NLL = |x−y|/b + log 2b: l1 is b·(NLL − log 2b)",
            likelihood=Laplace(1.0),
        ),
        _nll(
            "huber_loss",
            formula="ℓ = ½r² if |r| ≤ δ else δ·(|r| − ½δ), r = x − y",
            distribution="Huber density ∝ exp(−ℓ): a Gaussian centre with Laplace tails",
            link="identity",
            inference="the location (an M-estimate between the mean and the median)",
            dropped_constants="the log-normaliser log Z(δ), Z = √(2π)·erf(δ/√2) + (2/δ)·exp(−δ²/2)",
            notes="Quadratic (Gaussian) for residuals up to δ, linear (Laplace) beyond: "
            "robust to outliers; δ → ∞ gives ½·mse, δ → 0 gives δ·l1.",
        ),
        _nll(
            "smooth_l1_loss",
            formula="ℓ = ½r²/β if |r| < β else |r| − ½β, r = x − y  (= huber_loss(δ=β)/β)",
            distribution="Huber density ∝ exp(−ℓ): a Gaussian centre with Laplace tails",
            link="identity",
            inference="the location (an M-estimate between the mean and the median)",
            dropped_constants="the log-normaliser, and the factor β relative to huber_loss",
            notes="β → 0 gives l1_loss.",
        ),
        _nll(
            "gaussian_nll_loss",
            formula="ℓ = ½·(log v + (x − y)²/v) [+ ½·log 2π if full=True]",
            distribution="Gaussian (predicted variance)",
            link="identity for the mean; v > 0 from the model (softplus/exp)",
            inference="the mean (the variance gives its uncertainty)",
            dropped_constants="½·log 2π unless full=True; v is clamped at eps",
            likelihood=Gaussian(None),
        ),
        _nll(
            "log_cosh_loss",
            formula="ℓ = log cosh(x − y) = r + softplus(−2r) − log 2, r = x − y",
            distribution="hyperbolic secant, density sech(r)/π",
            link="identity",
            inference="the location (an M-estimate between the mean and the median)",
            dropped_constants="log π",
            notes="≈ r²/2 near 0 and |r| − log 2 far out; gradient tanh(r), smooth everywhere (Huber without δ).",
        ),
        _nll(
            "generalized_kl_divergence",
            formula="ℓ = t·log(t/x) − t + x (log_input: t·(log t − z) − t + exp(z))",
            distribution="Poisson (rate x, counts t)",
            link="identity (exp with log_input=True)",
            inference="the measure x (the Poisson mean)",
            dropped_constants="t·log t − t − log t! (a constant of the target): ℓ = Poisson NLL + that constant",
            likelihood=Poisson(),
            notes="Equals KL(t ‖ x) when both sum to 1; for unnormalised measures adds Σx − Σt. "
            "Use reduction='batchmean' for the divergence per sample.",
        ),
        _built_on(
            "jsd_cross_entropy",
            "cross_entropy",
            "α × the Jensen-Shannon divergence of the S views' predictions (augmentation consistency, AugMix)",
            formula="ℓ = CE_ε(z⁽⁰⁾, y) + α·(1/S)·Σ_s KL(p⁽ˢ⁾ ‖ M), M = (1/S)·Σ_s p⁽ˢ⁾, p⁽ˢ⁾ = softmax(z⁽ˢ⁾)",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes of the clean view",
            likelihood=Categorical(),
            notes="timm's JsdCrossEntropy: num_splits=3, alpha=12, label_smoothing=0.1.",
        ),
        _nll(
            "poisson_nll_loss",
            formula="ℓ = exp(z) − y·z (log_input=True; λ − y·log(λ + eps) with log_input=False)",
            distribution="Poisson",
            link="exp (log_input=True)",
            inference="the rate λ = exp(z) (the mean)",
            dropped_constants="log y! (full=True adds Stirling's approximation y·log y − y + ½·log(2πy) for y > 1)",
            likelihood=Poisson(),
        ),
        # ---- built on a likelihood -------------------------------------------------------------
        _built_on(
            "sigmoid_focal_loss",
            "binary_cross_entropy_with_logits",
            "reweights each Bernoulli NLL term by (1 − p_t)^γ (down-weights easy, well-classified examples) "
            "and by α_t (α for positives, 1 − α for negatives); γ = 0 and no α give BCE",
            formula="ℓ = −α_t·(1 − p_t)^γ·log p_t, p_t = σ(z) if y = 1 else 1 − σ(z)",
            distribution="Bernoulli",
            link="sigmoid",
            inference="σ(z) ≥ threshold (tune it: focal probabilities are not calibrated)",
            likelihood=Bernoulli(),
        ),
        _built_on(
            "binary_focal_loss",
            "binary_cross_entropy",
            "sigmoid_focal_loss's reweighting on probabilities; γ = 0 and no α give binary_cross_entropy",
            formula="ℓ = −α_t·(1 − p_t)^γ·log p_t, p_t = p if y = 1 else 1 − p (p given by the model)",
            distribution="Bernoulli",
            link="none (input is p)",
            inference="p ≥ threshold (tune it: not calibrated)",
            dropped_constants="none; log p clamped at −100 as in torch's BCE",
            likelihood=Bernoulli(),
        ),
        _built_on(
            "focal_loss",
            "cross_entropy",
            "reweights each Categorical NLL term by (1 − p_y)^γ (down-weights easy examples), and by a "
            "per-class α_y; γ = 0 gives cross_entropy",
            formula="ℓ = −α_y·(1 − p_y)^γ·log p_y, p = softmax(z)",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes",
            likelihood=Categorical(),
        ),
        _built_on(
            "poly1_cross_entropy",
            "cross_entropy",
            "ε·(1 − p_y): raises the weight of the first term of −log p_y = Σ_j (1 − p_y)^j / j "
            "(ε > 0 steeper near p_y = 1, ε = −1 drops it); ε = 0 gives cross_entropy",
            formula="ℓ = −log p_y + ε·(1 − p_y), p = softmax(z)",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes",
            likelihood=Categorical(),
        ),
        _built_on(
            "asymmetric_loss",
            "binary_cross_entropy_with_logits",
            "focal reweighting with separate exponents for positives (γ₊) and negatives (γ₋ > γ₊), and a "
            "probability shift m that zeroes the loss of easy negatives (p < m); γ₊ = γ₋ = m = 0 gives BCE",
            formula="ℓ = −y·(1 − p)^γ₊·log p − (1 − y)·p_m^γ₋·log(1 − p_m), p = σ(z), p_m = max(p − m, 0)",
            distribution="Bernoulli (one per label)",
            link="sigmoid",
            inference="σ(z) ≥ threshold per label (tune it)",
            likelihood=Bernoulli(),
        ),
        _built_on(
            "asymmetric_single_label_loss",
            "cross_entropy",
            "focuses the labelled class by (1 − p_y)^γ₊ and every other class's (smoothing) term by p_c^γ₋ "
            "(timm's AsymmetricLossSingleLabel); γ₊ = γ₋ = 0 gives cross_entropy",
            formula="ℓ = Σ_c q'_c·m_c·(−log p_c), m_y = (1 − p_y)^γ₊, m_c = p_c^γ₋ (c ≠ y), p = softmax(z)",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes",
            likelihood=Categorical(),
        ),
        _built_on(
            "poly1_sigmoid_focal_loss",
            "sigmoid_focal_loss",
            "ε·(1 − p_t)^(γ+1) on top of the focal-reweighted Bernoulli NLL: the leading term of the focal "
            "loss's expansion in (1 − p_t), reweighted; ε = 0 gives sigmoid_focal_loss",
            formula="ℓ = −α_t·(1 − p_t)^γ·log p_t + ε·(1 − p_t)^(γ+1), p_t = σ(z) if y = 1 else 1 − σ(z)",
            distribution="Bernoulli",
            link="sigmoid",
            inference="σ(z) ≥ threshold (tune it: not calibrated)",
            likelihood=Bernoulli(),
        ),
        _built_on(
            "poly1_focal_loss",
            "focal_loss",
            "ε·(1 − p_y)^(γ+1) on top of the focal-reweighted Categorical NLL; ε = 0 gives focal_loss, "
            "γ = 0 gives poly1_cross_entropy",
            formula="ℓ = −α_y·(1 − p_y)^γ·log p_y + ε·(1 − p_y)^(γ+1), p = softmax(z)",
            distribution="Categorical",
            link="softmax",
            inference="argmax over classes",
            likelihood=Categorical(),
        ),
        # ---- overlap measures ------------------------------------------------------------------
        _overlap(
            "dice_loss",
            "ℓ = 1 − (2·Σ p·y + s) / (Σ p + Σ y + s), sums over the pixels of an image (per class)",
            "a soft F1 (Dice) overlap measure over a whole image, not a likelihood: it does not decompose "
            "over pixels and is insensitive to class imbalance; usually added to CE/BCE (dice + CE)",
        ),
        _overlap(
            "tversky_loss",
            "ℓ = 1 − (TP + s) / (TP + α·FP + β·FN + s), TP = Σ p·y, FP = Σ p·(1−y), FN = Σ (1−p)·y",
            "a soft Tversky index over a whole image, not a likelihood: α and β trade false positives "
            "against false negatives (α = β = ½ is Dice, α = β = 1 is Jaccard); usually added to CE",
        ),
        _overlap(
            "focal_tversky_loss",
            "ℓ = (1 − TI)^γ, TI = (TP + s) / (TP + α·FP + β·FN + s)",
            "raises the Tversky loss to the power γ (γ < 1 keeps a strong gradient near a perfect overlap, "
            "γ > 1 down-weights well-segmented classes); not a likelihood; usually added to CE",
            base="tversky_loss",
        ),
        _overlap(
            "jaccard_loss",
            "ℓ = 1 − (Σ p·y + s) / (Σ p + Σ y − Σ p·y + s)",
            "a soft IoU (Jaccard) overlap measure over a whole image, not a likelihood; usually added to CE",
        ),
        _overlap(
            "generalized_dice_loss",
            "ℓ = 1 − (2·Σ_c w_c·Σ p·y + s) / (Σ_c w_c·(Σ p + Σ y) + s), w_c = 1/(Σ y_c)² (or 1/Σ y_c, or 1)",
            "one soft Dice ratio over all classes with each class's counts weighted by its inverse (squared) "
            "target volume (Sudre et al. 2017), not a likelihood: small structures count as much as large "
            "ones; usually added to CE or a focal loss",
        ),
        _overlap(
            "lovasz_hinge_loss",
            "ℓ = Σ_k relu(1 − z·s)_(k) · g_k, errors sorted decreasing, g the Lovász gradient of the Jaccard loss",
            "the Lovász extension of the Jaccard (IoU) loss on hinge errors (Berman et al. 2018): a convex "
            "surrogate of the IoU of the thresholded prediction, not a likelihood",
            link=None,
            inference="z > 0 per pixel",
            base="binary_cross_entropy_with_logits",
        ),
        _overlap(
            "lovasz_softmax_loss",
            "ℓ = mean_c Σ_k |y_c − p_c|_(k) · g_ck, p = softmax(z), errors sorted decreasing per class",
            "the Lovász extension of each class's Jaccard loss on softmax errors (Berman et al. 2018): a "
            "surrogate of the mean IoU, not a likelihood; usually added to CE or used to fine-tune",
            link="softmax",
            inference="argmax over classes",
            base="cross_entropy",
        ),
        _overlap(
            "mcc_loss",
            "ℓ = 1 − (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)), soft counts over the batch",
            "the Matthews correlation of soft counts (true negatives included, unlike Dice), not a "
            "likelihood; usually added to BCE",
            base="binary_cross_entropy_with_logits",
        ),
        # ---- margin losses ---------------------------------------------------------------------
        _margin("hinge_embedding_loss", "ℓ = x if y = 1 else max(0, margin − x)", "threshold on the distance x"),
        _margin("margin_ranking_loss", "ℓ = max(0, −y·(x₁ − x₂) + margin)", "rank by score"),
        _margin(
            "multi_margin_loss",
            "ℓ = Σ_{k≠y} max(0, margin − z_y + z_k)^p / C",
            "argmax over classes",
            " (the multi-class SVM hinge; compare cross_entropy, its smooth likelihood counterpart)",
        ),
        _margin("multilabel_margin_loss", "ℓ = Σ_{j∈Y, k∉Y} max(0, 1 − (z_j − z_k)) / C", "the top-scoring labels"),
        _margin("triplet_margin_loss", "ℓ = max(d(a, p) − d(a, n) + margin, 0)", "nearest neighbour in the embedding"),
        _margin(
            "triplet_margin_with_distance_loss",
            "ℓ = max(d(a, p) − d(a, n) + margin, 0), d user-given",
            "nearest neighbour in the embedding",
        ),
        _margin(
            "cosine_embedding_loss",
            "ℓ = 1 − cos(x₁, x₂) if y = 1 else max(0, cos(x₁, x₂) − margin)",
            "threshold on the cosine similarity",
        ),
        _margin(
            "hinge_loss",
            "ℓ = max(0, margin − y·z), y ∈ {−1, +1} (labels='01': y = 2t − 1)",
            "sign(z)",
            " (the linear SVM's loss; compare soft_margin_loss, its logistic likelihood counterpart)",
        ),
        _margin(
            "squared_hinge_loss",
            "ℓ = max(0, margin − y·z)², y ∈ {−1, +1} (labels='01': y = 2t − 1)",
            "sign(z)",
            " (the L2-SVM loss: differentiable, quadratic inside the margin)",
        ),
        _margin(
            "categorical_hinge_loss",
            "ℓ = max(0, margin + max_{j≠y} z_j − z_y)",
            "argmax over classes",
            " (the Crammer-Singer multi-class SVM hinge; compare cross_entropy, which replaces the max by a logsumexp)",
        ),
        # ---- not a catalog loss: shown next to BCE in plots -----------------------------------
        _built_on(
            "mse_after_sigmoid",
            "binary_cross_entropy_with_logits",
            "replaces the Bernoulli NLL by a squared error on σ(z): the gradient 2(σ−y)·σ(1−σ) vanishes "
            "when the model is confidently wrong, where BCE's gradient σ − y is largest",
            formula="ℓ = (σ(z) − y)²",
            distribution="Gaussian on the probability (a mis-specified model for a 0/1 target)",
            link="sigmoid",
            inference="σ(z) ≥ 0.5",
            dropped_constants="as mse_loss",
        ),
    ]
}


# ---------------------------------------------------------------------------------------------
# The workbench roster: configured losses that ``losskit compare`` trains, per task
# ---------------------------------------------------------------------------------------------

CB_BETA = 0.999  # class-balanced "effective number" beta (Cui et al., 2019)
FOCAL_GAMMA = 2.0
SMOOTHING = 0.1
POLY_EPSILON = 1.0
HUBER_DELTA = 1.0  # on the standardised target: quadratic within one training standard deviation
TVERSKY_ALPHA, TVERSKY_BETA = 0.3, 0.7  # false negatives cost more than false positives (Salehi et al., 2017)

#: the task kinds of ``losskit compare``, in report order
TASKS = ("binary", "multiclass", "multilabel", "regression", "segmentation")


def _class_balanced(counts: torch.Tensor) -> torch.Tensor:
    return F.class_balanced_weights(counts, beta=CB_BETA)  # (1-beta)/(1-beta^n_c), summing to the number of classes


def _pos_weight(counts: torch.Tensor) -> dict:
    return {"pos_weight": (counts[0] / counts[1]).to(torch.float32).reshape(1)}


def _label_pos_weight(counts: torch.Tensor) -> dict:
    # multi-label counts are (2, L): negatives and positives of each label; a label with no positive gets weight 1
    pos = counts[1].double()
    return {"pos_weight": torch.where(pos > 0, counts[0] / pos.clamp_min(1), 1.0).to(torch.float32)}


def _inverse_frequency(counts: torch.Tensor) -> dict:
    return {"weight": (counts.sum() / (len(counts) * counts.double())).to(torch.float32)}


def _no_options(counts: torch.Tensor) -> dict:
    return {}


def _fixed(**options) -> Callable[[torch.Tensor], dict]:
    """Options that do not depend on the training counts."""
    return lambda counts: dict(options)


@dataclass(frozen=True)
class Term:
    """A further loss added to a roster row's own loss: ``weight * loss(input, target, **options(counts))``."""

    loss: str
    weight: float = 1.0
    options: Callable[[torch.Tensor], dict] = _no_options


@dataclass(frozen=True)
class Roster:
    """One configured loss of the workbench (a row of ``losskit compare``).

    Attributes:
        task: one of :data:`TASKS`: ``"binary"`` (one logit, float 0/1 target), ``"multiclass"``
            (K logits, class indices), ``"multilabel"`` (L logits, float 0/1 targets ``(N, L)``),
            ``"regression"`` (one output, a float target), ``"segmentation"`` (``(N, K, H, W)``
            logits, ``(N, H, W)`` class-index masks).
        key: the name used with ``--losses``.
        display: the name shown in tables and plots.
        options: ``options(counts) -> kwargs`` for the loss, from the training counts (class counts;
            ``(2, L)`` negatives/positives per label for multi-label; ``(K,)`` pixel counts for
            segmentation; the number of rows for regression).
        sample_weights: ``sample_weights(counts) -> (K,)`` per-class weights multiplying each
            sample's unreduced loss (then a plain mean), or ``None``.
        note: one line for the report.
        default: run when ``--losses`` is not given.
        order: position of the row in its task's table (the baseline first).
        loss: the catalog name (filled in from the entry that holds the row).
        also: further losses added to this one (a combination such as CE + Dice), each a :class:`Term`.
        variance: regression only: the model has a second output, and ``softplus`` of it is the
            predicted variance passed to the loss (``gaussian_nll_loss(mean, target, var)``).
        overrides: ``(name, value)`` options set with ``--losses`` (``focal:gamma=1``), applied over
            ``options(counts)``.
    """

    task: str
    key: str
    display: str
    options: Callable[[torch.Tensor], dict] = _no_options
    sample_weights: Callable[[torch.Tensor], torch.Tensor] | None = None
    note: str = ""
    default: bool = True
    order: int = 0
    loss: str = ""
    also: tuple = ()
    variance: bool = False
    overrides: tuple = ()

    def kwargs(self, counts: torch.Tensor) -> dict:
        """The loss's keyword options for these training counts, ``--losses`` overrides applied."""
        return {**self.options(counts), **dict(self.overrides)}


def _weighted(task: str, key: str, display: str, options: Callable, note: str, *, default: bool = False) -> Roster:
    """The reweighted row ``weighted-<key>`` of the baseline ``key`` (second in its table): weights from the
    training counts."""
    return Roster(task, f"weighted-{key}", f"weighted {display}", options, default=default, note=note, order=1)


def _focal(task: str, note: str, *, order: int) -> Roster:
    """The focal row of a task: gamma = FOCAL_GAMMA, no alpha."""
    return Roster(task, "focal", "focal", _fixed(gamma=FOCAL_GAMMA), note=note, order=order)


def _class_balanced_focal(task: str, note: str, *, default: bool = True) -> Roster:
    """Focal (gamma = FOCAL_GAMMA) times class-balanced sample weights (beta = CB_BETA)."""
    gamma = _fixed(gamma=FOCAL_GAMMA)
    return Roster(task, "cb-focal", "class-balanced focal", gamma, _class_balanced, note=note, default=default, order=3)


def _smoothed(task: str, key: str, display: str, note: str) -> Roster:
    """The label-smoothed row ``smooth-<key>`` of the baseline ``key``: label_smoothing = SMOOTHING."""
    options = _fixed(label_smoothing=SMOOTHING)
    return Roster(task, f"smooth-{key}", f"label-smoothed {display}", options, note=note, order=5)


@dataclass(frozen=True)
class Entry:
    """What losskit knows about one loss.

    Attributes:
        name: the catalog key, equal to the functional's name.
        functional: the function in :mod:`losskit.functional`.
        module: the ``nn.Module`` in :mod:`losskit.nn`.
        family: one of :data:`FAMILIES`.
        takes: what the first argument is: one of :data:`TAKES`.
        summary: one line for listings.
        view: the likelihood view.
        curve: how ``losskit explain`` draws the loss against a binary logit ``z``: ``"logits"``
            (the loss of ``z``), ``"probs"`` (of ``sigmoid(z)``), ``"two_class"`` (class logits
            ``(0, z)``), ``"two_class_log_probs"`` (``log_softmax`` of them), ``"overlap"``
            (``z`` as a one-pixel image), a callable ``curve(functional, z, y)``, or ``None``.
        torch_twin: the ``torch.nn.functional`` name it reproduces exactly, if any.
        kernel: the kernel primitive (:mod:`losskit.kernels`) that can serve it, if any.
        reductions: the reductions it accepts.
        roster: its rows in the ``losskit compare`` roster.
    """

    name: str
    functional: Callable
    module: type
    family: str
    takes: str
    summary: str
    view: LossView
    curve: str | Callable | None = None
    torch_twin: str | None = None
    kernel: str | None = None
    reductions: tuple = ("none", "mean", "sum")
    roster: tuple = field(default_factory=tuple)


def _full(z, y):
    return torch.full_like(z, float(y))


def _entry(name: str, module: type, family: str, takes: str, summary: str, *, twin: bool = False, **kw) -> Entry:
    """The entry of loss ``name``; ``twin``: it reproduces the ``torch.nn.functional`` function of the same name."""
    rows = tuple(Roster(**{**r.__dict__, "loss": name}) for r in kw.pop("roster", ()))
    torch_twin = name if twin else None
    return Entry(
        name, getattr(F, name), module, family, takes, summary, _VIEWS[name], torch_twin=torch_twin, roster=rows, **kw
    )


ENTRIES: tuple[Entry, ...] = (
    # ---- cross-entropy: Categorical NLL ---------------------------------------------------------
    _entry(
        "cross_entropy",
        N.CrossEntropyLoss,
        "classification",
        "logits",
        "softmax cross-entropy (Categorical NLL): weight, ignore_index, label smoothing, probability targets",
        curve="two_class",
        twin=True,
        kernel="cross_entropy_rows",
        roster=(
            Roster("multiclass", "ce", "CE", note="categorical negative log-likelihood: the baseline", order=0),
            _weighted("multiclass", "ce", "CE", _inverse_frequency, "class weights n / (K n_c) (inverse frequency)"),
            _smoothed("multiclass", "ce", "CE", f"label_smoothing={SMOOTHING:g}"),
            Roster(
                "segmentation", "ce", "CE", note="per-pixel categorical negative log-likelihood: the baseline", order=0
            ),
            _weighted(
                "segmentation",
                "ce",
                "CE",
                _inverse_frequency,
                "per-pixel CE with class weights n / (K n_c) from the training pixel counts",
            ),
        ),
    ),
    _entry(
        "nll_loss",
        N.NLLLoss,
        "classification",
        "log_probs",
        "Categorical NLL of class indices given log-probabilities",
        curve="two_class_log_probs",
        twin=True,
    ),
    _entry(
        "generalized_cross_entropy",
        N.GeneralizedCrossEntropyLoss,
        "classification",
        "logits",
        "noise-robust generalized cross-entropy (1 - p_y^q)/q: q -> 0 is CE, q = 1 is MAE (Zhang & Sabuncu 2018)",
        curve="two_class",
    ),
    _entry(
        "linear_cross_entropy",
        N.LinearCrossEntropyLoss,
        "classification",
        "values",
        "Categorical NLL of a linear projection, chunked: the (tokens x classes) logits never exist",
        twin=True,
        kernel="linear_cross_entropy_chunk",
    ),
    # ---- binary: Bernoulli NLL -----------------------------------------------------------------
    _entry(
        "binary_cross_entropy_with_logits",
        N.BCEWithLogitsLoss,
        "classification",
        "logits",
        "sigmoid binary cross-entropy (Bernoulli NLL): pos_weight, label smoothing",
        curve="logits",
        twin=True,
        kernel="sigmoid_focal_rows",
        roster=(
            Roster("binary", "bce", "BCE", note="Bernoulli negative log-likelihood: the baseline", order=0),
            _weighted(
                "binary",
                "bce",
                "BCE",
                _pos_weight,
                "positives weighted by n_neg/n_pos (pos_weight): balances the classes, shifts probabilities up",
                default=True,
            ),
            _smoothed(
                "binary",
                "bce",
                "BCE",
                f"targets pulled to {SMOOTHING / 2:g} / {1 - SMOOTHING / 2:g} (label_smoothing={SMOOTHING:g})",
            ),
            Roster("multilabel", "bce", "BCE", note="one Bernoulli negative log-likelihood per label: the baseline"),
            _weighted(
                "multilabel",
                "bce",
                "BCE",
                _label_pos_weight,
                "each label's positives weighted by its n_neg/n_pos (pos_weight per label)",
            ),
        ),
    ),
    _entry(
        "binary_cross_entropy",
        N.BCELoss,
        "classification",
        "probs",
        "binary cross-entropy on probabilities (Bernoulli NLL, no link)",
        curve="probs",
        twin=True,
    ),
    # ---- focal and Poly-1: reweighted NLLs ----------------------------------------------------------
    _entry(
        "sigmoid_focal_loss",
        N.SigmoidFocalLoss,
        "classification",
        "logits",
        "Bernoulli NLL reweighted by (1-p_t)^gamma and alpha_t (Lin et al. 2017)",
        curve="logits",
        kernel="sigmoid_focal_rows",
        roster=(
            _focal(
                "binary", f"sigmoid focal loss, gamma={FOCAL_GAMMA:g}, no alpha: down-weights easy examples", order=2
            ),
            _class_balanced_focal(
                "binary", f"focal (gamma={FOCAL_GAMMA:g}) x class-balanced weights, beta={CB_BETA} (Cui et al., 2019)"
            ),
            _focal("multilabel", f"sigmoid focal loss per label, gamma={FOCAL_GAMMA:g}, no alpha", order=3),
        ),
    ),
    _entry(
        "binary_focal_loss",
        N.BinaryFocalLoss,
        "classification",
        "probs",
        "focal loss on probabilities (Bernoulli NLL without a link, reweighted by (1-p_t)^gamma and alpha_t)",
        curve="probs",
    ),
    _entry(
        "focal_loss",
        N.FocalLoss,
        "classification",
        "logits",
        "Categorical NLL reweighted by (1-p_c)^gamma and alpha_c (softmax focal loss)",
        curve="two_class",
        roster=(
            _focal("multiclass", f"softmax focal loss, gamma={FOCAL_GAMMA:g}", order=2),
            _class_balanced_focal(
                "multiclass", f"focal (gamma={FOCAL_GAMMA:g}) x class-balanced weights, beta={CB_BETA}", default=False
            ),
            _focal(
                "segmentation",
                f"per-pixel softmax focal loss, gamma={FOCAL_GAMMA:g}: easy (background) pixels go quiet",
                order=4,
            ),
        ),
    ),
    _entry(
        "asymmetric_loss",
        N.AsymmetricLoss,
        "classification",
        "logits",
        "multi-label Bernoulli NLL with asymmetric focusing and negative shifting (ASL)",
        curve="logits",
        roster=(
            Roster(
                "multilabel",
                "asymmetric",
                "asymmetric",
                note="ASL (Ridnik et al., 2021) with its defaults: "
                "gamma_pos=0, gamma_neg=4, clip=0.05: easy negatives go quiet",
                order=2,
            ),
        ),
    ),
    _entry(
        "asymmetric_single_label_loss",
        N.AsymmetricSingleLabelLoss,
        "classification",
        "logits",
        "softmax cross-entropy with asymmetric focusing of the labelled and the other classes (timm's single-label ASL)",
        curve="two_class",
    ),
    _entry(
        "poly1_cross_entropy",
        N.Poly1CrossEntropyLoss,
        "classification",
        "logits",
        "cross-entropy + epsilon (1-p_t) (PolyLoss, Leng et al. 2022)",
        curve="two_class",
        roster=(
            Roster(
                "multiclass",
                "poly1",
                "poly-1",
                _fixed(epsilon=POLY_EPSILON),
                note=f"CE + epsilon*(1 - p_t), epsilon={POLY_EPSILON:g}",
                order=4,
            ),
        ),
    ),
    _entry(
        "poly1_focal_loss",
        N.Poly1FocalLoss,
        "classification",
        "logits",
        "softmax focal loss + epsilon (1-p_t)^(gamma+1) (PolyLoss)",
        curve="two_class",
    ),
    _entry(
        "poly1_sigmoid_focal_loss",
        N.Poly1SigmoidFocalLoss,
        "classification",
        "logits",
        "sigmoid focal loss + epsilon (1-p_t)^(gamma+1) (PolyLoss, Leng et al. 2022)",
        curve="logits",
        roster=(
            Roster(
                "binary",
                "poly1",
                "poly-1",
                _fixed(epsilon=POLY_EPSILON, gamma=0.0),
                note=f"BCE + epsilon*(1 - p_t), epsilon={POLY_EPSILON:g} (Leng et al., 2022; poly-1 focal "
                "with gamma=0)",
                order=4,
            ),
        ),
    ),
    # ---- segmentation: overlap measures -------------------------------------------------------------
    _entry(
        "dice_loss",
        N.DiceLoss,
        "overlap",
        "logits",
        "soft Dice (F1 on soft counts) for binary/multiclass/multilabel segmentation",
        curve="overlap",
        kernel="soft_counts",
        roster=(
            Roster(
                "segmentation",
                "dice",
                "Dice",
                note="soft Dice over the batch, every class (background included) weighted alike: not a likelihood",
                order=2,
            ),
            Roster(
                "segmentation",
                "ce+dice",
                "CE + Dice",
                also=(Term("cross_entropy"),),
                note="cross-entropy plus soft Dice, weights 1 and 1: per-pixel likelihood and overlap",
                order=3,
            ),
        ),
    ),
    _entry(
        "jaccard_loss",
        N.JaccardLoss,
        "overlap",
        "logits",
        "soft Jaccard / IoU (Tanimoto) loss",
        curve="overlap",
        kernel="soft_counts",
    ),
    _entry(
        "tversky_loss",
        N.TverskyLoss,
        "overlap",
        "logits",
        "Tversky index loss: Dice with separate false-positive / false-negative weights",
        curve="overlap",
        kernel="soft_counts",
        roster=(
            Roster(
                "segmentation",
                "tversky",
                "Tversky",
                _fixed(alpha=TVERSKY_ALPHA, beta=TVERSKY_BETA),
                note=f"Tversky loss, alpha={TVERSKY_ALPHA:g} (false positives), beta={TVERSKY_BETA:g} "
                "(false negatives): leans toward recall",
                order=5,
            ),
        ),
    ),
    _entry(
        "focal_tversky_loss",
        N.FocalTverskyLoss,
        "overlap",
        "logits",
        "focal Tversky loss (1 - TI)^gamma (Abraham & Khan 2019)",
        curve="overlap",
        kernel="soft_counts",
    ),
    _entry(
        "generalized_dice_loss",
        N.GeneralizedDiceLoss,
        "overlap",
        "logits",
        "generalized Dice: one ratio over the classes weighted by 1/T^2 (Sudre et al. 2017)",
        curve="overlap",
        kernel="soft_counts",
    ),
    _entry(
        "lovasz_hinge_loss",
        N.LovaszHingeLoss,
        "overlap",
        "logits",
        "Lovász hinge: convex surrogate of the binary Jaccard / IoU loss (Berman et al. 2018)",
        curve="overlap",
    ),
    _entry(
        "lovasz_softmax_loss",
        N.LovaszSoftmaxLoss,
        "overlap",
        "logits",
        "Lovász-Softmax: surrogate of the mean IoU over classes (Berman et al. 2018)",
        curve="overlap",
    ),
    _entry(
        "mcc_loss",
        N.MCCLoss,
        "overlap",
        "logits",
        "Matthews-correlation loss 1 - MCC on soft counts (as smp MCCLoss)",
        curve=None,  # the MCC is a measure of a whole batch of pixels: one pixel alone has no curve
    ),
    # ---- regression: Gaussian, Laplace, Huber, Poisson NLLs -------------------------------------------
    _entry(
        "mse_loss",
        N.MSELoss,
        "regression",
        "values",
        "squared error: Gaussian NLL with fixed variance",
        curve="logits",
        twin=True,
        roster=(
            Roster(
                "regression",
                "mse",
                "MSE",
                note="Gaussian negative log-likelihood with a fixed variance (the mean): the baseline",
                order=0,
            ),
        ),
    ),
    _entry(
        "l1_loss",
        N.L1Loss,
        "regression",
        "values",
        "absolute error: Laplace NLL with fixed scale (median regression)",
        curve="logits",
        twin=True,
        roster=(
            Roster(
                "regression",
                "l1",
                "L1",
                note="Laplace negative log-likelihood with a fixed scale (the median): robust to outliers",
                order=1,
            ),
        ),
    ),
    _entry(
        "smooth_l1_loss",
        N.SmoothL1Loss,
        "regression",
        "values",
        "Huber / beta: Gaussian core, Laplace tails, unit tail slope",
        curve="logits",
        twin=True,
    ),
    _entry(
        "huber_loss",
        N.HuberLoss,
        "regression",
        "values",
        "Huber: NLL of Huber's density (Gaussian core, Laplace tails)",
        curve="logits",
        twin=True,
        roster=(
            Roster(
                "regression",
                "huber",
                "Huber",
                _fixed(delta=HUBER_DELTA),
                note=f"quadratic within delta={HUBER_DELTA:g} training standard deviations, linear beyond",
                order=2,
            ),
        ),
    ),
    _entry(
        "gaussian_nll_loss",
        N.GaussianNLLLoss,
        "regression",
        "values",
        "Gaussian NLL with a predicted variance (heteroscedastic)",
        curve=lambda f, z, y: f(z, _full(z, y), torch.ones_like(z), reduction="none"),
        twin=True,
        roster=(
            Roster(
                "regression",
                "gaussian-nll",
                "Gaussian NLL",
                variance=True,
                note="Gaussian negative log-likelihood with a predicted variance (the model's second "
                "output, through softplus): learns its own uncertainty",
                order=3,
            ),
        ),
    ),
    _entry(
        "poisson_nll_loss",
        N.PoissonNLLLoss,
        "regression",
        "values",
        "Poisson NLL; input is the log-rate (log_input=True) or the rate",
        curve="logits",
        twin=True,
    ),
    _entry(
        "log_cosh_loss",
        N.LogCoshLoss,
        "regression",
        "values",
        "log-cosh: hyperbolic-secant NLL, quadratic core and linear tails, smooth (Huber without delta)",
        curve="logits",
    ),
    # ---- margin (hinge) and logistic-margin losses --------------------------------------------------
    _entry(
        "soft_margin_loss",
        N.SoftMarginLoss,
        "classification",
        "logits",
        "logistic loss on ±1 labels, softplus(-y x)",
        curve=lambda f, z, y: f(z, _full(z, 2 * y - 1), reduction="none"),
        twin=True,
    ),
    _entry(
        "multilabel_soft_margin_loss",
        N.MultiLabelSoftMarginLoss,
        "classification",
        "logits",
        "multi-label sigmoid cross-entropy averaged over classes",
        curve=lambda f, z, y: f(z.unsqueeze(-1), _full(z, y).unsqueeze(-1), reduction="none"),
        twin=True,
    ),
    _entry(
        "multi_margin_loss",
        N.MultiMarginLoss,
        "classification",
        "logits",
        "multi-class hinge loss (margin against every wrong class)",
        curve="two_class",
        twin=True,
    ),
    _entry(
        "multilabel_margin_loss",
        N.MultiLabelMarginLoss,
        "classification",
        "logits",
        "multi-label hinge loss on -1-padded label lists",
        twin=True,
    ),
    _entry(
        "hinge_loss",
        N.HingeLoss,
        "classification",
        "logits",
        "binary SVM hinge max(0, 1 - y z) on ±1 (or, with labels='01', 0/1) labels (Keras, optax)",
        curve=lambda f, z, y: f(z, _full(z, 2 * y - 1), reduction="none"),
    ),
    _entry(
        "squared_hinge_loss",
        N.SquaredHingeLoss,
        "classification",
        "logits",
        "squared binary hinge max(0, 1 - y z)^2 (L2-SVM; Keras' SquaredHinge)",
        curve=lambda f, z, y: f(z, _full(z, 2 * y - 1), reduction="none"),
    ),
    _entry(
        "categorical_hinge_loss",
        N.CategoricalHingeLoss,
        "classification",
        "logits",
        "Crammer-Singer multi-class hinge max(0, 1 + max_{j!=y} z_j - z_y) (Keras' CategoricalHinge, optax)",
        curve="two_class",
    ),
    _entry(
        "margin_ranking_loss",
        N.MarginRankingLoss,
        "ranking",
        "values",
        "pairwise ranking hinge on a score difference (a margin loss, not a likelihood)",
        twin=True,
    ),
    _entry(
        "hinge_embedding_loss",
        N.HingeEmbeddingLoss,
        "ranking",
        "values",
        "hinge on distances of similar/dissimilar pairs (margin loss)",
        twin=True,
    ),
    _entry(
        "cosine_embedding_loss",
        N.CosineEmbeddingLoss,
        "ranking",
        "values",
        "cosine-similarity margin loss on embedding pairs",
        twin=True,
    ),
    _entry(
        "triplet_margin_loss",
        N.TripletMarginLoss,
        "ranking",
        "values",
        "triplet margin loss with an L_p distance (metric learning)",
        twin=True,
    ),
    _entry(
        "triplet_margin_with_distance_loss",
        N.TripletMarginWithDistanceLoss,
        "ranking",
        "values",
        "triplet margin loss with any distance function",
        twin=True,
    ),
    # ---- divergences ---------------------------------------------------------------------------
    _entry(
        "kl_div",
        N.KLDivLoss,
        "divergence",
        "log_probs",
        "KL(target || exp(input)) on log-probabilities (distillation); use reduction='batchmean'",
        curve=lambda f, z, y: f(
            torch.log_softmax(torch.stack([torch.zeros_like(z), z], -1), -1),
            torch.nn.functional.one_hot(torch.full(z.shape, y, dtype=torch.long), 2).to(z.dtype),
            reduction="none",
        ).sum(-1),
        twin=True,
        reductions=("none", "mean", "sum", "batchmean"),
    ),
    _entry(
        "jsd_cross_entropy",
        N.JsdCrossEntropyLoss,
        "classification",
        "logits",
        "CE on the clean split + alpha * Jensen-Shannon consistency over augmented splits (AugMix, timm)",
    ),
    _entry(
        "generalized_kl_divergence",
        N.GeneralizedKLDivLoss,
        "divergence",
        "values",
        "generalized KL (I-divergence) between non-negative measures: t·log(t/x) − t + x",
        reductions=("none", "mean", "sum", "batchmean"),
    ),
)

_BY_NAME: dict[str, Entry] = {e.name: e for e in ENTRIES}

#: views known besides the catalog's losses (drawn next to them by ``losskit explain``)
EXTRA_VIEWS = ("mse_after_sigmoid",)


def get(name: str) -> Entry:
    """The entry of loss ``name``; the ``KeyError`` lists close names."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        if not isinstance(name, str):
            raise TypeError(f"name must be a loss name (a str), got {type(name).__name__}") from None
        close = difflib.get_close_matches(name, list(_BY_NAME), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known losses: {', '.join(sorted(_BY_NAME))}"
        raise KeyError(f"no loss named {name!r}{hint}") from None


def names(family: str | None = None) -> list[str]:
    """Sorted loss names, optionally of one family."""
    return sorted(e.name for e in ENTRIES if family is None or e.family == family)


def entries() -> list[Entry]:
    """Every entry, sorted by name."""
    return [_BY_NAME[n] for n in names()]


def view(name: str) -> LossView:
    """The likelihood view of a catalog loss, or of one of :data:`EXTRA_VIEWS`."""
    if name in EXTRA_VIEWS:
        return _VIEWS[name]
    return get(name).view


def views() -> list[LossView]:
    """The view of every catalog loss, sorted by name."""
    return [e.view for e in entries()]


def roster(task: str | None = None) -> list[Roster]:
    """The workbench rows of ``task`` (every task if ``None``), in table order."""
    rows = [r for e in ENTRIES for r in e.roster if task is None or r.task == task]
    tasks = {t: i for i, t in enumerate(dict.fromkeys(TASKS + tuple(r.task for r in rows)))}
    return sorted(rows, key=lambda r: (tasks[r.task], r.order))


def roster_keys(task: str | None = None) -> list[str]:
    """Every ``--losses`` name (of ``task``, or of every task), in roster order."""
    return list(dict.fromkeys(r.key for r in roster(task)))


class RosterError(ValueError):
    """A ``--losses`` specification that names no roster row, or an option its loss does not take."""


def _value(text: str):
    """``"0.5"`` -> 0.5, ``"2"`` -> 2, ``"true"`` -> True, ``"none"`` -> None; anything else stays text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for kind in (int, float):
        try:
            return kind(low)
        except ValueError:
            pass
    return text.strip()


def parse_losses(spec) -> list[tuple[str, tuple]]:
    """Parse a ``--losses`` specification into ``(key, ((option, (value, ...)), ...))`` items.

    ``spec`` is a string or a list of strings. Items are separated by commas; an item is a roster
    key, optionally followed by ``:option=value`` settings, further settings after commas, and a
    sweep writes several values with ``|`` (one row per value; several sweeps give every combination).

    >>> from losskit import catalog
    >>> catalog.parse_losses("bce,focal:gamma=0.5|1|2,alpha=0.25")
    [('bce', ()), ('focal', (('gamma', (0.5, 1, 2)), ('alpha', (0.25,))))]
    """
    tokens = [t.strip() for part in ([spec] if isinstance(spec, str) else list(spec)) for t in str(part).split(",")]
    tokens = [t for t in tokens if t]
    if not tokens:
        raise RosterError(f"--losses is empty; known losses: {', '.join(roster_keys())}")
    known = roster_keys()
    items: list = []
    for tok in tokens:
        key, _, setting = tok.partition(":") if "=" not in tok.partition(":")[0] else ("", "", tok)
        if key:
            if key not in known:
                close = difflib.get_close_matches(key, known, 1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise RosterError(f"unknown loss name {key!r}{hint} in --losses; known losses: {', '.join(known)}")
            items.append([key, []])
        elif not items:
            raise RosterError(f"--losses {tok!r}: an option needs a loss before it, e.g. focal:{tok}")
        for one in filter(None, setting.split(":")):
            name, eq, values = one.partition("=")
            if not eq or not name.strip() or not values.strip():
                raise RosterError(f"--losses {tok!r}: write options as name=value (a sweep: name=v1|v2|v3)")
            items[-1][1].append((name.strip(), tuple(_value(v) for v in values.split("|"))))
    return [(k, tuple(o)) for k, o in items]


def _takes(row: Roster) -> list[str]:
    """The keyword options of a row's loss (what ``--losses key:name=value`` may set)."""
    import inspect

    params = list(inspect.signature(get(row.loss).functional).parameters.values())
    skip = {"reduction", "reduce", "size_average"}
    return [p.name for p in params[2:] if p.default is not inspect.Parameter.empty and p.name not in skip]


def _configured(row: Roster, settings: tuple) -> Roster:
    takes = _takes(row)
    for name, _ in settings:
        if name not in takes:
            raise RosterError(
                f"--losses {row.key}:{name}=...: {row.loss} ({row.task}) has no option {name!r}; "
                f"its options are: {', '.join(takes)}"
            )
    text = ",".join(f"{n}={v}" for n, v in settings)
    shown = ", ".join(f"{n}={v}" for n, v in settings)
    return dataclasses.replace(
        row,
        key=f"{row.key}:{text}",
        display=f"{row.display} ({shown})",
        overrides=row.overrides + settings,
        note=(row.note + "; " if row.note else "") + f"set with --losses: {shown}",
    )


def select(task: str, spec=None) -> list[Roster]:
    """The rows of ``task`` that ``spec`` names (its default rows when ``spec`` is ``None``), in roster
    order; an item with a sweep gives one row per value (see :func:`parse_losses`).

    >>> from losskit import catalog
    >>> [r.key for r in catalog.select("binary", "focal:gamma=0.5|1,bce")]
    ['bce', 'focal:gamma=0.5', 'focal:gamma=1']
    >>> [r.key for r in catalog.select("regression")]
    ['mse', 'l1', 'huber', 'gaussian-nll']
    """
    rows = roster(task)
    if spec is None:
        return [r for r in rows if r.default]
    items = parse_losses(spec)
    out: dict = {}
    for r in rows:
        for key, settings in items:
            if key != r.key:
                continue
            sweeps = [[(name, v) for v in values] for name, values in settings]
            for combo in itertools.product(*sweeps):
                row = _configured(r, tuple(combo)) if combo else r
                out.setdefault(row.key, row)
    return list(out.values())
