"""``nn.Module`` losses: options in ``__init__``, weights as buffers, ``forward`` is one functional call.

Importing this package also fills :mod:`losskit.registry` (each topic module registers its losses).
"""

from . import classification, combine, divergence, focal, linear, overlap, ranking, regression
from ._base import Loss, WeightedLoss
from .classification import *  # noqa: F401,F403  (names listed in classification.__all__)
from .combine import *  # noqa: F401,F403
from .divergence import *  # noqa: F401,F403
from .focal import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .overlap import *  # noqa: F401,F403
from .ranking import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403

__all__ = [
    "Loss",
    "WeightedLoss",
    *classification.__all__,
    *combine.__all__,
    *divergence.__all__,
    *focal.__all__,
    *linear.__all__,
    *overlap.__all__,
    *ranking.__all__,
    *regression.__all__,
]
