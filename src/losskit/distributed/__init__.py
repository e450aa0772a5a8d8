"""losskit's losses over ``torch.distributed`` process groups (gloo on CPU, NCCL on GPUs).

Tensor parallelism (the classes / vocabulary sharded across the ranks of a group):

* :func:`vocab_parallel_cross_entropy` -- cross-entropy of logits sharded on the class dimension,
  with every option of :func:`losskit.functional.cross_entropy`, never gathering the logits;
* :func:`vocab_parallel_linear_cross_entropy` -- the fused output layer + cross-entropy on a head
  sharded by rows, chunked so that not even this rank's logits exist at once;
* DTensors: ``losskit.functional.cross_entropy`` / ``linear_cross_entropy`` given DTensor logits
  (or head weight) sharded on the class dimension take these paths (code written for torch's
  ``loss_parallel`` works as it is).

Data parallelism and gradient accumulation (exact means):

* :func:`global_mean` -- sum over the group / count over the group, gradient ``1 / global count``;
* :func:`target_count` -- the denominator of a step: counted targets over micro-batches and ranks;
* :func:`class_counts`, :func:`class_balanced_weights` -- from the labels of every rank;
* :func:`gather`, :func:`expected_calibration_error`, :func:`reliability_curve`,
  :func:`tune_threshold`, :func:`fit_temperature` -- :mod:`losskit.decision` over the predictions
  of every rank.

Every function is a collective: every rank of the group calls it, with the same options. See
``docs/distributed.md`` for the recipes (DDP's averaging, accumulation steps, NCCL).
"""

from ._class_weights import class_balanced_weights, class_counts
from ._cross_entropy import vocab_parallel_cross_entropy, vocab_parallel_linear_cross_entropy
from ._decision import expected_calibration_error, fit_temperature, gather, reliability_curve, tune_threshold
from ._means import global_mean, target_count

__all__ = [
    "vocab_parallel_cross_entropy",
    "vocab_parallel_linear_cross_entropy",
    "global_mean",
    "target_count",
    "class_counts",
    "class_balanced_weights",
    "gather",
    "expected_calibration_error",
    "reliability_curve",
    "tune_threshold",
    "fit_temperature",
]
