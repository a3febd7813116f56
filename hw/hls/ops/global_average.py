"""The folded global average's rules (our HGlobalAverage, hw/hls/layers/global_average.py).

hls4ml's global average adds every channel of a pixel in the same clock: n_filt accumulators and
adders, and n_filt dividers at the end.  At the end of a network a pixel has hundreds of channels
and the feature map few pixels (AttendNet-A: 7 x 7 x 768), so that parallelism buys nothing: the
layers before it deliver a pixel every R clocks at best.  Folded by F, the kernel adds a pixel's
n_filt channels in F steps of n_filt / F lanes (FINN's PE idea), so adders, dividers and
output casts scale with n_filt / F, and the accumulators sit in a memory F rows deep.  Its loop
runs F steps per pixel and F more to write the means: pixels x F + F iterations at II 1.

The arithmetic is hls4ml's, term for term (the same sums in the same order, the same division
and cast), so a fold never changes a result; csim and the sweep check it.  These rules are read
by generation (the config check), the estimator and the planner, without hls4ml.
"""
from __future__ import annotations

IO = "stream"      # the only io type a fold above 1 exists for (hls4ml's io_parallel mean is another expression)


def valid_folds(n_filt: int) -> tuple:
    """Folds F a global average over ``n_filt`` channels takes: F divides n_filt (every step the
    same number of lanes); F = 1 is hls4ml's own kernel."""
    return tuple(f for f in range(1, n_filt + 1) if n_filt % f == 0)


def lanes(n_filt: int, fold: int) -> int:
    """Channels added in one clock."""
    return n_filt // fold


def iterations(pixels: int, fold: int) -> int:
    """Iterations of the folded kernel's loop (II 1): F steps per input pixel, then F output steps;
    hls4ml's unfolded kernel takes one per pixel."""
    return pixels if fold == 1 else pixels * fold + fold


def check_fold(layer: str, n_filt: int, fold) -> int:
    """``fold`` if the global average ``layer`` takes it, else a ValueError naming the layer, the
    value and the folds it takes."""
    valid = valid_folds(n_filt)
    if not isinstance(fold, int) or isinstance(fold, bool) or fold not in valid:
        shown = valid if len(valid) <= 12 else valid[:6] + ("...",) + valid[-3:]
        raise ValueError(f"layer {layer}: fold {fold!r} is not possible for a global average of {n_filt} channels; "
                         f"a fold divides the channels: {', '.join(map(str, shown))}")
    return fold
