"""The pieces of a Transformer block, as built in notebook 06.

- ``FeedForward``: the position-wise feed-forward network, d_model -> d_ff -> activation -> d_model.
- ``LayerNorm``: statistics over the features of each position (with ``eps`` and an optional affine map).
- ``RMSNorm``: LayerNorm without the mean and the bias (T5, LLaMA).
- ``sinusoidal_positions(T, d)``: the fixed position encodings of Vaswani et al. (2017).
- ``TransformerBlock``: self-attention + feed-forward, each with a residual connection and a LayerNorm, placed
  before the sub-layer (``norm_first=True``, pre-LN, GPT-2) or after the residual sum (post-LN, the 2017 paper).
- ``to_torch_encoder_layer`` / ``from_torch_encoder_layer``: copy weights to and from
  ``torch.nn.TransformerEncoderLayer`` (same outputs in eval mode).

>>> block = TransformerBlock(d_model=64, n_head=4, norm_first=True, activation="gelu")
>>> y = block(x, mask=causal_mask(T))     # x: (B, T, 64) -> y: (B, T, 64)

Masks follow ``helpers.attention``: boolean, ``True`` = may attend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from helpers.attention import MultiHeadAttention

ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,  # exact: x * Phi(x)
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's approximation
}


def activation_fn(name: str):
    """The activation function called ``name`` (one of ``ACTIVATIONS``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: use one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _check_last_dim(x: torch.Tensor, d: int, what: str) -> None:
    if x.ndim < 1 or x.shape[-1] != d:
        raise ValueError(f"{what} expects inputs whose last dimension is {d}, got shape {tuple(x.shape)}")


class FeedForward(nn.Module):
    """Position-wise feed-forward network: linear2(dropout(act(linear1(x)))).

    x (..., d_model) -> (..., d_model); every position goes through the same two matrices on its own.
    Read as a key-value memory (Geva et al. 2021): row i of ``linear1.weight`` is a key matched against x,
    column i of ``linear2.weight`` is the value added to the output, weighted by act(key_i . x + b_i).
    """

    def __init__(self, d_model: int, d_ff: int | None = None, activation: str = "relu", dropout: float = 0.0,
                 bias: bool = True):
        super().__init__()
        d_ff = 4 * d_model if d_ff is None else d_ff
        if d_model < 1 or d_ff < 1:
            raise ValueError(f"d_model and d_ff must be at least 1, got {d_model} and {d_ff}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.d_model, self.d_ff, self.activation = d_model, d_ff, activation
        self.act = activation_fn(activation)
        self.linear1 = nn.Linear(d_model, d_ff, bias=bias)  # keys: (d_ff, d_model)
        self.linear2 = nn.Linear(d_ff, d_model, bias=bias)  # values: (d_model, d_ff)
        self.dropout = nn.Dropout(dropout)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The activations of the d_ff hidden units: act(linear1(x)), shaped (..., d_ff)."""
        _check_last_dim(x, self.d_model, "FeedForward")
        return self.act(self.linear1(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.hidden(x)))  # (..., d_model)


def _check_norm_args(d: int, eps: float) -> None:
    """The checks LayerNorm and RMSNorm share: a positive width and a positive epsilon."""
    if d < 1:
        raise ValueError(f"d must be at least 1, got {d}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")


class LayerNorm(nn.Module):
    """Normalise each position over its d features: (x - mean) / sqrt(var + eps), then * weight + bias.

    x (..., d) -> (..., d). The variance is the biased one (divide by d), as in ``torch.nn.LayerNorm``.
    With ``elementwise_affine=False`` there is no weight or bias.
    """

    def __init__(self, d: int, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        _check_norm_args(d, eps)
        self.d, self.eps = d, eps
        self.weight = nn.Parameter(torch.ones(d)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(d)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last_dim(x, self.d, "LayerNorm")
        mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
        var = x.var(dim=-1, keepdim=True, unbiased=False)  # (..., 1)
        y = (x - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight: LayerNorm without subtracting the mean and without a bias.

    x (..., d) -> (..., d). Used by T5 and LLaMA (Zhang and Sennrich 2019).
    """

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        _check_norm_args(d, eps)
        self.d, self.eps = d, eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last_dim(x, self.d, "RMSNorm")
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


def sinusoidal_positions(T: int, d: int, base: float = 10000.0) -> torch.Tensor:
    """(T, d) fixed position encodings (Vaswani et al. 2017), d even:

    PE[pos, 2i] = sin(pos / base^(2i/d)),  PE[pos, 2i+1] = cos(pos / base^(2i/d)).
    """
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    if d < 2 or d % 2:
        raise ValueError(f"d must be an even number >= 2 (sin and cos in pairs), got {d}")
    if not base > 1:
        raise ValueError(f"base must be > 1, got {base}")
    pos = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
    freq = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,): 1 down to about 1/base
    angles = pos * freq  # (T, d/2)
    pe = torch.empty(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe.float()


class TransformerBlock(nn.Module):
    """One Transformer encoder block: multi-head self-attention and a feed-forward network, each wrapped in a
    residual connection with dropout and a LayerNorm.

    norm_first=True (pre-LN, GPT-2 and most modern models):
        x = x + drop(attn(ln1(x)));  x = x + drop(ffn(ln2(x)))
    norm_first=False (post-LN, Vaswani et al. 2017, BERT):
        x = ln1(x + drop(attn(x)));  x = ln2(x + drop(ffn(x)))

    forward(x, mask=None): x (B, T, d_model) -> (B, T, d_model); mask boolean, True = may attend, broadcastable
    to (B, n_head, T, T) (``helpers.attention.causal_mask`` / ``padding_mask``). ``d_ff`` defaults to 4 * d_model.
    Dropout acts on each sub-layer's output and on the feed-forward hidden units (not on attention weights).
    """

    def __init__(self, d_model: int, n_head: int, d_ff: int | None = None, dropout: float = 0.0,
                 activation: str = "relu", norm_first: bool = True, eps: float = 1e-5):
        super().__init__()
        if d_model < 1 or n_head < 1:
            raise ValueError(f"d_model and n_head must be at least 1, got {d_model} and {n_head}")
        if d_model % n_head:
            raise ValueError(f"d_model={d_model} must be divisible by n_head={n_head}")
        self.d_model, self.n_head, self.norm_first = d_model, n_head, norm_first
        self.attn = MultiHeadAttention(d_model, n_head)
        self.ffn = FeedForward(d_model, d_ff, activation, dropout)
        self.ln1 = LayerNorm(d_model, eps)
        self.ln2 = LayerNorm(d_model, eps)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def _sa(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.drop1(self.attn(x, mask=mask)[0])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must be (B, T, {self.d_model}), got shape {tuple(x.shape)}")
        if self.norm_first:
            x = x + self._sa(self.ln1(x), mask)  # (B, T, C)
            x = x + self.drop2(self.ffn(self.ln2(x)))
        else:
            x = self.ln1(x + self._sa(x, mask))
            x = self.ln2(x + self.drop2(self.ffn(x)))
        return x


def to_torch_encoder_layer(block: TransformerBlock) -> nn.TransformerEncoderLayer:
    """A ``torch.nn.TransformerEncoderLayer`` (batch_first=True) with ``block``'s weights, in eval mode.

    Masks for it are the opposite of ours: ``src_mask`` / ``src_key_padding_mask`` use True = blocked.
    """
    if block.ffn.activation not in ("relu", "gelu"):
        raise ValueError(f"nn.TransformerEncoderLayer has relu or gelu, not {block.ffn.activation!r}")
    ref = nn.TransformerEncoderLayer(block.d_model, block.n_head, dim_feedforward=block.ffn.d_ff, dropout=0.0,
                                     activation=block.ffn.activation, layer_norm_eps=block.ln1.eps,
                                     batch_first=True, norm_first=block.norm_first)
    a = block.attn
    with torch.no_grad():  # PyTorch stacks the q, k, v projections in one in_proj matrix
        ref.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        ref.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        ref.linear1.load_state_dict(block.ffn.linear1.state_dict())
        ref.linear2.load_state_dict(block.ffn.linear2.state_dict())
        ref.norm1.load_state_dict(block.ln1.state_dict())
        ref.norm2.load_state_dict(block.ln2.state_dict())
    return ref.eval()


def from_torch_encoder_layer(ref: nn.TransformerEncoderLayer) -> TransformerBlock:
    """A ``TransformerBlock`` with the weights of a ``torch.nn.TransformerEncoderLayer`` (dropout 0)."""
    act = ref.activation
    name = "relu" if act in (F.relu, "relu") or isinstance(act, nn.ReLU) else \
        "gelu" if act in (F.gelu, "gelu") or isinstance(act, nn.GELU) else None
    if name is None:
        raise ValueError(f"only relu and gelu layers can be copied, got activation {act!r}")
    d_model = ref.linear1.in_features
    block = TransformerBlock(d_model, ref.self_attn.num_heads, ref.linear1.out_features, activation=name,
                             norm_first=ref.norm_first, eps=ref.norm1.eps)
    q_w, k_w, v_w = ref.self_attn.in_proj_weight.detach().chunk(3)
    q_b, k_b, v_b = ref.self_attn.in_proj_bias.detach().chunk(3)
    a = block.attn
    with torch.no_grad():
        for lin, w, b in ((a.q_proj, q_w, q_b), (a.k_proj, k_w, k_b), (a.v_proj, v_w, v_b)):
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        a.out_proj.load_state_dict(ref.self_attn.out_proj.state_dict())
        block.ffn.linear1.load_state_dict(ref.linear1.state_dict())
        block.ffn.linear2.load_state_dict(ref.linear2.state_dict())
        block.ln1.load_state_dict(ref.norm1.state_dict())
        block.ln2.load_state_dict(ref.norm2.state_dict())
    return block.eval()


__all__ = ["ACTIVATIONS", "FeedForward", "LayerNorm", "RMSNorm", "TransformerBlock", "activation_fn",
           "from_torch_encoder_layer", "sinusoidal_positions", "to_torch_encoder_layer"]
