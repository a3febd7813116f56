"""The selective attention's rules (our HSelectiveAttention, hw/hls/layers/selective_attention.py).

Reuse factor R (``hw.hls.layers.reuse``): one pixel every R clocks, its channels computed by
ceil(n_chan / R) lanes of two multipliers.  Kept apart from the hls4ml layer so that the registry,
the estimator and the planner read them without hls4ml.
"""
from __future__ import annotations

from hw.hls.layers import reuse as R

MULTIPLIERS_PER_CHANNEL = 2   # V' * sigma(A), then * S


def keras_geometry(layer) -> dict:
    """The geometry ``valid_reuse_factors`` reads, from the Keras SelectiveAttention."""
    return {"n_chan": int(layer.input_shape[0][-1])}


def valid_reuse_factors(layer_geometry, multiplier: str = "lut") -> tuple:
    """The reuse factors worth planning with, from ``n_chan`` (every R >= 1 is accepted; the
    multiplier is always 'lut')."""
    return R.useful_reuse_factors(R.geometry(layer_geometry, ("n_chan",))["n_chan"])


def multipliers(layer_geometry, reuse: int, multiplier: str = "lut") -> int:
    return MULTIPLIERS_PER_CHANNEL * R.copies(R.geometry(layer_geometry, ("n_chan",))["n_chan"], reuse)
