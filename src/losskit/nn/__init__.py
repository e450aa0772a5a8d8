"""``nn.Module`` losses: options in ``__init__``, weights as buffers, ``forward`` is one functional call.

One private module per topic (the same stems as :mod:`losskit.functional`), re-exported here name by name.
"""

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

__all__ = [
    "Loss",
    "WeightedLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "LinearCrossEntropyLoss",
    "GeneralizedCrossEntropyLoss",
    "BCEWithLogitsLoss",
    "BCELoss",
    "SigmoidFocalLoss",
    "BinaryFocalLoss",
    "FocalLoss",
    "AsymmetricLoss",
    "AsymmetricSingleLabelLoss",
    "Poly1CrossEntropyLoss",
    "Poly1FocalLoss",
    "Poly1SigmoidFocalLoss",
    "DiceLoss",
    "JaccardLoss",
    "TverskyLoss",
    "FocalTverskyLoss",
    "GeneralizedDiceLoss",
    "LovaszHingeLoss",
    "LovaszSoftmaxLoss",
    "MCCLoss",
    "MSELoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
    "GaussianNLLLoss",
    "PoissonNLLLoss",
    "LogCoshLoss",
    "SoftMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "MultiLabelMarginLoss",
    "MarginRankingLoss",
    "HingeEmbeddingLoss",
    "CosineEmbeddingLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "CategoricalHingeLoss",
    "KLDivLoss",
    "GeneralizedKLDivLoss",
    "JsdCrossEntropyLoss",
    "CombinedLoss",
]
