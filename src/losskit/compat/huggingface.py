r"""Hugging Face causal language models trained with losskit's fused linear + cross-entropy.

:func:`use_linear_cross_entropy` makes a ``*ForCausalLM`` model (Llama, Mistral, Qwen, Gemma and the
other decoder-only families that pair a base model with an ``lm_head``) compute its training loss with
:func:`losskit.functional.linear_cross_entropy` on the last hidden state and ``lm_head.weight``: the
``(tokens, vocabulary)`` logits are never materialised when ``labels`` are given. The loss is the
model's own: labels shifted by one position (position ``t`` predicts token ``t + 1``), ``-100``
ignored, the mean over the counted tokens -- or, when the caller passes ``num_items_in_batch`` (as
Hugging Face's ``Trainer`` does under gradient accumulation), the sum divided by it; Gemma 2/3's
``final_logit_softcapping`` is applied as :func:`linear_cross_entropy`'s ``softcap``. The softmax is
computed in float32 (as the models upcast their logits), and under ``torch.autocast`` a bfloat16
hidden state meets a float32 ``lm_head.weight`` as the stock model's ``F.linear`` does.

Calls without ``labels`` (generation, evaluation of logits) run the model's own forward unchanged.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from ..functional import linear_cross_entropy

__all__ = ["use_linear_cross_entropy", "restore"]

_ORIGINAL = "_losskit_original_forward"


def _parts(model: nn.Module) -> tuple[nn.Module, nn.Linear]:
    base = getattr(model, "model", None)
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    if not isinstance(base, nn.Module) or not isinstance(head, nn.Linear):
        raise TypeError(
            f"use_linear_cross_entropy: {type(model).__name__} is not a causal language model with a base model "
            "(model.model) and a linear output layer (model.get_output_embeddings()); pass a *ForCausalLM model, "
            "e.g. LlamaForCausalLM"
        )
    scale = getattr(getattr(model, "config", None), "logit_scale", None)
    if scale not in (None, 1, 1.0):
        raise ValueError(
            f"use_linear_cross_entropy: {type(model).__name__} scales its logits (config.logit_scale="
            f"{scale}), which linear_cross_entropy does not; train it unpatched"
        )
    return base, head


def use_linear_cross_entropy(model: nn.Module, *, chunk_size: int | None = None) -> nn.Module:
    r"""Make ``model`` (a Hugging Face ``*ForCausalLM``) compute its loss with :func:`linear_cross_entropy`.

    .. math:: \ell = \frac{1}{n}\sum_{t:\, y_{t+1} \ne -100} -\log \operatorname{softmax}(W h_t + b)_{y_{t+1}},
        \qquad n = \texttt{num\_items\_in\_batch} \text{ or the number of counted tokens}

    Likelihood: the Categorical NLL of each next token, the language model's own objective; only
    the memory use changes (the logits are formed one chunk of tokens at a time and never kept).

    The model is patched in place (its ``forward``; the class is untouched) and returned. With
    ``labels`` the output's ``loss`` is set and its ``logits`` is ``None``; without, the model's
    own forward runs. :func:`restore` undoes the patch.

    Args:
        model: a causal language model whose ``model`` attribute is the decoder and whose output
            embeddings (``lm_head``) are an ``nn.Linear``.
        chunk_size: tokens per chunk of :func:`linear_cross_entropy` (``None``: its default).

    Returns:
        ``model``.

    Example:
        >>> import torch
        >>> from transformers import LlamaConfig, LlamaForCausalLM  # doctest: +SKIP
        >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64,
        ...                                      num_hidden_layers=1, num_attention_heads=2))  # doctest: +SKIP
        >>> ids = torch.randint(0, 128, (2, 9))  # doctest: +SKIP
        >>> stock = model(input_ids=ids, labels=ids).loss  # doctest: +SKIP
        >>> out = use_linear_cross_entropy(model)(input_ids=ids, labels=ids)  # doctest: +SKIP
        >>> torch.allclose(out.loss, stock), out.logits is None  # doctest: +SKIP
        (True, True)

    References:
        Hsu et al., "Liger Kernel: Efficient Triton Kernels for LLM Training", 2024 (the patching
        entry point); Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", ICLR 2025.
    """
    base, head = _parts(model)
    if hasattr(model, _ORIGINAL):
        return model  # already patched
    original = model.forward
    signature = inspect.signature(original)
    cap = getattr(model.config, "final_logit_softcapping", None)

    def forward(*args: Any, **kwargs: Any):
        bound = signature.bind(*args, **kwargs)
        call = dict(bound.arguments)
        extra = call.pop(next((n for n, p in signature.parameters.items() if p.kind is p.VAR_KEYWORD), ""), {})
        labels = call.pop("labels", None)
        if labels is None:
            return original(*args, **kwargs)
        if call.pop("logits_to_keep", 0) not in (0, None):
            raise ValueError("use_linear_cross_entropy: logits_to_keep does not apply to a training call with labels")
        num_items = extra.pop("num_items_in_batch", None)
        outputs = base(**call, **extra)
        hidden = outputs[0]
        # position t predicts token t + 1: shift the labels left, the last position has none (-100)
        target = nn.functional.pad(labels, (0, 1), value=-100)[..., 1:].reshape(-1).to(hidden.device)
        loss = linear_cross_entropy(
            hidden.reshape(-1, hidden.shape[-1]),
            head.weight,
            target,
            linear_bias=head.bias,
            ignore_index=-100,
            softcap=cap,
            chunk_size=chunk_size,
            reduction="mean" if num_items is None else "sum",
        )
        if num_items is not None:
            loss = loss / (num_items.to(loss.device) if torch.is_tensor(num_items) else num_items)
        from transformers.modeling_outputs import CausalLMOutputWithPast

        fields = CausalLMOutputWithPast.__dataclass_fields__
        rest = {k: v for k, v in outputs.items() if k in fields and k != "last_hidden_state"}
        return CausalLMOutputWithPast(loss=loss, logits=None, **rest)

    forward.__signature__ = signature  # type: ignore[attr-defined]  # Trainer inspects it for **kwargs
    forward.__doc__ = original.__doc__
    object.__setattr__(model, _ORIGINAL, original)
    object.__setattr__(model, "forward", forward)  # an instance attribute, as nn.Module's own setattr would store it
    return model


def restore(model: nn.Module) -> nn.Module:
    """Undo :func:`use_linear_cross_entropy`: ``model`` computes its loss from its logits again."""
    if hasattr(model, _ORIGINAL):
        del model.forward
        delattr(model, _ORIGINAL)
    return model
