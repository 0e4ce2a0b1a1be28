"""Recurrent networks from scratch (notebook 02): RNN, LSTM and GRU cells, a language model, gradient-vs-distance tools.

Also the sequence wrappers and the recall task of the vanishing/exploding-gradient experiments.

The cells use PyTorch's parameter names and layout, so weights copy one to one from ``torch.nn.RNN`` /
``torch.nn.LSTM`` / ``torch.nn.GRU`` (``load_torch_weights``) and the outputs agree:

- ``RNNCell``: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (two biases, as in PyTorch).
- ``LSTMCell``: one matrix product gives the three gates and the candidate, stacked in PyTorch's order
  **i, f, g, o** (input gate, forget gate, cell candidate ``g`` (not a gate), output gate):
  ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``. This is the LSTM with a forget gate (Gers et al. 2000);
  the original of Hochreiter & Schmidhuber (1997) had none.
- ``GRUCell`` (Cho et al. 2014): a reset gate ``r``, an update gate ``z`` and a candidate ``n``, stacked **r, z, n**:
  ``n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))``, ``h_t = (1 - z) * n + z * h_{t-1}``. PyTorch applies ``r``
  after the recurrent product (as cuDNN does); Cho et al. multiply ``h`` by ``r`` before it. The two differ in
  function, not in parameter count; this module follows PyTorch so that the outputs agree.

Shapes: ``B`` batch, ``T`` time steps, ``I`` input features, ``H`` hidden units, ``L`` layers, ``V`` vocabulary.
Sequences are batch-first, ``(B, T, I)``, like ``nn.RNN(..., batch_first=True)``.

>>> rnn = RNN(input_size=8, hidden_size=16, num_layers=2)
>>> out, h_n = rnn(torch.randn(4, 10, 8))   # out (4, 10, 16): every hidden state of the top layer; h_n (2, 4, 16)
>>> norms = hidden_state_gradients(rnn, torch.randn(4, 10, 8))   # (10,): ||dL/dh_t|| for L at the last step
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _init_uniform(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's default for recurrent layers: every parameter uniform in (-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-bound, bound)


def _check_sequence(x: torch.Tensor, input_size: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a batch-first sequence (B, T, {input_size}), got {shape}")
    if x.shape[-1] != input_size:
        raise ValueError(f"x must have {input_size} input features in its last dimension, got shape {tuple(x.shape)}")
    if x.shape[1] == 0:
        raise ValueError("x is an empty sequence (T = 0)")


def _check_state(h: torch.Tensor, name: str, L: int, B: int, H: int) -> None:
    if tuple(h.shape) != (L, B, H):
        raise ValueError(f"{name} must be (num_layers={L}, B={B}, hidden_size={H}), got {tuple(h.shape)}")


class RNNCell(nn.Module):
    """One step of an Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    forward(x (B, I), h (B, H)) -> h_new (B, H). ``nonlinearity`` is ``tanh`` (default, as ``nn.RNN``), ``relu``,
    or ``linear`` (no squashing at all: the clean setting for the spectral-radius experiment).
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh"):
        super().__init__()
        _check_sizes(input_size=input_size, hidden_size=hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, I)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))  # (H,)
        self.bias_hh = nn.Parameter(torch.empty(hidden_size))  # (H,)
        _init_uniform(self, hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # F.linear(x, W, b) = x W^T + b in one fused call (fewer autograd steps in the time loop)
        a = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)  # (B, H)
        return NONLINEARITIES[self.nonlinearity](a)


class LSTMCell(nn.Module):
    """One step of an LSTM: three gates and the candidate ``g``, in PyTorch's order i, f, g, o.

    forward(x (B, I), (h, c) each (B, H)) -> (h_new, c_new), each (B, H)::

        i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh)      # each (B, H)
        c_new = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h_new = sigmoid(o) * tanh(c_new)

    ``forget_bias`` (optional) sets the forget gate's total bias (b_ih + b_hh) to that value, e.g. 1.0
    (Jozefowicz et al. 2015): at initialisation the cell then keeps about sigmoid(1) = 73% of its memory per step.
    """

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float | None = None):
        super().__init__()
        _check_sizes(input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # (4H, I): rows i, f, g, o
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # (4H, H)
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
        _init_uniform(self, hidden_size)
        if forget_bias is not None:
            with torch.no_grad():
                self.bias_ih[hidden_size: 2 * hidden_size] = forget_bias
                self.bias_hh[hidden_size: 2 * hidden_size] = 0.0

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)  # each (B, H)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return h_new, c_new


