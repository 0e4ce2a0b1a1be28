"""Sparse attention patterns of the Sparse Transformer (Child et al. 2019) as boolean masks (notebook 11).

Mask convention (as in ``helpers.attention`` and ``torch.nn.functional.scaled_dot_product_attention``):
``mask[i, j]`` is True when query position i may attend to key position j. Every mask here is causal
(``j <= i``) and every position may attend to itself.

>>> local_mask(8, window=3)        # (8, 8): each position sees itself and the 2 before it
>>> strided_mask(16, stride=4)     # the previous 3 positions, and every 4th position back
>>> fixed_mask(16, stride=4)       # its own block of 4, and the last position of every earlier block
>>> reach = receptive_field([m, m])    # which positions the output of layer 2 depends on
>>> attended_pairs(m), pattern_pairs("strided", n=16, stride=4)   # counted, and by formula

Patterns (l = ``stride``, c = ``summary``):

- **local** (sliding window) of width w: ``0 <= i - j < w``.
- **strided**: the two heads of the paper's strided attention merged in one mask: ``i - j < l`` (the previous l
  positions) or ``(i - j) % l == 0`` (every l-th position back). Two such layers reach every earlier position.
- **fixed**: ``j // l == i // l`` (the same block of l positions) or ``j % l >= l - c`` (the last c positions
  of every block: "summary" positions that later blocks read).
"""

from __future__ import annotations

import torch

PATTERNS = ("dense", "local", "strided", "fixed")


def _check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return value


def _gaps(n: int, device=None) -> torch.Tensor:
    """(n, n) int tensor i - j: how far back key j lies from query i (negative: in the future)."""
    i = torch.arange(n, device=device)
    return i[:, None] - i[None, :]  # (n, n)


def dense_mask(n: int, device=None) -> torch.Tensor:
    """(n, n) causal mask: position i may attend to 0..i (what GPT uses)."""
    _check_int("n", n)
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def local_mask(n: int, window: int, device=None) -> torch.Tensor:
    """(n, n) sliding-window mask: position i may attend to i - window + 1 .. i."""
    _check_int("n", n)
    _check_int("window", window)
    d = _gaps(n, device)
    return (d >= 0) & (d < window)


def strided_mask(n: int, stride: int, device=None) -> torch.Tensor:
    """(n, n) strided mask (Child et al. 2019, both heads in one): the previous ``stride`` positions
    (i - j < stride) or every stride-th position back ((i - j) % stride == 0)."""
    _check_int("n", n)
    _check_int("stride", stride)
    d = _gaps(n, device)
    return (d >= 0) & ((d < stride) | (d % stride == 0))


def fixed_mask(n: int, stride: int, summary: int = 1, device=None) -> torch.Tensor:
    """(n, n) fixed mask (Child et al. 2019): the same block of ``stride`` positions (j // stride == i // stride),
    or one of the last ``summary`` positions of any block (j % stride >= stride - summary), causal."""
    _check_int("n", n)
    _check_int("stride", stride)
    _check_int("summary", summary)
    if summary > stride:
        raise ValueError(f"summary ({summary}) must not exceed stride ({stride}): a block has only stride positions")
    i = torch.arange(n, device=device)
    same_block = (i[:, None] // stride) == (i[None, :] // stride)
    summary_col = (i % stride >= stride - summary)[None, :]  # (1, n): the summary positions
    return (i[:, None] >= i[None, :]) & (same_block | summary_col)


def make_mask(pattern: str, n: int, stride: int = 1, device=None) -> torch.Tensor:
    """One of ``PATTERNS`` by name; ``stride`` is the window of "local" and the stride of the others."""
    if pattern == "dense":
        return dense_mask(n, device)
    if pattern == "local":
        return local_mask(n, stride, device)
    if pattern == "strided":
        return strided_mask(n, stride, device)
    if pattern == "fixed":
        return fixed_mask(n, stride, device=device)
    raise ValueError(f"unknown pattern {pattern!r}: choose one of {PATTERNS}")


def _check_mask(mask: torch.Tensor, name: str = "mask") -> None:
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a boolean tensor (True = may attend)")
    if mask.ndim != 2 or mask.shape[0] != mask.shape[1] or mask.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square (n, n) matrix, got shape {tuple(mask.shape)}")


def receptive_field(masks: list[torch.Tensor]) -> torch.Tensor:
    """Which inputs each output position depends on after stacking attention layers with these masks.

    masks: a non-empty list of (n, n) boolean masks, first layer first. Returns an (n, n) boolean matrix:
    entry [i, j] is True when position i of the last layer's output can be influenced by input position j,
    along some path i -> k -> ... -> j. It is the boolean matrix product M_L @ ... @ M_1 (> 0). The residual
    connection needs no extra term: every mask here lets a position attend to itself.
    """
    if not masks:
        raise ValueError("receptive_field needs at least one mask")
    for m in masks:
        _check_mask(m)
        if m.shape != masks[0].shape:
            raise ValueError(f"all masks must have the same shape, got {tuple(masks[0].shape)} and {tuple(m.shape)}")
    reach = masks[0]
    for m in masks[1:]:
        reach = (m.float() @ reach.float()) > 0  # i reaches j if i attends to some k that reaches j
    return reach


def reaches_all_earlier(reach: torch.Tensor) -> bool:
    """True when every position reaches every earlier position (and itself): ``reach`` covers the causal mask."""
    _check_mask(reach, "reach")
    causal = dense_mask(reach.shape[0], reach.device)
    return bool((reach | ~causal).all())


def attended_pairs(mask: torch.Tensor) -> int:
    """Number of (query, key) pairs a mask lets attend: the work of one attention layer (True entries)."""
    _check_mask(mask)
    return int(mask.sum())


def pattern_pairs(pattern: str, n: int, stride: int = 1, summary: int = 1) -> int:
    """Attended pairs of a pattern by formula, without building the (n, n) mask.

    Counts by gap d = i - j (there are n - d query positions with a given gap) or, for "fixed", per query:
    dense n(n + 1)/2; local sum_{d < w} (n - d); strided sum over d < l or d % l == 0 of (n - d);
    fixed sum_i (i % l + 1) + (i // l) * c.
    """
    _check_int("n", n)
    _check_int("stride", stride)
    if pattern == "dense":
        return n * (n + 1) // 2
    if pattern == "local":
        return sum(n - d for d in range(min(stride, n)))
    if pattern == "strided":
        return sum(n - d for d in range(n) if d < stride or d % stride == 0)
    if pattern == "fixed":
        _check_int("summary", summary)
        if summary > stride:
            raise ValueError(f"summary ({summary}) must not exceed stride ({stride})")
        return sum(i % stride + 1 + (i // stride) * summary for i in range(n))
    raise ValueError(f"unknown pattern {pattern!r}: choose one of {PATTERNS}")


def draw_masks(masks: dict[str, torch.Tensor], title: str = ""):
    """Draw masks side by side (rows: query position, columns: key position; dark = may attend)."""
    import matplotlib.pyplot as plt

    if not masks:
        raise ValueError("draw_masks needs at least one mask")
    fig, axes = plt.subplots(1, len(masks), figsize=(3.2 * len(masks), 3.4), squeeze=False)
    for ax, (name, m) in zip(axes[0], masks.items(), strict=True):
        _check_mask(m)
        ax.imshow(m.cpu().numpy(), cmap="Blues", vmin=0, vmax=1.3, interpolation="nearest")
        ax.set_title(f"{name}\n{attended_pairs(m)} pairs")
        ax.set_xlabel("key position j")
        ax.set_ylabel("query position i")
        ax.grid(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
