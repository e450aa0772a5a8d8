"""``nn.Module`` losses: options in ``__init__``, weights as buffers, ``forward`` is one functional call.

One private module per topic (the same stems as :mod:`losskit.functional`), re-exported here name by name;
``__all__`` is the stems' own lists, topic by topic.
"""

from . import _base, _binary, _combine, _cross_entropy, _divergence, _focal, _margin, _poly, _regression, _segmentation
from ._base import Loss, WeightedLoss
from ._binary import BCELoss, BCEWithLogitsLoss
from ._combine import CombinedLoss
from ._cross_entropy import CrossEntropyLoss, GeneralizedCrossEntropyLoss, LinearCrossEntropyLoss, NLLLoss
from ._divergence import GeneralizedKLDivLoss, JsdCrossEntropyLoss, KLDivLoss
from ._focal import AsymmetricLoss, AsymmetricSingleLabelLoss, BinaryFocalLoss, FocalLoss, SigmoidFocalLoss
from ._margin import (
    CategoricalHingeLoss,
    CosineEmbeddingLoss,
    HingeEmbeddingLoss,
    HingeLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    SoftMarginLoss,
    SquaredHingeLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
from ._poly import Poly1CrossEntropyLoss, Poly1FocalLoss, Poly1SigmoidFocalLoss
from ._regression import GaussianNLLLoss, HuberLoss, L1Loss, LogCoshLoss, MSELoss, PoissonNLLLoss, SmoothL1Loss
from ._segmentation import (
    DiceLoss,
    FocalTverskyLoss,
    GeneralizedDiceLoss,
    JaccardLoss,
    LovaszHingeLoss,
    LovaszSoftmaxLoss,
    MCCLoss,
    TverskyLoss,
)

# the API pages list the names in this order: the bases, then topic by topic, each stem's names in its own order
__all__ = [
    *_base.__all__,
    *_cross_entropy.__all__,  # cross-entropy (Categorical NLL)
    *_binary.__all__,  # binary cross-entropy (Bernoulli NLL)
    *_focal.__all__,  # focal and Poly-1 (reweighted NLLs)
    *_poly.__all__,
    *_segmentation.__all__,  # overlap measures
    *_regression.__all__,  # Gaussian, Laplace, Huber, Poisson NLLs
    *_margin.__all__,  # margin losses
    *_divergence.__all__,  # divergences
    *_combine.__all__,  # combinations
]
