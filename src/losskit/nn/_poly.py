"""(transitional re-export)"""

from .focal import Poly1CrossEntropyLoss, Poly1FocalLoss, Poly1SigmoidFocalLoss

__all__ = ["Poly1CrossEntropyLoss", "Poly1FocalLoss", "Poly1SigmoidFocalLoss"]
