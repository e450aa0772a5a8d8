"""(transitional re-export)"""

from .overlap import DiceLoss, FocalTverskyLoss, JaccardLoss, TverskyLoss

__all__ = ["DiceLoss", "JaccardLoss", "TverskyLoss", "FocalTverskyLoss"]
