"""use_linear_cross_entropy on tiny Hugging Face causal LMs (random weights, nothing downloaded): the loss and
every parameter gradient equal the stock model's; the logits are never formed when labels are given."""

import copy

import pytest
import torch

transformers = pytest.importorskip("transformers")

from helpers import TOL, assert_close  # noqa: E402
from losskit.compat.huggingface import restore, use_linear_cross_entropy  # noqa: E402

COMMON = dict(
    vocab_size=97,
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=64,
)
FAMILIES = {
    "llama": ("LlamaConfig", "LlamaForCausalLM", {}),
    "mistral": ("MistralConfig", "MistralForCausalLM", {}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {}),
    "gemma": ("GemmaConfig", "GemmaForCausalLM", {"head_dim": 8}),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", {"head_dim": 8, "final_logit_softcapping": 5.0}),
}


def _model(family, seed=0):
    config_cls, model_cls, extra = FAMILIES[family]
    torch.manual_seed(seed)
    config = getattr(transformers, config_cls)(**COMMON, **extra)
    return getattr(transformers, model_cls)(config).float()


def _batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 97, (3, 11), generator=g)
    labels = ids.clone()
    labels[0, :4] = -100  # a prompt that is not trained on
    labels[2, 7:] = -100  # padding
    return ids, labels


def _loss_and_grads(model, **call):
    model.zero_grad()
    out = model(**call)
    out.loss.backward()
    return out, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_loss_and_every_gradient_equal_the_stock_model(family):
    stock = _model(family)
    fused = use_linear_cross_entropy(copy.deepcopy(stock), chunk_size=8)
    ids, labels = _batch()
    ref, ref_grads = _loss_and_grads(stock, input_ids=ids, labels=labels)
    out, grads = _loss_and_grads(fused, input_ids=ids, labels=labels)
    assert out.logits is None
    assert_close(out.loss, ref.loss)
    assert set(grads) == set(ref_grads)
    for name in ref_grads:
        assert_close(grads[name], ref_grads[name], msg=f"{family}: gradient of {name}")


def test_num_items_in_batch_is_honoured_across_accumulation_steps():
    stock = _model("llama")
    fused = use_linear_cross_entropy(copy.deepcopy(stock))
    ids, labels = _batch()
    n = (labels[:, 1:] != -100).sum() + 5  # a count over more micro-batches than this one
    ref, ref_grads = _loss_and_grads(stock, input_ids=ids, labels=labels, num_items_in_batch=n)
    out, grads = _loss_and_grads(fused, input_ids=ids, labels=labels, num_items_in_batch=n)
    assert_close(out.loss, ref.loss)
    for name in ref_grads:
        assert_close(grads[name], ref_grads[name])


def test_the_output_layer_is_never_applied_with_labels():
    model = use_linear_cross_entropy(_model("qwen2"))
    calls = []
    model.get_output_embeddings().register_forward_hook(lambda *a: calls.append(1))
    ids, labels = _batch()
    out = model(input_ids=ids, labels=labels)
    assert out.loss.isfinite() and out.logits is None and not calls
    logits = model(input_ids=ids).logits  # without labels: the model's own forward
    assert calls and logits.shape == (3, 11, 97)


def test_autocast_bf16_hidden_state_with_float32_head():
    stock = _model("llama")
    fused = use_linear_cross_entropy(copy.deepcopy(stock))
    ids, labels = _batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = stock(input_ids=ids, labels=labels).loss
        out = fused(input_ids=ids, labels=labels).loss
    assert out.dtype == torch.float32
    assert_close(out, ref, tol=TOL[torch.bfloat16])


def test_restore_and_refusals():
    model = use_linear_cross_entropy(_model("llama"))
    ids, labels = _batch()
    assert model(input_ids=ids, labels=labels).logits is None
    assert restore(model)(input_ids=ids, labels=labels).logits is not None
    with pytest.raises(TypeError, match="not a causal language model"):
        use_linear_cross_entropy(torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match="logits_to_keep"):
        use_linear_cross_entropy(model)(input_ids=ids, labels=labels, logits_to_keep=1)
