"""Class weights from class counts (transitional re-export)."""

from ._weights import class_balanced_weights, class_counts, inverse_frequency_weights

__all__ = ["class_counts", "class_balanced_weights", "inverse_frequency_weights"]
