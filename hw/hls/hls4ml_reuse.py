"""Reuse factors (and strategies) of hls4ml's own matrix layers, as generate writes them into a project.

hls4ml corrects an invalid reuse factor itself (a print on stdout, and hls4ml #867 puts the invalid
one back for 1x1 convs), so generate writes a valid one into the configuration first
(``valid_reuse``) and names every layer whose factor, or strategy, is not the one asked for (``setting_changes``).
hls4ml's rule is stated once, with the op descriptors (hw/hls/ops/hls4ml_matrix.py), which the
planner reads too; our own layers' factors are hw/hls/layers/reuse.py and their ops' rules.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from hw.config import BuildConfig
from hw.hls import ops
from hw.hls.ops import hls4ml_matrix


RESOURCE_MATRIX = ops.keras_classes(reuse=ops.HLS4ML_MATRIX)  # hls4ml corrects their reuse factor


def valid_reuse_factors(backend_name: str, layer, io: str = "stream") -> tuple:
    """(ascending valid reuse factors, why those) of a RESOURCE_MATRIX layer, resource strategy.

    In io_parallel a convolution runs ``conv_2d_resource_cl`` (nnet_conv2d_resource.h), not the
    dense kernels the backend's rule was written for: it walks the inputs as ``i_rf + k*RF``,
    wrapping to ``i_rf``, which is right only when RF divides filt_h*filt_w*n_chan.  A larger RF
    (which the backend accepts, and picks as "closest") reads past its input buffer: Vivado's copy
    of the kernel asserts (the C simulation aborts), Vitis' copy has no such assert (wrong output).
    Otherwise hls4ml's rule, the same for both backends (FPGABackend's; ``backend_name`` names it).
    """
    n_in, n_out = hls4ml_matrix.keras_matrix(layer)
    if io == "parallel" and type(layer).__name__ == "QConv2D":
        return ([rf for rf in range(1, n_in + 1) if n_in % rf == 0],
                f"for io_parallel's resource conv kernel (divisors of filt_h*filt_w*n_chan = {n_in})")
    return (list(ops.of_class(type(layer).__name__).reuse_factors({"n_in": n_in, "n_out": n_out}, "resource")),
            f"for its {n_in}x{n_out} matrix product under the resource strategy (hls4ml's rule)")


def valid_reuse(backend_name: str, layer, wanted: int, io: str = "stream") -> int:
    """The closest valid reuse factor (the smaller on a tie) for a RESOURCE_MATRIX layer.

    hls4ml corrects an invalid one itself, but with a print on stdout, and its pointwise-conv pass
    then rebuilds 1x1 convs from the configuration and puts the invalid one back (hls4ml #867):
    the firmware aborts ("The current Reuse Factor is not allowed").  Writing the valid factor
    into the configuration makes every pass see the same, valid, value; ``setting_changes`` says so.
    """
    valid, _ = valid_reuse_factors(backend_name, layer, io)
    return wanted if wanted in valid else hls4ml_matrix.closest(valid, wanted)


@dataclass(frozen=True)
class SettingChange:
    """A layer whose reuse factor or strategy in the project is not the one asked for."""
    layer: str
    setting: str       # 'reuse factor' or 'strategy'
    requested: object
    used: object
    source: str        # the field that asked: 'reuse' or 'layers.<name>.reuse' (or .strategy)
    why: str

    def note(self) -> str:
        return (f"{self.layer}: {self.setting} {self.used}, not the requested {self.requested} "
                f"('{self.source}'): {self.why}")


def _around(values, wanted: int, each_side: int = 4) -> str:
    """The sorted ``values`` nearest ``wanted``, with '...' where some are left out."""
    at = bisect.bisect_left(values, wanted)
    low, high = max(0, at - each_side), min(len(values), at + each_side)
    return ", ".join((["..."] if low else []) + [str(v) for v in values[low:high]]
                     + (["..."] if high < len(values) else []))


def forced_strategy(layer, io: str):
    """(strategy, why) that ``layer`` gets whatever is asked for, or None."""
    if io == "parallel" and type(layer).__name__ == "QDepthwiseConv2D":
        return "latency", ("hls4ml 1.3 has no resource-strategy depthwise convolution in io_parallel "
                           "(its depthwise_conv_2d_cl asserts), so generate uses the latency one")
    return None


def setting_changes(model, hls_model, cfg: BuildConfig) -> list:
    """[SettingChange] for every layer of ``model`` whose reuse factor, or (for hls4ml's matrix
    layers, the only ones with a strategy) whose strategy, in ``hls_model`` (what is written into
    the project) differs from the requested one: the global one or its override."""
    changes = []
    for layer in model.layers:
        try:
            hls_layer = hls_model.graph[layer.name]
        except KeyError:  # a layer hls4ml folded away (an input quantizer, a linear activation)
            continue
        matrix = type(layer).__name__ in RESOURCE_MATRIX
        requested, source = cfg.requested(layer.name, "reuse")
        used = hls_layer.get_attr("reuse_factor")
        if used is not None and used != requested:
            if matrix:
                valid, rule = valid_reuse_factors(cfg.backend.capitalize(), layer, cfg.io)
                why = f"the valid ones {rule} are {_around(valid, requested)}"
            else:
                why = f"hls4ml's choice for its {hls_layer.class_name}"
            changes.append(SettingChange(layer.name, "reuse factor", int(requested), int(used), source, why))
        requested, source = cfg.requested(layer.name, "strategy")
        used = hls_layer.get_attr("strategy")
        if matrix and used is not None and str(used).lower() != requested.lower():
            forced = forced_strategy(layer, cfg.io)
            why = forced[1] if forced else f"hls4ml's choice for its {hls_layer.class_name}"
            changes.append(SettingChange(layer.name, "strategy", requested.lower(), str(used).lower(), source, why))
    return changes
