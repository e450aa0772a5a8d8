"""The losses, one pure function each, with torch-style signatures.

This is losskit's source of truth: every module in :mod:`losskit.nn` and every fused kernel in
:mod:`losskit.kernels` must give the numbers these functions give. Each topic module lists its
public names in ``__all__``; they are re-exported here.
"""

from . import _classification, _combine, _divergence, _focal, _linear, _overlap, _ranking, _regression, _weights
from ._classification import *  # noqa: F401,F403  (names listed in _classification.__all__)
from ._combine import *  # noqa: F401,F403
from ._divergence import *  # noqa: F401,F403
from ._focal import *  # noqa: F401,F403
from ._linear import *  # noqa: F401,F403
from ._overlap import *  # noqa: F401,F403
from ._ranking import *  # noqa: F401,F403
from ._regression import *  # noqa: F401,F403
from ._weights import *  # noqa: F401,F403

__all__ = [
    *_classification.__all__,
    *_combine.__all__,
    *_divergence.__all__,
    *_focal.__all__,
    *_linear.__all__,
    *_overlap.__all__,
    *_ranking.__all__,
    *_regression.__all__,
    *_weights.__all__,
]
