"""(transitional re-export)"""

from .focal import AsymmetricLoss, FocalLoss, SigmoidFocalLoss

__all__ = ["SigmoidFocalLoss", "FocalLoss", "AsymmetricLoss"]
