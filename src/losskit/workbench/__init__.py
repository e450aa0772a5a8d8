"""The workbench: compare losses on real data or on your own model and data.

``losskit compare`` (the command line) and :func:`compare` (Python) plan a comparison, train the
same model once per loss (``losskit.workbench.train``) and write a report (``losskit.workbench.report``).
"""

from .api import PlanError, Result, compare
from .train import TrainConfig

__all__ = ["compare", "Result", "TrainConfig", "PlanError"]
