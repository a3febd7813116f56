"""Layer geometry for the estimator: what each hardware layer computes, read from a Keras model.

``from_model(model, types)`` turns a (Q)Keras model plus its exact HLS types (``hw.hls.precision.derive``)
into a list of ``LayerGeom``, one per hardware process, in dataflow order: hls4ml's own layers keep the
Keras name, and the zero-padding hls4ml inserts before a 'same' convolution appears as ``zp2d_<conv>``
(the name hls4ml gives it).  Nothing here needs hls4ml, g++ or a generated project.

Weights are kept as integer codes on their fixed-point grid: the estimator removes zero products
and prices each constant product by its significant bits, as HLS does for constant weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from hw.hls import ops
from qmodels.fixed import Fixed, from_qkeras
from qmodels.reference import same_padding

MATRIX_KINDS = ops.kinds(matrix=True)   # the ops with a weights matrix (hw.hls.ops)


@dataclass
class LayerGeom:
    name: str
    kind: str                    # conv, pointwise, dense, depthwise, group_conv, activation, pool, gap,
    #                              unpool, attention, add, pad, softmax, batchnorm, flatten
    in_shape: tuple              # (H, W, C) of the (first) input; (1, 1, N) for vectors
    out_shape: tuple
    data_bits: int               # width of the input elements
    result_bits: int             # width of the output elements
    accum_bits: int = 0
    kernel: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0, 0, 0)  # top, bottom, left, right (done inside the layer: group conv)
    groups: int = 1
    weight_bits: int = 0
    weight_signed: bool = True
    data_signed: bool = True     # whether the input elements are signed (DSP packing depends on it)
    weights: Optional[np.ndarray] = field(default=None, repr=False)  # int codes, shape (n_in_per_group, n_out)
    table_entries: int = 0       # attention: sigmoid table size
    inputs: tuple = ()           # producers' names
    fused: str = ""              # the quantized activation this matrix layer writes itself (hw.hls.fuse)

    @property
    def in_pixels(self) -> int:
        return int(self.in_shape[0] * self.in_shape[1])

    @property
    def out_pixels(self) -> int:
        return int(self.out_shape[0] * self.out_shape[1])

    @property
    def channels(self) -> int:
        return int(self.out_shape[2])

    @property
    def matrix(self) -> tuple:
        """(n_in, n_out) as hls4ml's reuse-factor rules see the layer (its op's ``reuse_view``)."""
        return ops.op(self.kind).reuse_view(self.kernel, self.in_shape[2], self.out_shape[2], self.groups)

    @property
    def products_per_pixel(self) -> int:
        """Multiplications one output pixel needs, zero weights included (its op's rule)."""
        return ops.op(self.kind).products_per_pixel(self.kernel, self.in_shape[2], self.out_shape[2], self.groups)

    @property
    def macs(self) -> int:
        return self.products_per_pixel * self.out_pixels if self.kind in MATRIX_KINDS else 0

    @property
    def nonzero(self) -> int:
        return int(np.count_nonzero(self.weights)) if self.weights is not None else self.products_per_pixel

    @property
    def weight_memory_bits(self) -> int:
        return int(self.weights.size * self.weight_bits) if self.weights is not None else 0


def _hwc(shape) -> tuple:
    shape = tuple(int(d) for d in shape[1:])
    return shape if len(shape) == 3 else (1, 1, int(np.prod(shape)))


def _kernel_codes(layer, fmt: Fixed) -> np.ndarray:
    kind = type(layer).__name__
    kernel = layer.depthwise_kernel if "Depthwise" in kind else layer.kernel
    values = np.asarray(kernel.numpy(), np.float64)
    codes = fmt.codes(values)
    if "Depthwise" in kind:             # (kh, kw, C, 1): one product per channel and tap
        return codes.reshape(-1, values.shape[2] * values.shape[3])
    if values.ndim == 4:
        return codes.reshape(-1, values.shape[3])
    return codes


def _weight_format(layer, types: dict) -> Fixed:
    """The kernel format: its QKeras quantizer, else the layer types' "weight" entry."""
    kind = type(layer).__name__
    quantizer = getattr(layer, "depthwise_quantizer_internal" if "Depthwise" in kind else "kernel_quantizer_internal", None)
    fmt = from_qkeras(quantizer) if quantizer is not None else None
    return fmt or types["weight"]


def _conv_geom(layer, kind: str, ins, types, data_bits: int) -> list:
    t = types[layer.name]
    in_shape, out_shape = _hwc(layer.input_shape), _hwc(layer.output_shape)
    kernel = tuple(int(k) for k in getattr(layer, "kernel_size", (1, 1)))
    stride = tuple(int(s) for s in getattr(layer, "strides", (1, 1)))
    fmt = _weight_format(layer, t)
    geom = LayerGeom(layer.name, kind, in_shape, out_shape, data_bits, t["result"][0].width,
                     accum_bits=t.get("accum", t["result"][0]).width, kernel=kernel, stride=stride,
                     groups=int(getattr(layer, "groups", 1)), weight_bits=fmt.width, weight_signed=fmt.signed,
                     weights=_kernel_codes(layer, fmt), inputs=tuple(ins))
    pads = (*same_padding(in_shape[0], kernel[0], stride[0]), *same_padding(in_shape[1], kernel[1], stride[1]))
    if getattr(layer, "padding", "valid") != "same" or not any(pads):
        return [geom]
    if kind == "group_conv":            # our kernel pads inside its own loop
        geom.padding = pads
        return [geom]
    padded = (in_shape[0] + pads[0] + pads[1], in_shape[1] + pads[2] + pads[3], in_shape[2])
    pad = LayerGeom(f"zp2d_{layer.name}", "pad", in_shape, padded, data_bits, data_bits, inputs=tuple(ins))
    geom.in_shape, geom.inputs = padded, (pad.name,)
    return [pad, geom]


def from_model(model, types: dict = None) -> list:
    """[LayerGeom] of every hardware process of a Keras model, in dataflow order.

    ``types``: {layer: {"result": (Fixed, quantized), "accum": Fixed, "weight": Fixed}} as
    ``hw.hls.precision.derive`` gives (derived when omitted); "weight" is needed only for
    layers without a QKeras quantizer."""
    from qmodels.reference import input_layer_names

    if types is None:
        from hw.hls.precision import derive
        types = derive(model)
    out, bits, signed, inputs = [], {}, {}, set()
    for layer in model.layers:
        cls = type(layer).__name__
        ins = input_layer_names(layer)
        result = types[layer.name]["result"][0]
        bits[layer.name], signed[layer.name] = result.width, result.signed
        if cls == "InputLayer":
            inputs.add(layer.name)
            continue
        if cls == "QActivation" and ins and ins[0] in inputs:
            # the input quantizer: the image enters in its format (hw.hls.precision), so hls4ml
            # removes it and its stream; the conversion happens before the fabric (bridge, test bench)
            continue
        hw_op = ops.of_class(cls)
        if hw_op is None or not hw_op.estimated:
            raise ValueError(f"layer {layer.name}: the estimator has no model of {cls}")
        kind = hw_op.kind
        data_bits = bits[ins[0]]
        if kind in MATRIX_KINDS:
            if kind == "conv" and tuple(layer.kernel_size) == (1, 1) and tuple(layer.strides) == (1, 1):
                kind = "pointwise"
            out.extend(_conv_geom(layer, kind, ins, types, data_bits))
            out[-1].data_signed = signed[ins[0]]
            continue
        geom = LayerGeom(layer.name, kind, _hwc(layer.input_shape if len(ins) == 1 else layer.input_shape[0]),
                         _hwc(layer.output_shape), data_bits, result.width,
                         accum_bits=_accum_width(types[layer.name], result), inputs=tuple(ins))
        if kind == "pool":
            geom.kernel, geom.stride = tuple(layer.pool_size), tuple(layer.strides)
        if kind == "attention":
            geom.table_entries = 2 ** layer.attention.width
            geom.weight_bits = layer.scale_format.width
        out.append(geom)
    return out


def _accum_width(entry: dict, result) -> int:
    """The width the layer accumulates in: its 'accum' type, or the attention's product type."""
    if "accum" in entry:
        return entry["accum"].width
    return entry.get("intermediates", {}).get("product", result).width


def fuse(geoms: list, pairs: dict) -> list:
    """The layers after hw.hls.fuse's fusion: for each {activation: producer} of ``pairs`` the
    activation's process is gone, its producer writes the activation's format (``fused``,
    ``result_bits``), and the activation's readers read the producer."""
    if not pairs:
        return geoms
    by_name = {g.name: g for g in geoms}
    missing = [name for pair in pairs.items() for name in pair if name not in by_name]
    if missing:
        raise ValueError(f"fused pair names a layer the estimator does not have: {missing[0]}")
    out = []
    for g in geoms:
        if g.name in pairs:
            continue
        g = replace(g, inputs=tuple(pairs.get(src, src) for src in g.inputs))
        act = next((a for a, producer in pairs.items() if producer == g.name), None)
        if act is not None:
            g.fused, g.result_bits = act, by_name[act].result_bits
        out.append(g)
    return out


def kernel_geometry(g: LayerGeom) -> dict:
    """The layer as our grouped conv and attention modules see it (hw/hls/layers/*.py): a depthwise
    conv has one group per channel."""
    groups = g.in_shape[2] if g.kind == "depthwise" else g.groups
    return {"n_chan": int(g.in_shape[2]), "n_filt": int(g.out_shape[2]), "n_groups": int(groups),
            "filt_height": int(g.kernel[0]), "filt_width": int(g.kernel[1])}
