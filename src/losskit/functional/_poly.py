"""Poly-1 losses (transitional re-export)."""

from ._focal import poly1_cross_entropy, poly1_focal_loss, poly1_sigmoid_focal_loss

__all__ = ["poly1_cross_entropy", "poly1_focal_loss", "poly1_sigmoid_focal_loss"]
