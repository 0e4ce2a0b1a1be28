"""helpers.compute_optimal: C = 6ND, Chinchilla's allocation, the IsoFLOP parabola and power-law fits, nats per
character, and a tiny time-to-quality run. References: Hoffmann et al. 2022 (Chinchilla: 70 B parameters,
1.4 T tokens, 5.76e23 FLOPs; the parametric fit E, A, B, alpha, beta of Section 3.3 and its closed-form
efficient frontier, equation 4); helpers.gpt.GPT's own parameter count."""

import math

import numpy as np
import pytest
import torch

from helpers.compute_optimal import (
    NANOGPT_CPU,
    Recipe,
    Shape,
    chinchilla_optimal,
    count_params,
    fit_parabola,
    fit_power_law,
    isoflop_grid,
    isoflop_minima,
    nats_per_char,
    tokens_for_budget,
    train_recipe,
    training_flops,
)
from helpers.gpt import GPT, GPTConfig

# Hoffmann et al. 2022, Section 3.3 (rounded as printed there)
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28


def hoffmann_loss(n, d):
    return E + A / n**ALPHA + B / d**BETA


def test_six_n_d_and_its_inverse():
    assert training_flops(70e9, 1.4e12) == pytest.approx(5.88e23)  # Chinchilla: 70 B parameters, 1.4 T tokens
    assert tokens_for_budget(5.88e23, 70e9) == pytest.approx(1.4e12)
    assert tokens_for_budget(training_flops(1234, 5678), 1234) == pytest.approx(5678)
    with pytest.raises(ValueError, match="positive"):
        training_flops(0, 10)
    with pytest.raises(ValueError, match="positive"):
        tokens_for_budget(1e12, -5)


def test_chinchilla_optimal_is_twenty_tokens_per_parameter_within_the_budget():
    n, d = chinchilla_optimal(5.76e23)  # Gopher's budget, which Chinchilla used
    assert d / n == pytest.approx(20)
    assert 6 * n * d == pytest.approx(5.76e23)
    assert 65e9 < n < 72e9 and 1.3e12 < d < 1.45e12  # Chinchilla: 70 B parameters, 1.4 T tokens
    n4, _ = chinchilla_optimal(4 * 5.76e23)
    assert n4 / n == pytest.approx(2.0)  # N_opt ∝ C^0.5: 4x the compute, 2x the parameters
    with pytest.raises(ValueError):
        chinchilla_optimal(1e20, tokens_per_param=0)


def test_parabola_recovers_a_known_vertex():
    n = np.logspace(4, 6, 5)
    x0 = math.log(1e5)
    losses = 0.3 * (np.log(n) - x0) ** 2 + 4.0
    p = fit_parabola(n, losses)
    assert p.n_opt == pytest.approx(1e5, rel=1e-6)
    assert p.loss_min == pytest.approx(4.0, abs=1e-9)
    noisy = losses + np.random.default_rng(0).normal(0, 0.01, size=5)
    assert fit_parabola(n, noisy).n_opt == pytest.approx(1e5, rel=0.2)


def test_parabola_without_a_minimum_or_with_too_few_sizes_is_an_error():
    n = [1e4, 1e5, 1e6]
    with pytest.raises(ValueError, match="opens downwards"):
        _ = fit_parabola(n, [4.0, 5.0, 4.0]).n_opt
    with pytest.raises(ValueError, match="at least 3"):
        fit_parabola([1e4, 1e4, 1e5], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="same length"):
        fit_parabola([1e4, 1e5, 1e6], [1.0, 2.0])


def test_power_law_fit_recovers_an_exponent():
    c = np.array([1e18, 1e19, 1e20])
    e, k = fit_power_law(c, 3.0 * c**0.49)
    assert e == pytest.approx(0.49) and k == pytest.approx(3.0)
    with pytest.raises(ValueError):
        fit_power_law([1.0], [2.0])
    with pytest.raises(ValueError):
        fit_power_law([1.0, -2.0], [1.0, 2.0])