class GRUCell(nn.Module):
    """One step of a gated recurrent unit (Cho et al. 2014), in PyTorch's layout: rows r, z, n.

    forward(x (B, I), h (B, H)) -> h_new (B, H)::

        r, z = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr), sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))      # the candidate (not a gate)
        h_new = (1 - z) * n + z * h                              # z near 1 keeps the old state

    The reset gate ``r`` multiplies the recurrent product ``h W_hn^T + b_hn`` (PyTorch and cuDNN); in Cho et al.
    (2014) it multiplies ``h`` before the product. The update ``h_new`` is a convex mix of the old state and the
    candidate, so along that direct path the gradient is multiplied by ``z`` only, as the LSTM's by ``f``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        _check_sizes(input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))  # (3H, I): rows r, z, n
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))  # (3H, H)
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
        _init_uniform(self, hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        xr, xz, xn = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, dim=-1)  # each (B, H)
        hr, hz, hn = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=-1)  # each (B, H)
        r = torch.sigmoid(xr + hr)  # reset gate
        z = torch.sigmoid(xz + hz)  # update gate
        n = torch.tanh(xn + r * hn)  # candidate state
        return (1 - z) * n + z * h  # (B, H)


class _Recurrent(nn.Module):
    """Shared code of RNN, LSTM and GRU: a stack of cells unrolled over time, batch-first."""

    kind = ""

    def __init__(self, cells: list[nn.Module], input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, len(cells)
        self.cells = nn.ModuleList(cells)

    def load_torch_weights(self, ref: nn.Module) -> None:
        """Copy the weights of a ``torch.nn.RNN`` / ``torch.nn.LSTM`` / ``torch.nn.GRU`` of the same sizes."""
        expected = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[self.kind]
        if not isinstance(ref, expected):
            raise TypeError(f"expected a torch.nn.{expected.__name__}, got {type(ref).__name__}")
        sizes = (ref.input_size, ref.hidden_size, ref.num_layers)
        if sizes != (self.input_size, self.hidden_size, self.num_layers):
            raise ValueError(f"sizes differ: torch module has (input, hidden, layers) = {sizes}, this model "
                             f"{(self.input_size, self.hidden_size, self.num_layers)}")
        if not ref.bias or ref.bidirectional or getattr(ref, "proj_size", 0):
            raise ValueError("only unidirectional torch modules with biases and no projection can be copied")
        if self.kind == "rnn" and ref.nonlinearity != self.nonlinearity:
            raise ValueError(f"nonlinearity differs: torch module {ref.nonlinearity!r}, this model {self.nonlinearity!r}")
        with torch.no_grad():
            for layer, cell in enumerate(self.cells):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(getattr(ref, f"{name}_l{layer}"))

    def _initial(self, x: torch.Tensor, state):
        raise NotImplementedError

    def _unroll(self, x: torch.Tensor, state=None):
        """Run the stack over x (B, T, I). Returns (list of T top-layer hidden states (B, H), final state)."""
        _check_sequence(x, self.input_size)
        layer_states = self._initial(x, state)  # one state per layer
        top = []
        for t in range(x.shape[1]):
            inp = x[:, t]  # (B, I)
            for layer, cell in enumerate(self.cells):
                layer_states[layer] = cell(inp, layer_states[layer])
                inp = layer_states[layer][0] if self.kind == "lstm" else layer_states[layer]  # (B, H)
            top.append(inp)
        return top, layer_states

    def states(self, x: torch.Tensor, state=None) -> list[torch.Tensor]:
        """The T hidden states h_1..h_T of the top layer, each (B, H), as the very tensors the next step reads.

        Because they are the graph's own nodes, ``torch.autograd.grad(loss, states)`` gives the full dL/dh_t
        (through all later time steps), not just the direct part.
        """
        return self._unroll(x, state)[0]


class RNN(_Recurrent):
    """A stack of ``num_layers`` RNN cells over a sequence, like ``nn.RNN(..., batch_first=True)``.

    forward(x (B, T, I), h0 (L, B, H) or None) -> (output (B, T, H): every hidden state of the top layer,
    h_n (L, B, H): the last hidden state of every layer).
    """

    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh"):
        _check_sizes(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        cells = [RNNCell(input_size if layer == 0 else hidden_size, hidden_size, nonlinearity)
                 for layer in range(num_layers)]
        super().__init__(cells, input_size, hidden_size)
        self.nonlinearity = nonlinearity

    def _initial(self, x, h0):
        L, B, H = self.num_layers, x.shape[0], self.hidden_size
        if h0 is None:
            return [x.new_zeros(B, H) for _ in range(L)]
        _check_state(h0, "h0", L, B, H)
        return list(h0.unbind(0))

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        top, final = self._unroll(x, h0)
        return torch.stack(top, dim=1), torch.stack(final, dim=0)  # (B, T, H), (L, B, H)


class LSTM(_Recurrent):
    """A stack of ``num_layers`` LSTM cells over a sequence, like ``nn.LSTM(..., batch_first=True)``.

    forward(x (B, T, I), (h0, c0) each (L, B, H), or None) -> (output (B, T, H), (h_n, c_n) each (L, B, H)).
    ``forget_bias``: see ``LSTMCell``.
    """

    kind = "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, forget_bias: float | None = None):
        _check_sizes(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        cells = [LSTMCell(input_size if layer == 0 else hidden_size, hidden_size, forget_bias)
                 for layer in range(num_layers)]
        super().__init__(cells, input_size, hidden_size)

    def _initial(self, x, state):
        L, B, H = self.num_layers, x.shape[0], self.hidden_size
        if state is None:
            return [(x.new_zeros(B, H), x.new_zeros(B, H)) for _ in range(L)]
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError("an LSTM's initial state must be a pair (h0, c0)")
        h0, c0 = state
        _check_state(h0, "h0", L, B, H)
        _check_state(c0, "c0", L, B, H)
        return list(zip(h0.unbind(0), c0.unbind(0)))

    def forward(self, x: torch.Tensor, state=None):
        top, final = self._unroll(x, state)
        h_n = torch.stack([h for h, _ in final], dim=0)  # (L, B, H)
        c_n = torch.stack([c for _, c in final], dim=0)  # (L, B, H)
        return torch.stack(top, dim=1), (h_n, c_n)


class GRU(_Recurrent):
    """A stack of ``num_layers`` GRU cells over a sequence, like ``nn.GRU(..., batch_first=True)``.

    forward(x (B, T, I), h0 (L, B, H) or None) -> (output (B, T, H): every hidden state of the top layer,
    h_n (L, B, H): the last hidden state of every layer).
    """

    kind = "gru"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        _check_sizes(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        cells = [GRUCell(input_size if layer == 0 else hidden_size, hidden_size) for layer in range(num_layers)]
        super().__init__(cells, input_size, hidden_size)

    def _initial(self, x, h0):
        return RNN._initial(self, x, h0)  # one (B, H) state per layer, as the plain RNN

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        top, final = self._unroll(x, h0)
        return torch.stack(top, dim=1), torch.stack(final, dim=0)  # (B, T, H), (L, B, H)


class RNNLanguageModel(nn.Module):
    """Embedding -> RNN or LSTM -> linear layer: a score for every next token at every position.

    ``cell`` is ``"rnn"`` or ``"lstm"``; the same class reads characters or words (only ``vocab_size`` changes).
    ``cell_options`` go to the recurrent core: ``nonlinearity`` for ``RNN``, ``forget_bias`` for ``LSTM``.
    forward(idx (B, T) token ids, targets (B, T) or None, state=None) -> (logits (B, T, V), loss or None, state).
    The loss is the mean cross-entropy of every next token.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1, cell: str = "rnn",
                 **cell_options):
        super().__init__()
        _check_sizes(vocab_size=vocab_size, embed_size=embed_size, hidden_size=hidden_size, num_layers=num_layers)
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embed = nn.Embedding(vocab_size, embed_size)
        core = RNN if cell == "rnn" else LSTM
        self.rnn = core(embed_size, hidden_size, num_layers, **cell_options)
        self.head = nn.Linear(hidden_size, vocab_size)

    def _embed(self, idx: torch.Tensor) -> torch.Tensor:
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.dtype != torch.long:
            shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise ValueError(f"idx must be a (B, T) tensor of token ids (torch.long), got {shape}")
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}, got {idx.min()}..{idx.max()}")
        return self.embed(idx)  # (B, T, E)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, state=None):
        out, state = self.rnn(self._embed(idx), state)  # (B, T, H)
        logits = self.head(out)  # (B, T, V)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
            loss = F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        return logits, loss, state

    def states(self, idx: torch.Tensor, state=None) -> list[torch.Tensor]:
        """The top layer's hidden states h_1..h_T (each (B, H)) for token ids idx (B, T); see ``RNN.states``."""
        return self.rnn.states(self._embed(idx), state)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, n_tokens: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue idx (B, T) by n_tokens sampled tokens; returns (B, T + n_tokens). Carries the state along."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        logits, _, state = self(idx)
        out = [idx]
        for _ in range(n_tokens):
            probs = torch.softmax(logits[:, -1] / temperature, dim=-1)  # (B, V)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            out.append(nxt)
            logits, _, state = self(nxt, state=state)
        return torch.cat(out, dim=1)


