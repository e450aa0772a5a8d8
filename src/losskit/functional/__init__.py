"""The losses, one pure function each, with torch-style signatures.

This is losskit's source of truth: every module in :mod:`losskit.nn` and every fused kernel in
:mod:`losskit.kernels` must give the numbers these functions give. One private module per topic,
re-exported here name by name; ``__all__`` is the stems' own lists, topic by topic.
"""

from . import (
    _binary,
    _class_weights,
    _combine,
    _cross_entropy,
    _divergence,
    _focal,
    _labels,
    _margin,
    _poly,
    _regression,
    _segmentation,
)
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

# the API pages list the names in this order: topic by topic, each stem's names in its own order
__all__ = [
    *_cross_entropy.__all__,  # cross-entropy (Categorical NLL)
    *_binary.__all__,  # binary cross-entropy (Bernoulli NLL)
    *_focal.__all__,  # focal and Poly-1 (reweighted NLLs)
    *_poly.__all__,
    *_segmentation.__all__,  # overlap measures
    *_regression.__all__,  # Gaussian, Laplace, Huber, Poisson NLLs
    *_margin.__all__,  # margin losses
    *_divergence.__all__,  # divergences
    *_class_weights.__all__,  # class weights and targets
    *_labels.__all__,
    *_combine.__all__,  # combinations
]
