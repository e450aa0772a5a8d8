"""Drop-in entry points for the most used calls of other libraries, mapped onto losskit's losses.

Each submodule is named after a peer and keeps that peer's signature, defaults and target
conventions, so that switching is a change of import (and the call gains losskit's checks and
kernels); ``docs/migrating.md`` maps every default that differs. :mod:`losskit.compat.huggingface`
makes a Hugging Face causal language model compute its training loss with
:func:`losskit.functional.linear_cross_entropy`.
"""