def test_isoflop_fit_on_hoffmanns_loss_recovers_its_frontier():
    """IsoFLOP profiles of Hoffmann et al.'s fitted L(N, D), fitted as notebook 10 fits its runs: the parabola
    vertices follow their closed form N_opt = G (C/6)^a, a = beta / (alpha + beta) (equation 4; about 0.46)."""
    budgets = [1e19, 1e20, 1e21]
    results = []
    for c in budgets:
        g = ((ALPHA * A) / (BETA * B)) ** (1 / (ALPHA + BETA))
        center = g * (c / 6) ** (BETA / (ALPHA + BETA))
        for n in center * np.logspace(-0.6, 0.6, 5):
            results.append({"budget": c, "params": n, "val": hoffmann_loss(n, tokens_for_budget(c, n))})
    minima = isoflop_minima(results)
    assert all(m["inside"] for m in minima)
    exponent, _ = fit_power_law(budgets, [m["n_opt"] for m in minima])
    assert exponent == pytest.approx(BETA / (ALPHA + BETA), abs=0.01)  # 0.452
    assert exponent == pytest.approx(0.46, abs=0.02)  # Hoffmann et al., Table 2, approach 3
    for m in minima:
        g = ((ALPHA * A) / (BETA * B)) ** (1 / (ALPHA + BETA))
        assert m["n_opt"] == pytest.approx(g * (m["budget"] / 6) ** (BETA / (ALPHA + BETA)), rel=0.05)


def test_nats_per_character():
    assert nats_per_char(4.0, 264, 1000) == pytest.approx(1.056)
    assert nats_per_char(2.0, 1000, 1000) == 2.0  # one character per token: the same number
    # a tokenizer with longer tokens has a higher loss per token for the same per-character loss
    assert nats_per_char(6.0, 500, 1000) == nats_per_char(3.0, 1000, 1000)
    with pytest.raises(ValueError):
        nats_per_char(4.0, 0, 1000)


def test_parameter_count_and_grid_match_the_model():
    for shape in (Shape(1, 8, 2), Shape(2, 64, 4), NANOGPT_CPU.shape):
        model = GPT(GPTConfig(vocab_size=2048, block_size=64, n_layer=shape.n_layer, n_head=shape.n_head,
                              n_embd=shape.n_embd))
        assert count_params(shape, 2048, 64) == model.num_parameters()
    assert count_params(NANOGPT_CPU.shape, 2048, 64) == 1_063_680  # notebook 10, section 3
    rows = isoflop_grid([1e11, 1e12], [Shape(1, 8, 2), Shape(2, 64, 4)], 2048, 64, tokens_per_step=768)
    assert len(rows) == 4
    for r in rows:
        assert abs(r["flops"] - r["budget"]) <= 3 * r["params"] * 768  # within half a step of the budget
        assert r["tokens"] == r["steps"] * 768
        assert r["tokens_per_param"] == pytest.approx(r["tokens"] / r["params"])
    small, big = rows[0], rows[1]
    assert small["tokens"] > big["tokens"]  # same budget: the smaller model reads more tokens


def test_a_tiny_recipe_trains_and_reports_per_character():
    torch.manual_seed(0)
    ids = torch.randint(0, 50, (5000,))
    val = torch.randint(0, 50, (1000,))
    recipe = Recipe("tiny", Shape(1, 8, 2), steps=3, batch_size=4, block_size=16, warmup_steps=1)
    out = train_recipe(recipe, ids, val, val_chars=2500, vocab_size=50, progress=False)
    assert out["steps"] == 3 and out["tokens"] == 3 * 4 * 16
    assert out["nats_per_char"] == pytest.approx(out["val"] * 999 / 2500)
    assert abs(out["val"] - math.log(50)) < 0.5  # 3 steps: still near uniform guessing
    assert out["flops"] == 6 * out["params"] * out["tokens"] and out["seconds"] > 0


def test_bench_quality_prints_both_losses_both_wall_times_and_the_difference(capsys):
    from helpers.bench import bench_quality

    torch.manual_seed(0)
    data = (torch.randint(0, 50, (5000,)), torch.randint(0, 50, (1000,)), 2500, 50)
    big = Recipe("big", Shape(2, 16, 2), steps=4, batch_size=4, block_size=16, warmup_steps=1)
    small = Recipe("small", Shape(1, 8, 2), steps=6, batch_size=4, block_size=16, warmup_steps=1)
    out = bench_quality(probe_steps=2, rounds=1, recipe=big, candidate=small, data=data)
    text = capsys.readouterr().out
    steps = out["small"]["steps"]  # 4 big steps x (big ms / small ms): timing, so only its report is checked
    assert steps >= 1 and f"= {steps:,} steps" in text
    for r in out.values():
        assert f"{r['nats_per_char']:9.4f}" in text and f"{r['seconds']:7.1f}" in text
    diff = out["big"]["nats_per_char"] - out["small"]["nats_per_char"]
    assert f"{diff:+.4f} nats per character" in text and "wall-time ratio" in text
    bench_quality(fixed=True, probe_steps=1, rounds=1, recipe=big, candidate=small, data=data)
    assert "the notebook's fixed 6 steps" in capsys.readouterr().out