def set_spectral_radius(W: torch.Tensor, rho: float) -> torch.Tensor:
    """Return W rescaled so that its spectral radius (largest |eigenvalue|) is rho. W: (H, H), not all zero."""
    if not rho > 0:
        raise ValueError(f"the spectral radius rho must be > 0, got {rho}")
    radius = spectral_radius(W)
    if radius == 0:
        raise ValueError("W has spectral radius 0 (all eigenvalues are zero): it cannot be rescaled")
    return W * (rho / radius)


def spectral_radius(W: torch.Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix W (H, H), computed in float64."""
    if not isinstance(W, torch.Tensor) or W.ndim != 2 or W.shape[0] != W.shape[1]:
        shape = tuple(W.shape) if isinstance(W, torch.Tensor) else type(W).__name__
        raise ValueError(f"W must be a square matrix (H, H), got {shape}")
    return torch.linalg.eigvals(W.detach().double()).abs().max().item()


def hidden_state_gradients(model: nn.Module, x: torch.Tensor,
                           loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                           state=None, per_example: bool = False) -> torch.Tensor:
    """How strongly a loss at the last step reaches back: the norm of dL/dh_t for every step t.

    model: anything with ``states(x)`` (``RNN``, ``LSTM``, ``GRU``, ``RNNLanguageModel``); x: its input, (B, T, I) or
    token ids (B, T). ``loss_fn`` maps the last hidden state h_T (B, H) to a scalar; by default the sum of its
    entries. Returns a (T,) tensor: entry t is ||dL/dh_t|| (over the hidden units, averaged over the batch),
    so entry T-1 is the last step and entry T-1-k lies k steps back in time. With ``per_example=True`` it
    returns the (B, T) norms before the batch average (use a loss that sums over examples, so that each row is
    that example's own gradient). Parameters are left untouched.
    """
    hs = model.states(x, state)
    loss = hs[-1].sum() if loss_fn is None else loss_fn(hs[-1])
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise ValueError("loss_fn must return a scalar tensor")
    grads = torch.autograd.grad(loss, hs, allow_unused=True)
    norms = torch.stack([torch.zeros(len(h)) if g is None else g.detach().norm(dim=-1) for g, h in zip(grads, hs)],
                        dim=1)  # (B, T)
    return norms if per_example else norms.mean(dim=0)


def copy_task(batch_size: int, distance: int, n_symbols: int = 8, n_distractors: int = 8,
              generator: torch.Generator | None = None,
              position: str = "first") -> tuple[torch.Tensor, torch.Tensor]:
    """The long-range recall task: one symbol among distractors, then a query; answer the symbol.

    Tokens: symbols are ids 0..n_symbols-1, distractors the next n_distractors ids, and the query token is the last
    id, so the vocabulary has ``copy_task_vocab_size(n_symbols, n_distractors)`` entries. Returns
    x (batch_size, distance + 2) and y (batch_size,) = the symbol. Guessing scores 1 / n_symbols.

    ``position="first"``: x = [symbol, d_1 .. d_distance, query], so exactly ``distance`` distractors lie between
    the symbol and the query, and the symbol is always at position 0 (a model with learned positions can find it
    by position alone). ``position="random"``: the symbol sits at a uniformly random position 0..distance of each
    row (distractors everywhere else), so between 0 and ``distance`` distractors separate it from the query, and a
    model must find it by what it is, not where it is. ``symbol_positions(x)`` says where it is.
    """
    _check_sizes(batch_size=batch_size, distance=distance, n_symbols=n_symbols, n_distractors=n_distractors)
    if n_symbols < 2:
        raise ValueError(f"n_symbols must be at least 2 (else there is nothing to remember), got {n_symbols}")
    if position not in ("first", "random"):
        raise ValueError(f"position must be 'first' or 'random', got {position!r}")
    y = torch.randint(0, n_symbols, (batch_size,), generator=generator)  # (B,)
    query = torch.full((batch_size, 1), n_symbols + n_distractors)
    if position == "first":
        distractors = torch.randint(n_symbols, n_symbols + n_distractors, (batch_size, distance), generator=generator)
        return torch.cat([y[:, None], distractors, query], dim=1), y  # (B, distance + 2), (B,)
    body = torch.randint(n_symbols, n_symbols + n_distractors, (batch_size, distance + 1), generator=generator)
    where = torch.randint(0, distance + 1, (batch_size,), generator=generator)  # (B,): the symbol's position
    body[torch.arange(batch_size), where] = y  # one symbol per row, distractors elsewhere
    return torch.cat([body, query], dim=1), y  # (B, distance + 2), (B,)


def symbol_positions(x: torch.Tensor, n_symbols: int = 8) -> torch.Tensor:
    """Where the symbol of each ``copy_task`` row sits: (B,) positions, for x (B, T) with one symbol per row."""
    is_symbol = x < n_symbols  # (B, T)
    if x.ndim != 2 or not (is_symbol.sum(dim=1) == 1).all():
        raise ValueError("x must be (B, T) copy_task inputs with exactly one symbol (id < n_symbols) per row")
    return is_symbol.int().argmax(dim=1)


def copy_task_vocab_size(n_symbols: int = 8, n_distractors: int = 8) -> int:
    """Vocabulary size of ``copy_task``: the symbols, the distractors and one query token."""
    return n_symbols + n_distractors + 1
