"""Sparse attention masks (notebook 11): exact small patterns, causality, receptive fields, pair counts, errors."""

import pytest
import torch
import torch.nn.functional as F

from helpers.sparse_attention import (
    attended_pairs,
    dense_mask,
    draw_masks,
    fixed_mask,
    local_mask,
    make_mask,
    pattern_pairs,
    reaches_all_earlier,
    receptive_field,
    strided_mask,
)


def rows(*lines: str) -> torch.Tensor:
    """A mask written by hand: one string per query row, '1' = may attend."""
    return torch.tensor([[c == "1" for c in line] for line in lines])


def test_local_exact_small():
    expected = rows("100000",
                    "110000",
                    "111000",
                    "011100",
                    "001110",
                    "000111")
    assert torch.equal(local_mask(6, 3), expected)


def test_strided_exact_small():
    # stride 3: the previous 3 positions (gap 0, 1, 2) and gaps 3, 6, ...
    expected = rows("10000000",
                    "11000000",
                    "11100000",
                    "11110000",
                    "01111000",
                    "00111100",
                    "10011110",
                    "01001111")
    assert torch.equal(strided_mask(8, 3), expected)


def test_fixed_exact_small():
    # stride 3, summary 1: own block {0,1,2}, {3,4,5}, {6,7}; summary columns 2 and 5
    expected = rows("10000000",
                    "11000000",
                    "11100000",
                    "00110000",
                    "00111000",
                    "00111100",
                    "00100110",
                    "00100111")
    assert torch.equal(fixed_mask(8, 3), expected)


@pytest.mark.parametrize("pattern", ["dense", "local", "strided", "fixed"])
@pytest.mark.parametrize("n, stride", [(1, 1), (7, 2), (16, 4), (33, 5)])
def test_shape_causal_diagonal(pattern, n, stride):
    m = make_mask(pattern, n, stride)
    assert m.shape == (n, n) and m.dtype == torch.bool
    assert not torch.triu(m, diagonal=1).any()  # causal: never a later position
    assert m.diagonal().all()  # every position sees itself
    assert (m <= dense_mask(n)).all()


def test_dense_equals_course_causal_mask():
    from helpers.attention import causal_mask

    assert torch.equal(dense_mask(9), causal_mask(9))
    assert torch.equal(local_mask(9, 9), dense_mask(9))  # a window as long as the sequence is dense


@pytest.mark.parametrize("n", [9, 16, 50, 100, 257])
def test_two_strided_layers_reach_everything_one_does_not(n):
    stride = max(2, round(n ** 0.5))
    m = strided_mask(n, stride)
    assert not reaches_all_earlier(receptive_field([m]))
    assert reaches_all_earlier(receptive_field([m, m]))


@pytest.mark.parametrize("n", [16, 64, 100])
def test_fixed_two_layers_reach_everything(n):
    m = fixed_mask(n, max(2, round(n ** 0.5)))
    assert not reaches_all_earlier(receptive_field([m]))
    assert reaches_all_earlier(receptive_field([m, m]))


@pytest.mark.parametrize("n, window", [(32, 4), (30, 7), (64, 8)])
def test_local_needs_about_n_over_w_layers(n, window):
    # each layer reaches window - 1 further back; to reach n - 1 back needs ceil((n - 1) / (window - 1)) layers
    need = -(-(n - 1) // (window - 1))
    m = local_mask(n, window)
    assert not reaches_all_earlier(receptive_field([m] * (need - 1)))
    assert reaches_all_earlier(receptive_field([m] * need))


def test_receptive_field_is_matrix_product():
    torch.manual_seed(0)
    a = (torch.rand(12, 12) < 0.3).tril() | torch.eye(12, dtype=torch.bool)
    b = (torch.rand(12, 12) < 0.3).tril() | torch.eye(12, dtype=torch.bool)
    expected = torch.zeros(12, 12, dtype=torch.bool)
    for i in range(12):
        for j in range(12):
            expected[i, j] = any(b[i, k] and a[k, j] for k in range(12))  # layer 1 = a, then layer 2 = b
    assert torch.equal(receptive_field([a, b]), expected)
    assert torch.equal(receptive_field([a]), a)


@pytest.mark.parametrize("pattern", ["dense", "local", "strided", "fixed"])
@pytest.mark.parametrize("n, stride", [(1, 1), (10, 3), (64, 8), (100, 10), (101, 7)])
def test_pair_formulas_match_counts(pattern, n, stride):
    assert pattern_pairs(pattern, n, stride) == attended_pairs(make_mask(pattern, n, stride))


def test_fixed_summary_pairs():
    assert pattern_pairs("fixed", 40, 8, summary=3) == attended_pairs(fixed_mask(40, 8, summary=3))


def test_sparse_cost_grows_like_n_sqrt_n():
    # with stride = sqrt(n), strided pairs / n^1.5 stays bounded while dense pairs / n^1.5 grows
    ratios = [pattern_pairs("strided", n, int(n ** 0.5)) / n ** 1.5 for n in (256, 1024, 4096)]
    dense = [pattern_pairs("dense", n) / n ** 1.5 for n in (256, 1024, 4096)]
    assert max(ratios) / min(ratios) < 1.2
    assert dense[-1] / dense[0] > 3.9


def test_masked_sdpa_equals_course_attention():
    from helpers.attention import scaled_dot_product_attention

    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 20, 8).unbind(0)
    m = strided_mask(20, 4)
    ours, weights = scaled_dot_product_attention(q, k, v, mask=m)
    torch.testing.assert_close(F.scaled_dot_product_attention(q, k, v, attn_mask=m), ours)
    assert (weights[..., ~m] == 0).all()


@pytest.mark.parametrize("call, error, text", [
    (lambda: local_mask(0, 2), ValueError, "n must be at least 1"),
    (lambda: local_mask(5, 0), ValueError, "window must be at least 1"),
    (lambda: strided_mask(5, 0), ValueError, "stride must be at least 1"),
    (lambda: strided_mask(5.0, 2), TypeError, "n must be an int"),
    (lambda: fixed_mask(5, 2, summary=3), ValueError, "must not exceed stride"),
    (lambda: fixed_mask(5, -1), ValueError, "stride must be at least 1"),
    (lambda: make_mask("banded", 5, 2), ValueError, "unknown pattern"),
    (lambda: pattern_pairs("banded", 5, 2), ValueError, "unknown pattern"),
    (lambda: pattern_pairs("dense", 0), ValueError, "n must be at least 1"),
    (lambda: receptive_field([]), ValueError, "at least one mask"),
    (lambda: receptive_field([dense_mask(3), dense_mask(4)]), ValueError, "same shape"),
    (lambda: receptive_field([torch.ones(3, 3)]), TypeError, "boolean"),
    (lambda: attended_pairs(torch.ones(3, 4, dtype=torch.bool)), ValueError, "square"),
    (lambda: draw_masks({}), ValueError, "at least one mask"),
])
def test_errors(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_draw_masks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw_masks({"local": local_mask(8, 3), "strided": strided_mask(8, 3)}, title="patterns")
    assert len(fig.axes) == 2 and "pairs" in fig.axes[0].get_title()
    plt.close(fig)
