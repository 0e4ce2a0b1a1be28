"""Layer costs (notebook 04): FLOP and step counts against hand formulas and PyTorch's FLOP counter; timing helpers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import helpers.layer_cost as layer_cost
from helpers.layer_cost import (
    SelfAttentionLayer,
    count_flops,
    flop_crossover,
    forward_backward,
    loglog_slopes,
    median_times,
    recurrent_cost,
    self_attention_cost,
)
from helpers.rnn import RNN, RNNCell


def test_counts_match_hand_formulas():
    rnn = recurrent_cost(10, 8)
    assert rnn.flops == rnn.mixing_flops == 2 * 10 * (2 * 8 * 8)  # x W_ih^T and h W_hh^T, 10 steps
    assert (rnn.sequential_ops, rnn.max_path_length) == (10, 10)
    lstm = recurrent_cost(10, 8, gates=4)
    assert lstm.flops == 4 * rnn.flops and lstm.name == "LSTM"
    att = self_attention_cost(10, 8)
    assert att.mixing_flops == 2 * 10 * 10 * 8 * 2  # Q K^T and weights V
    assert att.flops == att.mixing_flops + 3 * 2 * 10 * 8 * 8  # plus Q, K, V projections
    assert (att.sequential_ops, att.max_path_length) == (1, 1)
    # Table 1's orders: doubling n doubles the RNN's cost and quadruples attention's mixing cost
    assert recurrent_cost(20, 8).flops == 2 * rnn.flops
    assert self_attention_cost(20, 8).mixing_flops == 4 * att.mixing_flops
    assert recurrent_cost(10, 16).flops == 4 * rnn.flops  # ... and doubling d quadruples the RNN's


@pytest.mark.parametrize("d", [1, 7, 64, 256, 512, 1000])
def test_crossover_of_table_1_is_n_equals_d(d):
    assert flop_crossover(d) == d
    below, at = max(d - 1, 1), d
    if d > 1:
        assert self_attention_cost(below, d).mixing_flops < recurrent_cost(below, d).mixing_flops
    assert self_attention_cost(at, d).mixing_flops == recurrent_cost(at, d).mixing_flops


def test_crossover_with_gates_and_projections():
    assert flop_crossover(512, gates=4) == 4 * 512  # 4 n^2 d = 16 n d^2
    assert flop_crossover(512, gates=4, total=True) == 1280  # 6 n d^2 + 4 n^2 d = 16 n d^2 at n = 2.5 d
    assert flop_crossover(100, gates=3, total=True) == 150  # GRU: 4 n^2 d = 6 n d^2
    assert flop_crossover(256, total=True) == 1  # with its projections, attention never beats an Elman RNN


@pytest.mark.parametrize("make", [lambda d: RNN(d, d), lambda d: nn.RNN(d, d, batch_first=True),
                                  lambda d: SelfAttentionLayer(d)])
def test_counts_equal_pytorch_flop_counter(make):
    torch.manual_seed(0)
    n, d = 12, 8
    layer = make(d)
    counted = count_flops(lambda: layer(torch.randn(1, n, d)))
    expected = (self_attention_cost if isinstance(layer, SelfAttentionLayer) else recurrent_cost)(n, d).flops
    assert counted == expected, (type(layer).__name__, counted, expected)


def test_backward_costs_about_twice_the_forward():
    torch.manual_seed(0)
    n, d = 32, 16
    layer = SelfAttentionLayer(d)
    x = torch.randn(1, n, d, requires_grad=True)
    total = count_flops(forward_backward(layer, x))
    assert total == 3 * self_attention_cost(n, d).flops  # every product's two gradients cost what it did


def test_course_rnn_and_nn_rnn_agree_and_take_n_steps():
    torch.manual_seed(0)
    n, d = 9, 16
    ref = nn.RNN(d, d, batch_first=True)
    ours = RNN(d, d)
    ours.load_torch_weights(ref)
    x = torch.randn(2, n, d)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=1e-5)
    forward_backward(ours, x)()
    forward_backward(ref, x)()
    torch.testing.assert_close(ours.cells[0].weight_hh.grad, ref.weight_hh_l0.grad, atol=1e-5, rtol=1e-5)
    calls = []
    hook = ours.cells[0].register_forward_hook(lambda *_: calls.append(1))
    ours(x)
    hook.remove()
    assert isinstance(ours.cells[0], RNNCell) and len(calls) == recurrent_cost(n, d).sequential_ops


def test_self_attention_layer_equals_pytorch_sdpa():
    torch.manual_seed(0)
    layer = SelfAttentionLayer(16)
    x = torch.randn(3, 10, 16)
    q, k, v = (x @ w.T for w in layer.qkv.weight.chunk(3, dim=0))
    torch.testing.assert_close(layer(x), F.scaled_dot_product_attention(q, k, v), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, n, 16\)"):
        layer(torch.randn(10, 16))


def test_forward_backward_resets_gradients():
    torch.manual_seed(0)
    layer = SelfAttentionLayer(8)
    run = forward_backward(layer, torch.randn(1, 5, 8))
    run()
    first = layer.qkv.weight.grad.clone()
    run()
    torch.testing.assert_close(layer.qkv.weight.grad, first)  # not doubled


def test_median_times_interleaves_and_takes_medians(monkeypatch):
    clock, order = [0.0], []
    durations = {"a": iter([9.0, 1.0, 5.0, 2.0]), "b": iter([0.5, 3.0, 3.0, 4.0])}  # one warm-up, then 3 timed

    def make(name):
        def fn():
            order.append(name)
            clock[0] += next(durations[name])
        return fn

    monkeypatch.setattr(layer_cost.time, "perf_counter", lambda: clock[0])
    medians = median_times({"a": make("a"), "b": make("b")}, repeats=3, warmup=1)
    assert medians == {"a": 2.0, "b": 3.0}
    assert order == ["a", "b"] * 4  # round robin, warm-up included


def test_loglog_slopes():
    assert loglog_slopes([1, 2, 4], [3.0, 6.0, 24.0]) == pytest.approx([1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        loglog_slopes([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="at least two"):
        loglog_slopes([1], [1.0])


@pytest.mark.parametrize("call", [lambda: recurrent_cost(0, 8), lambda: self_attention_cost(8, 2.5),
                                  lambda: recurrent_cost(4, 4, gates=True), lambda: flop_crossover(-1),
                                  lambda: median_times({}), lambda: median_times({"a": lambda: None}, repeats=0),
                                  lambda: SelfAttentionLayer(0)])
def test_bad_inputs_get_clear_errors(call):
    with pytest.raises(ValueError):
        call()
