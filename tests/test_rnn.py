"""RNN, LSTM and GRU from scratch (notebook 02) against torch.nn.RNN / LSTM / GRU, and the gradient tools."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.rnn import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    RNNCell,
    RNNLanguageModel,
    copy_task,
    copy_task_vocab_size,
    hidden_state_gradients,
    set_spectral_radius,
    spectral_radius,
    symbol_positions,
)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind, kwargs", [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}),
                                          ("GRU", {})])
def test_rnn_and_gru_equal_torch_with_copied_weights(kind, kwargs, num_layers):
    """One hidden state each, so one test: outputs, final state and the BPTT gradients match nn.RNN / nn.GRU."""
    torch.manual_seed(0)
    B, T, n_in, H = 3, 7, 5, 6
    ref = getattr(nn, kind)(n_in, H, num_layers, batch_first=True, **kwargs)
    ours = {"RNN": RNN, "GRU": GRU}[kind](n_in, H, num_layers, **kwargs)
    ours.load_torch_weights(ref)
    x, h0 = torch.randn(B, T, n_in), torch.randn(num_layers, B, H)
    for args in [(x,), (x, h0)]:
        out, h_n = ours(*args)
        ref_out, ref_h = ref(*args)
        torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(h_n, ref_h, atol=1e-5, rtol=1e-5)
    # the gradients agree too (same function, so the same BPTT)
    ours(x, h0)[0].square().sum().backward()
    ref(x, h0)[0].square().sum().backward()
    torch.testing.assert_close(ours.cells[0].weight_hh.grad, ref.weight_hh_l0.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_equals_torch_lstm_with_copied_weights(num_layers):
    torch.manual_seed(0)
    B, T, n_in, H = 3, 7, 5, 6
    ref = nn.LSTM(n_in, H, num_layers, batch_first=True)
    ours = LSTM(n_in, H, num_layers)
    ours.load_torch_weights(ref)
    x = torch.randn(B, T, n_in)
    state = (torch.randn(num_layers, B, H), torch.randn(num_layers, B, H))
    for args in [(x,), (x, state)]:
        out, (h_n, c_n) = ours(*args)
        ref_out, (ref_h, ref_c) = ref(*args)
        torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(h_n, ref_h, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(c_n, ref_c, atol=1e-5, rtol=1e-5)


def test_gru_cell_follows_the_gates_and_keeps_the_state_when_z_is_one():
    torch.manual_seed(0)
    cell = GRUCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    W_ir, W_iz, W_in = cell.weight_ih.detach().chunk(3)  # rows r, z, n
    W_hr, W_hz, W_hn = cell.weight_hh.detach().chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.detach().chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.detach().chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    torch.testing.assert_close(cell(x, h), (1 - z) * n + z * h)
    with torch.no_grad():  # a huge update-gate bias: z = 1, the state passes unchanged
        cell.bias_ih[4:8] = 50.0
    torch.testing.assert_close(cell(x, h), h)


def test_cells_equal_torch_cells():
    torch.manual_seed(0)
    x, h, c = torch.randn(4, 3), torch.randn(4, 5), torch.randn(4, 5)
    ref_rnn, ref_lstm, ref_gru = nn.RNNCell(3, 5), nn.LSTMCell(3, 5), nn.GRUCell(3, 5)
    rnn, lstm, gru = RNNCell(3, 5), LSTMCell(3, 5), GRUCell(3, 5)
    rnn.load_state_dict(ref_rnn.state_dict())  # the same parameter names as PyTorch's cells
    lstm.load_state_dict(ref_lstm.state_dict())
    gru.load_state_dict(ref_gru.state_dict())
    torch.testing.assert_close(rnn(x, h), ref_rnn(x, h))
    torch.testing.assert_close(gru(x, h), ref_gru(x, h))
    for a, b in zip(lstm(x, (h, c)), ref_lstm(x, (h, c))):
        torch.testing.assert_close(a, b)


def test_forget_bias_sets_the_forget_gate_total_bias_only():
    cell = LSTMCell(3, 4, forget_bias=1.0)
    total = cell.bias_ih + cell.bias_hh  # (4H,): rows i, f, g, o
    assert torch.allclose(total[4:8], torch.ones(4))
    assert (total[:4].abs() <= 1).all() and not torch.allclose(total[:4], torch.ones(4))


def test_language_model_shapes_loss_and_sampling():
    torch.manual_seed(0)
    for cell in ("rnn", "lstm"):
        lm = RNNLanguageModel(11, 8, 16, num_layers=2, cell=cell)
        idx = torch.randint(0, 11, (2, 9))
        logits, loss, _ = lm(idx, idx)
        assert logits.shape == (2, 9, 11)
        assert abs(loss.item() - math.log(11)) < 0.5  # near uniform at initialisation
        # carrying the state across two halves gives the same logits as one pass
        first, _, state = lm(idx[:, :4])
        second, _, _ = lm(idx[:, 4:], state=state)
        torch.testing.assert_close(torch.cat([first, second], 1), logits, atol=1e-6, rtol=1e-5)
        out = lm.generate(idx[:, :3], 5, generator=torch.Generator().manual_seed(0))
        assert out.shape == (2, 8) and torch.equal(out[:, :3], idx[:, :3]) and out.max() < 11


def test_set_spectral_radius_gives_the_asked_radius():
    torch.manual_seed(0)
    W = torch.randn(32, 32)
    for rho in (0.5, 1.0, 2.0):
        scaled = set_spectral_radius(W, rho)
        assert abs(torch.linalg.eigvals(scaled.double()).abs().max().item() - rho) < 1e-5
        assert abs(spectral_radius(scaled) - rho) < 1e-5
        # a rescaling: same direction as W
        assert torch.allclose(scaled / scaled.norm(), W / W.norm(), atol=1e-6)


def test_linear_rnn_gradients_follow_powers_of_the_recurrent_matrix():
    torch.manual_seed(0)
    H, T = 8, 12
    rnn = RNN(3, H, nonlinearity="linear")
    x = torch.randn(1, T, 3)
    norms = hidden_state_gradients(rnn, x)  # L = sum(h_T): dL/dh_T = ones
    W = rnn.cells[0].weight_hh.detach()
    for k in range(T):
        expected = (torch.linalg.matrix_power(W.T, k) @ torch.ones(H)).norm()
        assert torch.isclose(norms[T - 1 - k], expected, rtol=1e-4)


def test_hidden_state_gradients_vanish_for_a_tanh_rnn():
    torch.manual_seed(0)
    rnn = RNN(4, 32)  # PyTorch's init: spectral radius about 0.58
    norms = hidden_state_gradients(rnn, torch.randn(8, 40, 4)).flip(0)
    assert norms[30] < 1e-3 * norms[0]
    assert (norms[1:] < norms[:-1]).float().mean() > 0.9  # nearly always smaller one step further back


def test_copy_task_data_and_gradient_reaches_the_first_step():
    g = torch.Generator().manual_seed(0)
    x, y = copy_task(16, 20, generator=g)
    assert x.shape == (16, 22) and y.shape == (16,)
    assert torch.equal(x[:, 0], y) and (y < 8).all()
    assert ((x[:, 1:-1] >= 8) & (x[:, 1:-1] < 16)).all() and (x[:, -1] == 16).all()
    assert copy_task_vocab_size() == 17
    torch.manual_seed(0)
    lm = RNNLanguageModel(copy_task_vocab_size(), 16, 32, cell="lstm", forget_bias=1.0)
    norms = hidden_state_gradients(lm, x, lambda h: F.cross_entropy(lm.head(h), y))
    assert norms.shape == (22,) and torch.isfinite(norms).all() and norms[0] > 0
    # the loss at the query depends on the symbol at step 1: its embedding gets a gradient
    emb = lm.embed(x).detach().requires_grad_()
    out, _ = lm.rnn(emb)
    F.cross_entropy(lm.head(out[:, -1]), y).backward()
    assert emb.grad[:, 0].norm() > 0


def test_copy_task_random_position_puts_one_symbol_anywhere():
    x, y = copy_task(4000, 9, generator=torch.Generator().manual_seed(0), position="random")
    assert x.shape == (4000, 11) and (x[:, -1] == 16).all()
    where = symbol_positions(x)
    assert torch.equal(x[torch.arange(4000), where], y)
    assert ((x[:, :-1] < 8).sum(dim=1) == 1).all()  # exactly one symbol per row, distractors elsewhere
    counts = torch.bincount(where, minlength=10)
    assert counts.shape == (10,) and counts.min() > 300  # every position 0..9 is used, about 400 times each
    first, _ = copy_task(50, 9, generator=torch.Generator().manual_seed(0))
    assert (symbol_positions(first) == 0).all()  # the default keeps the symbol first


def test_per_example_hidden_state_gradients_match_separate_runs():
    torch.manual_seed(0)
    lm = RNNLanguageModel(copy_task_vocab_size(), 8, 16)
    x, y = copy_task(5, 7, generator=torch.Generator().manual_seed(1), position="random")
    both = hidden_state_gradients(lm, x, lambda h: F.cross_entropy(lm.head(h), y, reduction="sum"), per_example=True)
    assert both.shape == (5, 9)
    for b in range(5):
        alone = hidden_state_gradients(lm, x[b:b + 1], lambda h, b=b: F.cross_entropy(lm.head(h), y[b:b + 1]))
        assert torch.allclose(both[b], alone, rtol=1e-5, atol=1e-12)
    assert torch.allclose(both.mean(dim=0), hidden_state_gradients(
        lm, x, lambda h: F.cross_entropy(lm.head(h), y, reduction="sum")))


def test_input_validation():
    with pytest.raises(ValueError, match="rho"):
        set_spectral_radius(torch.randn(4, 4), 0.0)
    with pytest.raises(ValueError, match="rho"):
        set_spectral_radius(torch.randn(4, 4), -1.0)
    with pytest.raises(ValueError, match="square"):
        set_spectral_radius(torch.randn(4, 5), 1.0)
    with pytest.raises(ValueError, match="radius 0"):
        set_spectral_radius(torch.zeros(4, 4), 1.0)
    rnn = RNN(3, 4)
    with pytest.raises(ValueError, match=r"\(B, T, 3\)"):
        rnn(torch.randn(2, 3))
    with pytest.raises(ValueError, match="3 input features"):
        rnn(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="empty"):
        rnn(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match="h0"):
        rnn(torch.randn(2, 5, 3), torch.randn(2, 2, 4))
    with pytest.raises(ValueError, match="pair"):
        LSTM(3, 4)(torch.randn(2, 5, 3), torch.randn(1, 2, 4))
    with pytest.raises(ValueError, match="hidden_size"):
        RNN(3, 0)
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="sizes differ"):
        RNN(3, 4).load_torch_weights(nn.RNN(3, 5))
    with pytest.raises(TypeError, match="LSTM"):
        LSTM(3, 4).load_torch_weights(nn.RNN(3, 4))
    with pytest.raises(TypeError, match="GRU"):
        GRU(3, 4).load_torch_weights(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="unidirectional"):
        GRU(3, 4).load_torch_weights(nn.GRU(3, 4, bidirectional=True))
    with pytest.raises(ValueError, match="h0"):
        GRU(3, 4)(torch.randn(2, 5, 3), torch.randn(1, 3, 4))
    with pytest.raises(ValueError, match="hidden_size"):
        GRUCell(3, 0)
    with pytest.raises(ValueError, match="nonlinearity differs"):
        RNN(3, 4).load_torch_weights(nn.RNN(3, 4, nonlinearity="relu"))
    lm = RNNLanguageModel(5, 4, 4)
    with pytest.raises(ValueError, match="0..4"):
        lm(torch.tensor([[1, 5]]))
    with pytest.raises(ValueError, match="targets"):
        lm(torch.tensor([[1, 2]]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="cell"):
        RNNLanguageModel(5, 4, 4, cell="gru")
    with pytest.raises(ValueError, match="temperature"):
        lm.generate(torch.tensor([[1]]), 2, temperature=0)
    with pytest.raises(ValueError, match="n_symbols"):
        copy_task(4, 3, n_symbols=1)
    with pytest.raises(ValueError, match="distance"):
        copy_task(4, 0)
    with pytest.raises(ValueError, match="position"):
        copy_task(4, 3, position="last")
    with pytest.raises(ValueError, match="exactly one symbol"):
        symbol_positions(torch.tensor([[8, 9, 16]]))
    with pytest.raises(ValueError, match="scalar"):
        hidden_state_gradients(rnn, torch.randn(2, 5, 3), lambda h: h)
