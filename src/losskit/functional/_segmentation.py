"""Overlap losses for segmentation (transitional re-export)."""

from ._overlap import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss

__all__ = ["dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss"]
