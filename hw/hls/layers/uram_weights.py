"""Weights of our grouped conv in URAM, loaded at run time (an hls4ml optimizer pass).

UltraRAM takes no initial contents from the bitstream (UG901), so a layer configured
``storage: uram`` cannot keep its weights as a ROM.  This pass makes its weight array external by
hls4ml's own mechanism (``storage = 'bram'``, what ``BramFactor`` does): the writer then makes it an
argument of the network's top function and hls4ml's test bench and bridge pass the header's array.
The AXI top (hw/hls/accelerator.py, templates/axi_load.cpp) owns the array instead: it declares it
bound to URAM, zero at power-up, and fills it from the weight frame, the first input frame after
reset, before it runs the first image.  ``memories`` gives generation each such array, its rows
(the layout of hw/hls/layers/weight_rows.py: R rows of n_filt x taps / R weights) and its codes.

Only io_stream: hls4ml's io_parallel network is one pipelined function whose external arrays it
would partition completely (hw.config refuses uram there, and so does this pass).
"""
from __future__ import annotations

import numpy as np
from hls4ml.backends.fpga.fpga_types import BramWeightVariableConverter
from hls4ml.model.optimizer import OptimizerPass

from hw.hls.layers import reuse as R

PASS_NAME = "attendnets_uram_weights"
FLOW = "vivado:specific_types"   # after vivado:transform_types, which sets every weight's storage to 'register'
STORAGE = "uram"
EXTERNAL = "bram"                # hls4ml's name for a weight array that is an argument of the top function


class ExternalUramWeights(OptimizerPass):
    """Make the weight array of each HGroupConv2D with weight_storage 'uram' an argument of the top."""

    def match(self, node):
        weight = node.weights.get("weight") if node.class_name == "HGroupConv2D" else None
        return (weight is not None and node.get_attr("weight_storage", "registers") == STORAGE
                and getattr(weight, "storage", "register") != EXTERNAL)

    def transform(self, model, node):
        io = model.config.get_config_value("IOType")
        if io != "io_stream":
            raise ValueError(f"layer {node.name}: storage 'uram' needs io_stream (the AXI top loads it), got {io}")
        BramWeightVariableConverter.convert(node.weights["weight"])
        return False      # the graph is unchanged


def _codes(var) -> tuple:
    """(format text, width, signed, codes) of a weight variable: its values as fixed-point codes."""
    p = var.type.precision
    frac = p.width - p.integer
    values = np.asarray(var.data, np.float64).reshape(-1)
    codes = np.round(np.ldexp(values, frac)).astype(np.int64)
    low, high = (-(1 << (p.width - 1)), (1 << (p.width - 1)) - 1) if p.signed else (0, (1 << p.width) - 1)
    if not np.array_equal(np.ldexp(codes.astype(np.float64), -frac), values) or codes.min() < low or codes.max() > high:
        raise ValueError(f"weights {var.name}: values are not codes of {p} (a weight quantizer and its type disagree)")
    return f"{'' if p.signed else 'u'}fixed<{p.width},{p.integer}>", int(p.width), bool(p.signed), codes


def external_weights(model) -> list:
    """The weight variables the network takes as arguments, in the order of its top function's."""
    return [var for var in model.get_weight_variables() if getattr(var, "storage", "register").lower() == EXTERNAL]


def memories(model) -> list:
    """The arrays the AXI top loads, in the order of the top function's arguments (hls4ml's
    ``get_weight_variables`` with storage 'bram'): dicts of variable, layer, type (C++ name),
    format, bits, signed, rows, row_elements and codes (np.int64, the weight_rows layout)."""
    owners = {id(w): layer for layer in model.get_layers() for w in layer.get_weights()}
    found = []
    for var in external_weights(model):
        layer = owners[id(var)]
        if layer.class_name != "HGroupConv2D" or layer.get_attr("weight_storage") != STORAGE:
            raise ValueError(f"weights {var.name} of layer {layer.name} are external (BramFactor?), which only our "
                             "grouped conv with storage 'uram' supports; remove BramFactor from the config")
        fmt, bits, signed, codes = _codes(var)
        rows = R.check_reuse(layer.name, layer.get_attr("reuse_factor"))   # R rows, weight_rows.py
        if codes.size % rows:
            raise ValueError(f"layer {layer.name}: {codes.size} weights do not make {rows} equal rows")
        found.append({"variable": var.name, "layer": layer.name, "type": var.type.name, "format": fmt, "bits": bits,
                      "signed": signed, "rows": rows, "row_elements": codes.size // rows, "codes": codes})
    return found


def register(backend) -> None:
    backend.register_pass(PASS_NAME, ExternalUramWeights, flow=FLOW)
