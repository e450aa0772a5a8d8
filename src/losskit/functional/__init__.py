"""The losses, one pure function each, with torch-style signatures.

This is losskit's source of truth: every module in :mod:`losskit.nn` and every fused kernel in
:mod:`losskit.kernels` must give the numbers these functions give. One private module per topic,
re-exported here name by name.
"""

from ._binary import binary_cross_entropy, binary_cross_entropy_with_logits
from ._class_weights import class_balanced_weights, class_counts, inverse_frequency_weights
from ._combine import Activations, combined_loss, combined_loss_components, precomputed
from ._cross_entropy import cross_entropy, generalized_cross_entropy, linear_cross_entropy, nll_loss
from ._divergence import entropy, generalized_kl_divergence, js_divergence, jsd_cross_entropy, kl_div, kl_divergence
from ._focal import asymmetric_loss, asymmetric_single_label_loss, binary_focal_loss, focal_loss, sigmoid_focal_loss
from ._labels import smooth_labels
from ._margin import (
    categorical_hinge_loss,
    cosine_embedding_loss,
    hinge_embedding_loss,
    hinge_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    squared_hinge_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from ._poly import poly1_cross_entropy, poly1_focal_loss, poly1_sigmoid_focal_loss
from ._regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    log_cosh_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from ._segmentation import (
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    lovasz_hinge_loss,
    lovasz_softmax_loss,
    mcc_loss,
    tversky_loss,
)

__all__ = [
    # cross-entropy (Categorical NLL)
    "cross_entropy",
    "nll_loss",
    "linear_cross_entropy",
    "generalized_cross_entropy",
    # binary cross-entropy (Bernoulli NLL)
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    # focal and Poly-1 (reweighted NLLs)
    "sigmoid_focal_loss",
    "binary_focal_loss",
    "focal_loss",
    "asymmetric_loss",
    "asymmetric_single_label_loss",
    "poly1_cross_entropy",
    "poly1_focal_loss",
    "poly1_sigmoid_focal_loss",
    # segmentation (overlap measures)
    "dice_loss",
    "jaccard_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "mcc_loss",
    # regression (Gaussian, Laplace, Huber, Poisson NLLs)
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "gaussian_nll_loss",
    "poisson_nll_loss",
    "log_cosh_loss",
    # margin losses
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "hinge_loss",
    "squared_hinge_loss",
    "categorical_hinge_loss",
    # divergences
    "kl_div",
    "generalized_kl_divergence",
    "jsd_cross_entropy",
    "entropy",
    "kl_divergence",
    "js_divergence",
    # class weights and targets
    "class_counts",
    "class_balanced_weights",
    "inverse_frequency_weights",
    "smooth_labels",
    # combinations
    "combined_loss",
    "combined_loss_components",
    "precomputed",
    "Activations",
]
