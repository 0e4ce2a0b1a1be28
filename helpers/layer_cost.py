"""What a sequence layer costs (notebook 04): Vaswani et al.'s Table 1 counted and timed, RNN against self-attention.

Vaswani et al. (2017, section 4, Table 1) compare layer types that map n vectors of width d to n vectors:

=================  ====================  =====================  ===================
layer              complexity per layer  sequential operations  maximum path length
=================  ====================  =====================  ===================
self-attention     O(n^2 d)              O(1)                   O(1)
recurrent          O(n d^2)              O(n)                   O(n)
=================  ====================  =====================  ===================

This module counts the same things exactly, for the two layers notebook 04 times:

- ``recurrent_cost(n, d, gates=1)``: an Elman RNN layer (``gates=1``; ``gates=3`` a GRU, ``gates=4`` an LSTM).
  Each step multiplies x_t by ``W_ih`` (gates*d, d) and h_{t-1} by ``W_hh`` (gates*d, d): 2 * gates * d^2
  FLOPs each (a multiply-add is 2 FLOPs), so ``4 * gates * n * d^2`` for the sequence. The steps must run one
  after the other (step t needs h_{t-1}): n sequential steps, and input 0 reaches output n-1 through all n of them.
- ``self_attention_cost(n, d)``: one head of width d: the projections Q, K, V = x W_Q, x W_K, x W_V
  (``6 * n * d^2``), the scores Q K^T (``2 * n^2 * d``) and the mix softmax(...) V (``2 * n^2 * d``). Each is one
  matrix product over all positions at once: one step over the whole sequence (three dependent products inside it,
  whatever n), and every input position reaches every output position in that one step.

Table 1's "complexity per layer" (``mixing_flops``) keeps, for attention, only the products that relate positions,
4 n^2 d, and leaves out its projections (6 n d^2, the same order as the whole recurrent layer); for the recurrent
layer it counts the whole layer, 4 * gates * n * d^2. With these constants the Elman RNN and attention are equal
exactly at n = d (``flop_crossover``); the paper states the comparison only in orders of growth ("when the
sequence length n is smaller than the representation dimensionality d", section 4). Table 1's other rows,
convolutional (O(k n d^2), O(1), O(log_k n)) and restricted self-attention (O(r n d), O(1), O(n/r)), are not
counted here. Counting attention's projections too (``total=True``), attention costs more
FLOPs than an Elman RNN of the same width at every n; its speed on parallel hardware comes from the sequential-
operations column, not from doing less arithmetic. Biases, tanh and softmax (O(n d) and O(n^2) element-wise work)
are not counted.

Timing: ``median_times`` runs several functions in turn (interleaved, so that machine noise hits all alike) and
returns each one's median wall time; ``forward_backward`` makes the function it times (forward, a scalar loss,
backward).

>>> recurrent_cost(256, 256).mixing_flops == self_attention_cost(256, 256).mixing_flops
True
>>> flop_crossover(512)
512
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from helpers.attention import scaled_dot_product_attention


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class LayerCost:
    """One layer's cost on a sequence of n positions of width d (forward pass, one sequence).

    flops: all matrix-product FLOPs of the layer (a multiply-add counts 2).
    mixing_flops: the part Table 1's "complexity per layer" column counts (see the module docstring).
    sequential_ops: steps that must run one after another (Table 1 counts a step over all positions as one).
    max_path_length: the most of those steps a signal passes from any input position to any output position.
    """

    name: str
    n: int
    d: int
    flops: int
    mixing_flops: int
    sequential_ops: int
    max_path_length: int


def recurrent_cost(n: int, d: int, gates: int = 1) -> LayerCost:
    """A recurrent layer of width d over n steps; ``gates`` weight blocks per step (RNN 1, GRU 3, LSTM 4)."""
    _check_positive(n=n, d=d, gates=gates)
    per_product = 2 * gates * d * d  # one (gates*d, d) matrix times one d-vector, per position
    flops = 2 * n * per_product  # x_t W_ih^T and h_{t-1} W_hh^T at each of n steps
    name = {1: "RNN", 3: "GRU", 4: "LSTM"}.get(gates, f"recurrent ({gates} gates)")
    # x_i enters at step i and reaches h_j after j - i + 1 steps: x_0 -> h_{n-1} passes all n of them
    return LayerCost(name, n, d, flops, flops, sequential_ops=n, max_path_length=n)


def self_attention_cost(n: int, d: int) -> LayerCost:
    """One self-attention head of width d over n positions: Q, K, V projections, Q K^T, softmax(...) V."""
    _check_positive(n=n, d=d)
    projections = 3 * 2 * n * d * d  # Q, K, V: three (n, d) @ (d, d)
    mixing = 2 * n * n * d + 2 * n * n * d  # Q K^T: (n, d) @ (d, n); weights V: (n, n) @ (n, d)
    # one step over all positions (inside it three dependent products, whatever n); any pair is one step apart
    return LayerCost("self-attention", n, d, projections + mixing, mixing, sequential_ops=1, max_path_length=1)


def flop_crossover(d: int, gates: int = 1, total: bool = False) -> int:
    """The smallest n at which self-attention's FLOPs reach the recurrent layer's, at width d.

    ``total=False`` compares Table 1's columns (``mixing_flops``): 4 n^2 d against 4 * gates * n * d^2, equal at
    n = gates * d. ``total=True`` adds attention's projections (6 n d^2): then n = (4 * gates - 6) d / 4, or 1
    when attention is never the cheaper one (the Elman RNN, gates=1). Found by counting, not by the formula.
    """
    _check_positive(d=d, gates=gates)
    field = "flops" if total else "mixing_flops"

    def gap(n: int) -> int:  # attention minus recurrent; it grows with n
        return getattr(self_attention_cost(n, d), field) - getattr(recurrent_cost(n, d, gates), field)

    lo, hi = 1, 1
    while gap(hi) < 0:
        hi *= 2
    if gap(lo) >= 0:
        return lo
    while hi - lo > 1:  # gap(lo) < 0 <= gap(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if gap(mid) >= 0 else (mid, hi)
    return hi


class SelfAttentionLayer(nn.Module):
    """One self-attention head of width d: Q, K, V projections and softmax(Q K^T / sqrt(d)) V, no mask.

    forward(x (B, n, d)) -> (B, n, d). The layer Table 1 counts (``self_attention_cost``); no output projection.
    """

    def __init__(self, d: int):
        super().__init__()
        _check_positive(d=d)
        self.d = d
        self.qkv = nn.Linear(d, 3 * d, bias=False)  # W_Q, W_K, W_V stacked: (3d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != self.d:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be (B, n, {self.d}), got {shape}")
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # each (B, n, d)
        out, _ = scaled_dot_product_attention(q, k, v)  # (B, n, d): one parallel step over all positions
        return out


def count_flops(fn: Callable[[], object]) -> int:
    """Matrix-product FLOPs that ``fn()`` runs (forward and any backward inside it), counted by PyTorch.

    Uses ``torch.utils.flop_counter.FlopCounterMode``, which counts each matrix product as 2 * m * n * k:
    an independent check of ``recurrent_cost`` / ``self_attention_cost``, and the backward pass's share.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def forward_backward(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """A function that runs ``layer`` on x, sums its output into a scalar loss, and backpropagates.

    The layer may return a tensor or a tuple whose first item is the output (``nn.RNN``, ``helpers.rnn.RNN``).
    Gradients are reset before each pass, so repeated calls do the same work.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")

    def run() -> None:
        layer.zero_grad(set_to_none=True)
        out = layer(x)
        out = out[0] if isinstance(out, tuple) else out
        out.square().mean().backward()

    return run


def median_times(fns: dict[Hashable, Callable[[], object]], repeats: int = 5, warmup: int = 1) -> dict[Hashable, float]:
    """Median wall time (seconds) of each function, over ``repeats`` calls after ``warmup`` untimed ones.

    The functions run in turn (round robin), so a burst of noise on the machine hits all of them alike. Keys may be
    any hashable labels, e.g. (layer name, n) pairs, so that several lengths share one round robin.
    """
    if not fns:
        raise ValueError("fns is empty: give at least one function to time")
    _check_positive(repeats=repeats)
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[Hashable, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def loglog_slopes(ns: Sequence[int], times: Sequence[float]) -> list[float]:
    """Slopes of log(time) against log(n) between neighbouring points: ~1 grows linearly, ~2 quadratically."""
    if len(ns) != len(times) or len(ns) < 2:
        raise ValueError(f"need at least two (n, time) points of equal count, got {len(ns)} and {len(times)}")
    if any(n <= 0 for n in ns) or any(t <= 0 for t in times):
        raise ValueError("n and times must be positive (they are logged)")
    return [math.log(t1 / t0) / math.log(n1 / n0) for n0, n1, t0, t1 in zip(ns, ns[1:], times, times[1:])]
