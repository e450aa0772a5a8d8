"""(transitional re-export)"""

from .classification import BCELoss, BCEWithLogitsLoss

__all__ = ["BCEWithLogitsLoss", "BCELoss"]
