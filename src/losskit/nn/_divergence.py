"""(transitional re-export)"""

from .divergence import KLDivLoss

__all__ = ["KLDivLoss"]
