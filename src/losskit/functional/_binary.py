"""Binary cross-entropy: the negative log-likelihood of a Bernoulli distribution (transitional re-export)."""

from ._classification import binary_cross_entropy, binary_cross_entropy_with_logits

__all__ = ["binary_cross_entropy_with_logits", "binary_cross_entropy"]
