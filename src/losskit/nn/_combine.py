"""(transitional re-export)"""

from .combine import CombinedLoss

__all__ = ["CombinedLoss"]
