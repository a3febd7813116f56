"""hls4ml's reuse rule for its matrix kernels (Conv2D, PointwiseConv2D, Dense, DepthwiseConv2D), stated once.

hls4ml 1.3's ``FPGABackend._validate_reuse_factor``: R divides n_in*n_out, and R < n_in or R is a
multiple of n_in (with the multiplier limit ceil(n_in*n_out / min(n_in, R)) a multiple of n_out, or
R >= n_in).  Both strategies: the Resource kernels abort on any other value, and the Latency
kernels' multiplier limit ceil(n_in*n_out / R) is exact only for those.  The Latency strategy also
unrolls every product before limiting them, which Vivado HLS refuses beyond 4096 (hls4ml #1013,
#572): larger layers must use the Resource strategy.  hls4ml replaces an invalid factor by the
closest valid one, the smaller on a tie (``get_closest_reuse_factor``).

Generation (hw/hls/hls4ml_reuse.py) and the planner (hw/estimate/reuse.py) both read this;
tests/estimate/test_estimator.py checks it against hls4ml's own functions.  Pure Python: no hls4ml.
"""
from __future__ import annotations

from functools import lru_cache

LATENCY_UNROLL_LIMIT = 4096


def valid(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml 1.3's FPGABackend._validate_reuse_factor."""
    multfactor = min(n_in, rf)
    multiplier_limit = -(-(n_in * n_out) // multfactor)
    ok = (multiplier_limit % n_out == 0) or rf >= n_in
    ok = ok and (rf % n_in == 0 or rf < n_in)
    return ok and (n_in * n_out) % rf == 0


@lru_cache(maxsize=None)
def factors(n_in: int, n_out: int) -> tuple:
    """Every valid factor, ascending (hls4ml's get_valid_reuse_factors: only divisors can be valid)."""
    total = n_in * n_out
    divisors = sorted({d for i in range(1, int(total ** 0.5) + 1) if total % i == 0 for d in (i, total // i)})
    return tuple(rf for rf in divisors if valid(n_in, n_out, rf))


def reuse_factors(n_in: int, n_out: int, strategy: str) -> tuple:
    """The factors the layer takes under ``strategy`` (empty: the strategy is not allowed)."""
    if strategy == "latency" and n_in * n_out > LATENCY_UNROLL_LIMIT:
        return ()
    return factors(n_in, n_out)


def closest(valid_factors, wanted: int) -> int:
    """hls4ml's choice for an invalid factor: the nearest valid one, the smaller on a tie."""
    return min(valid_factors, key=lambda rf: (abs(rf - wanted), rf))


def keras_matrix(layer) -> tuple:
    """(n_in, n_out) of the matrix-vector product hls4ml's kernels compute for a Keras layer
    (for a depthwise conv, the backend's get_layer_mult_size: kh*kw*C by C*multiplier)."""
    kind = type(layer).__name__
    if kind == "QDense":
        return int(layer.kernel.shape[0]), int(layer.kernel.shape[1])
    if kind == "QDepthwiseConv2D":
        kh, kw, cin, mult = (int(d) for d in layer.depthwise_kernel.shape)
        return kh * kw * cin, cin * mult
    kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
    return kh * kw * cin, cout
