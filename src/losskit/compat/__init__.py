"""Drop-in entry points for the most used calls of other libraries, mapped onto losskit's losses.

Each submodule is named after a peer and keeps that peer's signature, defaults and target
conventions, so that switching is a change of import (and the call gains losskit's checks and
kernels); ``docs/migrating.md`` maps every default that differs, row by row, each row tested.

* :mod:`losskit.compat.torchvision` -- ``sigmoid_focal_loss``.
* :mod:`losskit.compat.monai` -- ``DiceLoss``, ``GeneralizedDiceLoss``, ``TverskyLoss``, ``FocalLoss``,
  ``DiceCELoss``, ``DiceFocalLoss``.
* :mod:`losskit.compat.smp` -- ``DiceLoss``, ``JaccardLoss``, ``TverskyLoss``, ``FocalLoss``, ``LovaszLoss``.
* :mod:`losskit.compat.timm` -- ``LabelSmoothingCrossEntropy``, ``SoftTargetCrossEntropy``,
  ``BinaryCrossEntropy``, ``AsymmetricLossMultiLabel``.
* :mod:`losskit.compat.kornia` -- ``focal_loss``, ``dice_loss``, ``tversky_loss`` and their modules.
* :mod:`losskit.compat.huggingface` makes a Hugging Face causal language model compute its training
  loss with :func:`losskit.functional.linear_cross_entropy`.

The submodules are imported on use (``import losskit.compat.monai``); none imports its peer.
"""
