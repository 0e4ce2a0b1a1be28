"""Compute-optimal training (計算最適): the arithmetic of Chinchilla and a small IsoFLOP experiment (notebook 10).

Training compute is about ``C = 6 N D`` floating-point operations for ``N`` parameters and ``D`` training
tokens (2 per parameter and token for the forward pass, 4 for the backward; Kaplan et al. 2020, Section 2.1).
Hoffmann et al. (2022, "Chinchilla") asked how to split a fixed ``C`` between ``N`` and ``D``. Their second
approach, IsoFLOP profiles (Section 3.2): fix a few budgets ``C``; for each, train several model sizes ``N``,
each on ``D = C / (6 N)`` tokens; fit a parabola to loss against ``log N``; its vertex is the loss-optimal
``N_opt(C)``. A straight line through ``(log C, log N_opt)`` gives ``N_opt ∝ C^a``; they found ``a = 0.49``
(Table 2; 0.50 and 0.46 by their other two approaches), about 20 tokens per parameter at the optimum.
Like Hoffmann et al., ``N`` here counts all parameters, embeddings included (Pearce & Song 2024).

>>> from helpers.compute_optimal import chinchilla_optimal, training_flops
>>> n, d = chinchilla_optimal(5.76e23)             # Chinchilla's budget (Gopher's)
>>> round(n / 1e9), round(d / 1e12, 1)             # 69 B parameters, 1.4 T tokens
(69, 1.4)
>>> training_flops(70e9, 1.4e12)
5.88e+23

Pure functions (no training) are unit-tested in ``tests/test_compute_optimal.py``: the fit recovers known
exponents and vertices from synthetic losses. ``run_isoflop`` and ``train_recipe`` train with
``helpers.pretrain.train_steps``; ``helpers.bench quality`` runs the time-to-quality pair.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

CHINCHILLA_TOKENS_PER_PARAM = 20.0  # Hoffmann et al. 2022: about 20 tokens per parameter at the optimum
HOFFMANN_A = {"approach 1": 0.50, "approach 2 (IsoFLOP)": 0.49, "approach 3": 0.46}  # N_opt ∝ C^a (Table 2)
KAPLAN_A = 0.73  # Kaplan et al. 2020: N_opt ∝ C^0.73 (non-embedding parameters)


def _positive(**values) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")


# ----- the arithmetic -----------------------------------------------------------------------------------
def training_flops(n_params: float, n_tokens: float) -> float:
    """``C = 6 N D``: training FLOPs of ``n_params`` parameters on ``n_tokens`` tokens (forward 2, backward 4)."""
    _positive(n_params=n_params, n_tokens=n_tokens)
    return 6.0 * n_params * n_tokens


def tokens_for_budget(flops: float, n_params: float) -> float:
    """``D = C / (6 N)``: how many tokens a model of ``n_params`` parameters may read within ``flops``."""
    _positive(flops=flops, n_params=n_params)
    return flops / (6.0 * n_params)


def chinchilla_optimal(flops: float, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM) -> tuple[float, float]:
    """(N, D) with ``6 N D = flops`` and ``D = tokens_per_param x N``: ``N = sqrt(C / (6 r))``, ``D = r N``."""
    _positive(flops=flops, tokens_per_param=tokens_per_param)
    n = math.sqrt(flops / (6.0 * tokens_per_param))
    return n, tokens_per_param * n


def nats_per_char(loss_per_token: float, n_tokens: int, n_chars: int) -> float:
    """Convert a mean loss per token into nats per character of the same text: ``loss x tokens / characters``.

    Per character (or per byte) is the unit that compares models with different tokenizers: a tokenizer with
    longer tokens has a higher loss per token for the same text.
    """
    _positive(loss_per_token=loss_per_token, n_tokens=n_tokens, n_chars=n_chars)
    return loss_per_token * n_tokens / n_chars


# ----- fitting ------------------------------------------------------------------------------------------
@dataclass
class Parabola:
    """``loss = a (ln N)^2 + b ln N + c``, fitted to one IsoFLOP profile; the vertex is ``N_opt``."""

    a: float
    b: float
    c: float

    @property
    def n_opt(self) -> float:
        """The parameter count at the vertex (the loss minimum); needs ``a > 0``."""
        if self.a <= 0:
            raise ValueError(f"the parabola opens downwards (a = {self.a:.3g}): no minimum, widen the model sizes")
        return math.exp(-self.b / (2 * self.a))

    @property
    def loss_min(self) -> float:
        return self(self.n_opt)

    def __call__(self, n):
        x = np.log(n)
        return self.a * x**2 + self.b * x + self.c


def fit_parabola(n_params, losses) -> Parabola:
    """Least-squares parabola of ``losses`` against ``ln(n_params)`` (Hoffmann et al.'s IsoFLOP fit)."""
    n = np.asarray(n_params, dtype=float)
    y = np.asarray(losses, dtype=float)
    if n.shape != y.shape or n.ndim != 1:
        raise ValueError(f"n_params and losses must be 1-D and the same length, got {n.shape} and {y.shape}")
    if len(np.unique(n)) < 3:
        raise ValueError(f"a parabola needs at least 3 different model sizes, got {len(np.unique(n))}")
    if (n <= 0).any() or not np.isfinite(y).all():
        raise ValueError("model sizes must be positive and losses finite")
    a, b, c = np.polyfit(np.log(n), y, 2)
    return Parabola(float(a), float(b), float(c))


def fit_power_law(x, y) -> tuple[float, float]:
    """``y = k x^e`` by a straight line in log-log: returns (exponent e, coefficient k)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"need two 1-D arrays of the same length, at least 2 points; got {x.shape}, {y.shape}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("a power law needs positive values")
    if len(np.unique(x)) < 2:
        raise ValueError("need at least 2 different x values")
    e, log_k = np.polyfit(np.log(x), np.log(y), 1)
    return float(e), float(math.exp(log_k))


# ----- the experiment -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """A GPT shape of the IsoFLOP ladder."""

    n_layer: int
    n_embd: int
    n_head: int = 4

    def __str__(self) -> str:
        return f"{self.n_layer} x {self.n_embd}"


def count_params(shape: Shape, vocab_size: int, block_size: int) -> int:
    """All parameters of ``helpers.gpt.GPT`` with this shape (the tied embedding once), by formula."""
    from helpers.param_count import gpt_params

    return gpt_params(n_layer=shape.n_layer, d_model=shape.n_embd, vocab_size=vocab_size, n_ctx=block_size).total


def isoflop_grid(budgets, shapes, vocab_size: int, block_size: int, tokens_per_step: int) -> list[dict]:
    """One row per (budget, shape): ``N`` (all parameters), ``D = C / (6N)`` rounded to whole steps of
    ``tokens_per_step`` tokens, the FLOPs those steps really cost, and tokens per parameter."""
    _positive(tokens_per_step=tokens_per_step)
    rows = []
    for flops in budgets:
        _positive(budget=flops)
        for shape in shapes:
            n = count_params(shape, vocab_size, block_size)
            steps = max(1, round(tokens_for_budget(flops, n) / tokens_per_step))
            d = steps * tokens_per_step
            rows.append({"budget": float(flops), "shape": shape, "params": n, "steps": steps, "tokens": d,
                         "flops": training_flops(n, d), "tokens_per_param": d / n})
    return rows


def build_model(shape: Shape, vocab_size: int, block_size: int, seed: int = 0):
    from helpers.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=shape.n_layer,
                         n_head=shape.n_head, n_embd=shape.n_embd))


def run_isoflop(rows: list[dict], train_ids: torch.Tensor, val_ids: torch.Tensor, *, block_size: int,
                batch_size: int, lr: float, vocab_size: int, eval_batches: int = 40, seed: int = 7,
                progress: bool = True) -> list[dict]:
    """Train every row of ``isoflop_grid`` (same seed, same data order, cosine over the run's own steps, as
    Hoffmann et al. match the cosine cycle to the budget) and add its validation loss (nats per token) and
    wall time. Returns the rows, each with ``"val"`` and ``"seconds"`` added."""
    from tqdm.auto import tqdm

    from helpers.pretrain import TrainConfig, evaluate, train_steps

    _positive(lr=lr, batch_size=batch_size, block_size=block_size)
    out = []
    for row in tqdm(rows, desc="IsoFLOP runs", disable=not progress):
        model = build_model(row["shape"], vocab_size, block_size)
        cfg = TrainConfig(lr=lr, min_lr=lr / 10, warmup_steps=max(1, row["steps"] // 10), batch_size=batch_size,
                          block_size=block_size, seed=seed)
        start = time.perf_counter()
        train_steps(model, train_ids, row["steps"], cfg, progress=False)
        seconds = time.perf_counter() - start
        out.append({**row, "val": evaluate(model, val_ids, block_size, batches=eval_batches), "seconds": seconds})
    return out


def isoflop_minima(results: list[dict]) -> list[dict]:
    """Per budget: the parabola fitted to its runs, the fitted ``N_opt`` and ``D_opt = C / (6 N_opt)``, the
    loss at the vertex, and whether the vertex lies inside the sizes tried (outside, it is an extrapolation)."""
    minima = []
    for budget in sorted({r["budget"] for r in results}):
        runs = [r for r in results if r["budget"] == budget]
        n = [r["params"] for r in runs]
        parabola = fit_parabola(n, [r["val"] for r in runs])
        row = {"budget": budget, "parabola": parabola, "sizes": len(runs), "best_run": min(runs, key=lambda r: r["val"])}
        if parabola.a > 0:
            n_opt = parabola.n_opt
            row.update(n_opt=n_opt, d_opt=tokens_for_budget(budget, n_opt), loss_min=parabola.loss_min,
                       inside=min(n) < n_opt < max(n))
        else:
            row.update(n_opt=float("nan"), d_opt=float("nan"), loss_min=float("nan"), inside=False)
        minima.append(row)
    return minima


# ----- time to quality ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """A training configuration for ``helpers.pretrain.train_steps``: model shape, batch, schedule, steps."""

    name: str
    shape: Shape
    steps: int
    batch_size: int = 12
    block_size: int = 64
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    seed: int = 7

    def train_config(self):
        from helpers.pretrain import TrainConfig

        return TrainConfig(n_layer=self.shape.n_layer, n_head=self.shape.n_head, n_embd=self.shape.n_embd,
                           block_size=self.block_size, dropout=0.0, batch_size=self.batch_size, lr=self.lr,
                           min_lr=self.min_lr, warmup_steps=self.warmup_steps, seed=self.seed)


# nanoGPT's README, "I only have a macbook": --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
# --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0 on config/train_shakespeare_char.py (learning_rate 1e-3,
# min_lr 1e-4, warmup_iters 100). helpers.pretrain's AdamW has beta2 0.95 where that config has 0.99.
NANOGPT_CPU = Recipe("nanoGPT's CPU recipe", Shape(4, 128, 4), steps=2000)


def ms_per_step(recipe: Recipe, train_ids: torch.Tensor, vocab_size: int, steps: int = 20, warmup: int = 5) -> float:
    """Median milliseconds of one training step of ``recipe`` (real batches, AdamW, clipping), after ``warmup``."""
    from helpers.pretrain import batch_indices, get_batch, make_optimizer

    if steps < 1 or warmup < 0:
        raise ValueError(f"need steps >= 1 and warmup >= 0, got {steps}, {warmup}")
    model = build_model(recipe.shape, vocab_size, recipe.block_size)
    cfg = recipe.train_config()
    optimizer = make_optimizer(model, cfg)
    n_chunks = (len(train_ids) - 1) // recipe.block_size
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        x, y = get_batch(train_ids, batch_indices(n_chunks, recipe.batch_size, step, recipe.seed), recipe.block_size)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def train_recipe(recipe: Recipe, train_ids: torch.Tensor, val_ids: torch.Tensor, val_chars: int, vocab_size: int,
                 *, steps: int | None = None, eval_batches: int = 0, progress: bool = True) -> dict:
    """Train ``recipe`` with ``helpers.pretrain.train_steps`` (``steps`` overrides its step count), time it,
    and evaluate on ``val_ids`` (all of it with ``eval_batches=0``). Returns the validation loss per token and
    per character, the wall time of training, steps, tokens, parameters, FLOPs (6ND) and epochs."""
    from helpers.pretrain import evaluate, train_steps

    steps = recipe.steps if steps is None else steps
    model = build_model(recipe.shape, vocab_size, recipe.block_size)
    start = time.perf_counter()
    history = train_steps(model, train_ids, steps, recipe.train_config(), desc=recipe.name, progress=progress)
    seconds = time.perf_counter() - start
    val = evaluate(model, val_ids, recipe.block_size, batches=eval_batches)
    tokens = steps * recipe.batch_size * recipe.block_size
    params = model.num_parameters()
    return {"name": recipe.name, "shape": str(recipe.shape), "steps": steps, "seconds": seconds, "val": val,
            # the stream's len - 1 predicted tokens cover its val_chars characters (as notebook 10, section 7)
            "nats_per_char": nats_per_char(val, len(val_ids) - 1, val_chars),
            "tokens": tokens, "params": params, "flops": training_flops(params, tokens), "epochs": history["epochs"]}

# What notebook 10's IsoFLOP experiment recommends for the recipe's budget (sections 10-11): a smaller model on more
# tokens, at the learning rate of the IsoFLOP runs. Its step count gives about the recipe's wall time on the
# 2-core CPU the notebook was run on (measured ms per step; helpers.bench quality re-measures them).
COMPUTE_OPTIMAL = Recipe("compute-optimal (IsoFLOP)", Shape(2, 64, 4), steps=6000, lr=2e-3, min_lr=2e-4,
                         warmup_steps=300)
