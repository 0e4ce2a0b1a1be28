"""Parameter counts of GPT, BERT and T5 by formula, from their configurations (notebook 07).

A Transformer's size follows from a few numbers: layers ``L``, width ``d``, feed-forward width ``d_ff``
(usually ``4d``), vocabulary ``V`` and context ``n_ctx``. Per layer, attention has four ``d x d`` matrices
(queries, keys, values, output: ``4d^2``, plus ``4d`` biases) and the feed-forward network two ``d x d_ff``
matrices (``8d^2`` when ``d_ff = 4d``, plus ``d_ff + d`` biases). So a layer holds about ``12 d^2`` and the
model about ``12 L d^2`` plus its embeddings.

>>> from helpers.param_count import gpt_params, from_config
>>> gpt_params(n_layer=12, d_model=768, vocab_size=50257, n_ctx=1024).total    # GPT-2 small
124439808
>>> from_config(transformers.BertConfig()).total                                  # BERT-base (BertModel)
109482240

Each function returns a ``ParamCount``: the count split into parts (embeddings, positions, attention,
feed-forward, norms, heads) with ``.total``. The tests check every formula against the real models
(Hugging Face's GPT-2, BERT and T5 built from the same configs, and ``helpers.gpt.GPT``): equal to the parameter.
``GPT3_MODELS`` is Table 2.1 of the GPT-3 paper (Brown et al. 2020).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

# ----- the pieces -----------------------------------------------------------------------------------


def embedding(num: int, dim: int) -> int:
    """An embedding table: one ``dim``-vector for each of ``num`` entries."""
    return num * dim


def linear(n_in: int, n_out: int, bias: bool = True) -> int:
    """A linear layer ``n_in -> n_out``: an ``n_out x n_in`` matrix, plus ``n_out`` biases."""
    return n_in * n_out + (n_out if bias else 0)


def layer_norm(d: int, bias: bool = True) -> int:
    """LayerNorm over ``d`` features: a gain per feature, plus a bias per feature (unless ``bias=False``)."""
    return 2 * d if bias else d


def rms_norm(d: int) -> int:
    """RMSNorm (T5's LayerNorm: no mean subtraction, no bias): one gain per feature."""
    return d


def attention(d: int, bias: bool = True, d_inner: int | None = None, d_kv_total: int | None = None) -> int:
    """Multi-head attention on width ``d``: query, key, value and output projections.

    ``d_inner`` is n_head x d_head (default ``d``); ``d_kv_total`` the width of the keys (and of the values),
    smaller than ``d_inner`` with grouped-query attention (default ``d_inner``). Plain case: ``4d^2 + 4d``.
    """
    d_inner = d if d_inner is None else d_inner
    d_kv_total = d_inner if d_kv_total is None else d_kv_total
    return (linear(d, d_inner, bias) + 2 * linear(d, d_kv_total, bias)  # queries, keys, values
            + linear(d_inner, d, bias))  # output projection


def feed_forward(d: int, d_ff: int, bias: bool = True, gated: bool = False) -> int:
    """Position-wise feed-forward network ``d -> d_ff -> d`` (``8d^2 + 5d`` when ``d_ff = 4d``).

    ``gated=True`` (T5 v1.1, LLaMA) has two input matrices, one of them a gate.
    """
    return (2 if gated else 1) * linear(d, d_ff, bias) + linear(d_ff, d, bias)


@dataclass(frozen=True)
class ParamCount:
    """A parameter count split into parts. ``total`` is their sum."""

    embeddings: int  # token embeddings (BERT: also segment embeddings); a tied output layer is counted here once
    positions: int  # learned position embeddings, or T5's relative position bias tables
    attention: int  # all self- and cross-attention projections
    feed_forward: int
    norms: int  # every LayerNorm / RMSNorm
    heads: int  # an untied output layer, BERT's pooler and pretraining heads

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    @property
    def non_embedding(self) -> int:
        """Without token and position embeddings (what scaling laws count)."""
        return self.total - self.embeddings - self.positions

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def _check_positive(**values) -> None:
    for name, value in values.items():
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


# ----- the three families ---------------------------------------------------------------------------


def gpt_params(n_layer: int, d_model: int, vocab_size: int, n_ctx: int, *, d_ff: int | None = None,
               bias: bool = True, n_head: int | None = None, n_kv_head: int | None = None,
               tied: bool = True) -> ParamCount:
    """A GPT-2-style decoder-only model (also GPT-3 and ``helpers.gpt.GPT``).

    Token and learned position embeddings; per layer LayerNorm, attention, LayerNorm, feed-forward; a final
    LayerNorm; an output layer tied to the token embedding (``tied=False``: a separate ``V x d`` matrix, no bias).
    ``n_kv_head`` < ``n_head`` counts grouped-query attention (keys and values of ``n_kv_head`` heads).
    """
    _check_positive(n_layer=n_layer, d_model=d_model, vocab_size=vocab_size, n_ctx=n_ctx, d_ff=d_ff,
                    n_head=n_head, n_kv_head=n_kv_head)
    d_ff = 4 * d_model if d_ff is None else d_ff
    d_kv_total = d_model
    if n_kv_head is not None:
        if n_head is None or d_model % n_head or n_head % n_kv_head:
            raise ValueError(f"n_kv_head needs n_head dividing d_model and n_kv_head dividing n_head, got "
                             f"d_model={d_model}, n_head={n_head}, n_kv_head={n_kv_head}")
        d_kv_total = n_kv_head * (d_model // n_head)
    return ParamCount(
        embeddings=embedding(vocab_size, d_model),
        positions=embedding(n_ctx, d_model),
        attention=n_layer * attention(d_model, bias, d_kv_total=d_kv_total),
        feed_forward=n_layer * feed_forward(d_model, d_ff, bias),
        norms=(2 * n_layer + 1) * layer_norm(d_model, bias),
        heads=0 if tied else linear(d_model, vocab_size, bias=False),
    )


def bert_params(n_layer: int, d_model: int, vocab_size: int, n_ctx: int = 512, *, d_ff: int | None = None,
                type_vocab_size: int = 2, pooler: bool = True, pretraining_heads: bool = False) -> ParamCount:
    """A BERT encoder (post-LN, biases everywhere), as Hugging Face's ``BertModel``.

    Token, position and segment (token type) embeddings followed by a LayerNorm; per layer attention,
    LayerNorm, feed-forward, LayerNorm. ``pooler``: the ``d x d`` layer on [CLS] (BERT-base's "110M" counts
    it). ``pretraining_heads`` adds ``BertForPreTraining``'s heads: the masked-LM head (a ``d x d`` transform,
    a LayerNorm, an output layer tied to the token embedding plus ``V`` biases) and the 2-way NSP classifier.
    """
    _check_positive(n_layer=n_layer, d_model=d_model, vocab_size=vocab_size, n_ctx=n_ctx, d_ff=d_ff,
                    type_vocab_size=type_vocab_size)
    d_ff = 4 * d_model if d_ff is None else d_ff
    heads = linear(d_model, d_model) if pooler else 0
    if pretraining_heads:
        heads += linear(d_model, d_model) + layer_norm(d_model) + vocab_size  # MLM transform, norm, output biases
        heads += linear(d_model, 2)  # next-sentence prediction: IsNext / NotNext
    return ParamCount(
        embeddings=embedding(vocab_size, d_model) + embedding(type_vocab_size, d_model),
        positions=embedding(n_ctx, d_model),
        attention=n_layer * attention(d_model),
        feed_forward=n_layer * feed_forward(d_model, d_ff),
        norms=(2 * n_layer + 1) * layer_norm(d_model),
        heads=heads,
    )


def t5_params(n_layer: int, d_model: int, vocab_size: int, d_ff: int, n_head: int, *, d_kv: int | None = None,
              n_decoder_layer: int | None = None, num_buckets: int = 32, gated: bool = False,
              tied: bool = True) -> ParamCount:
    """A T5 encoder-decoder, as Hugging Face's ``T5ForConditionalGeneration``.

    No biases anywhere, RMSNorm (a gain only) before each sub-layer and at the end of each stack, one token
    embedding shared by encoder, decoder and (``tied=True``) the output layer. No position embeddings: the
    first layer of each stack holds a ``num_buckets x n_head`` table of relative position biases, shared by
    the layers above it. A decoder layer has self-attention, cross-attention and a feed-forward network.
    (``tied=False``, T5 v1.1's separate output layer, is what ``from_config`` reads from ``T5Config``; recent
    ``transformers`` releases force ``tie_word_embeddings=True`` there and tie the output layer always.)
    """
    _check_positive(n_layer=n_layer, d_model=d_model, vocab_size=vocab_size, d_ff=d_ff, n_head=n_head, d_kv=d_kv,
                    n_decoder_layer=n_decoder_layer, num_buckets=num_buckets)
    d_kv = d_model // n_head if d_kv is None else d_kv
    n_dec = n_layer if n_decoder_layer is None else n_decoder_layer
    attn = attention(d_model, bias=False, d_inner=n_head * d_kv)
    ffn = feed_forward(d_model, d_ff, bias=False, gated=gated)
    return ParamCount(
        embeddings=embedding(vocab_size, d_model),
        positions=2 * num_buckets * n_head,  # one table for the encoder, one for the decoder's self-attention
        attention=n_layer * attn + n_dec * 2 * attn,  # decoder: self-attention and cross-attention
        feed_forward=(n_layer + n_dec) * ffn,
        norms=(2 * n_layer + 1 + 3 * n_dec + 1) * rms_norm(d_model),
        heads=0 if tied else linear(d_model, vocab_size, bias=False),
    )


def from_config(config, **options) -> ParamCount:
    """The count for a configuration object: ``helpers.gpt.GPTConfig``, or Hugging Face's ``GPT2Config``,
    ``BertConfig``, ``RobertaConfig`` or ``T5Config``. ``options`` go to ``bert_params`` (``pooler``,
    ``pretraining_heads``). RoBERTa is BERT's architecture with other embedding sizes (Liu et al. 2019)."""
    kind = type(config).__name__
    if kind == "GPTConfig":
        return gpt_params(config.n_layer, config.n_embd, config.vocab_size, config.block_size, bias=config.bias,
                          n_head=config.n_head, n_kv_head=config.n_kv_head)
    if kind == "GPT2Config":
        return gpt_params(config.n_layer, config.n_embd, config.vocab_size, config.n_positions, d_ff=config.n_inner,
                          tied=config.tie_word_embeddings)
    if kind in ("BertConfig", "RobertaConfig"):
        return bert_params(config.num_hidden_layers, config.hidden_size, config.vocab_size,
                           config.max_position_embeddings, d_ff=config.intermediate_size,
                           type_vocab_size=config.type_vocab_size, **options)
    if kind == "T5Config":
        return t5_params(config.num_layers, config.d_model, config.vocab_size, config.d_ff, config.num_heads,
                         d_kv=config.d_kv, n_decoder_layer=config.num_decoder_layers,
                         num_buckets=config.relative_attention_num_buckets, gated=config.is_gated_act,
                         tied=config.tie_word_embeddings)
    raise TypeError(f"no formula for {kind}: pass a GPTConfig, GPT2Config, BertConfig, RobertaConfig or T5Config")


def count_parameters(model: nn.Module) -> int:
    """The parameters a model really holds (a tied matrix counted once): the reference for the formulas."""
    return sum(p.numel() for p in model.parameters())


# Brown et al. (2020), "Language Models are Few-Shot Learners", Table 2.1. Every model: context 2048 tokens,
# vocabulary 50257 (GPT-2's BPE), d_ff = 4 d_model, 300 billion training tokens. Quoted as published, with two
# rows where n_head x d_head != d_model (XL: 24 x 128 = 3072 vs 2048; 13B: 40 x 128 = 5120 vs 5140). The head
# split does not change the count: only n_layer and d_model do.
GPT3_MODELS = [
    {"name": "GPT-3 Small", "params": 125e6, "n_layer": 12, "d_model": 768, "n_head": 12, "d_head": 64},
    {"name": "GPT-3 Medium", "params": 350e6, "n_layer": 24, "d_model": 1024, "n_head": 16, "d_head": 64},
    {"name": "GPT-3 Large", "params": 760e6, "n_layer": 24, "d_model": 1536, "n_head": 16, "d_head": 96},
    {"name": "GPT-3 XL", "params": 1.3e9, "n_layer": 24, "d_model": 2048, "n_head": 24, "d_head": 128},
    {"name": "GPT-3 2.7B", "params": 2.7e9, "n_layer": 32, "d_model": 2560, "n_head": 32, "d_head": 80},
    {"name": "GPT-3 6.7B", "params": 6.7e9, "n_layer": 32, "d_model": 4096, "n_head": 32, "d_head": 128},
    {"name": "GPT-3 13B", "params": 13.0e9, "n_layer": 40, "d_model": 5140, "n_head": 40, "d_head": 128},
    {"name": "GPT-3 175B", "params": 175.0e9, "n_layer": 96, "d_model": 12288, "n_head": 96, "d_head": 128},
]
GPT3_CONTEXT = 2048
GPT3_VOCAB = 50257
GPT3_TOKENS = 300e9


def gpt3_params(name: str) -> ParamCount:
    """The formula count of one model of ``GPT3_MODELS`` (by name, e.g. ``"GPT-3 175B"``)."""
    for row in GPT3_MODELS:
        if row["name"] == name:
            return gpt_params(row["n_layer"], row["d_model"], GPT3_VOCAB, GPT3_CONTEXT)
    raise KeyError(f"no GPT-3 model {name!r}; known: {', '.join(r['name'] for r in GPT3_MODELS)}")
