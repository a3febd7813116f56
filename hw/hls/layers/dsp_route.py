"""Convolutions with packed DSP products or a fold: routed to our grouped convolution (an hls4ml optimizer pass).

hls4ml 1.3's convolution kernels multiply through ``CONFIG_T::product``, chosen by the backend
from the operand types alone (``FPGABackend.product_type``), and its rule puts every 8-bit
product in LUTs: a layer cannot ask for DSPs, let alone two products per DSP.  Our
HGroupConv2D binds its products per layer (``multiplier``: lut, dsp, packed;
nnet_dsp_pack.h), and a convolution is the grouped one with one group (a depthwise one with a
group per channel), so a layer configured with ``Multiplier: dsp`` or ``packed`` is put in its
place with the same name, geometry, weights, bias, reuse factor and types ('dsp' alone keeps
hls4ml's kernel for a conv, with a DSP product: hw/hls/layers/dsp_product.py; a depthwise conv
is routed for 'dsp' too).  A layer configured with ``Fold: F`` > 1 is routed whatever its
multiplier: hls4ml's kernels compute and round every output channel of a pixel at once, ours can
make them F groups at a time (group_conv.py, "Fold").  It runs in the
optimize flow after hls4ml's pointwise pass and our activation fusion, for both io types: in
io_stream hls4ml has already put its zero-padding layer before a 'same' convolution and set the
convolution's own padding to 0, which our kernel then honours.

The kernel layouts agree without reordering: Keras' conv kernel [kh][kw][C][F] is the grouped
kernel with one group, and a depthwise kernel [kh][kw][C][m] flattens as a grouped kernel
[kh][kw][1][C * m] (hw/hls/layers/depthwise_route.py).
"""
from hls4ml.model.optimizer import OptimizerPass

from hw.hls import ops
from hw.hls.layers import group_conv
from hw.hls.layers.depthwise_route import replace_with_group_conv

PASS_NAME = "attendnets_route_dsp_conv"
FLOW = "vivado:optimize"
ROUTED = ops.hls4ml_classes(reuse=ops.HLS4ML_MATRIX, grouped_conv=True)   # hls4ml's convs (hw.hls.ops)


def wants_our_kernel(node) -> bool:
    """'packed', a fold above 1 and weights in a memory always need our kernel; 'dsp' only for a depthwise conv
    (hls4ml's other convs keep their kernel with a DSP product, hw/hls/layers/dsp_product.py): the op's
    rule, ``HwOp.in_grouped_conv``."""
    return node.class_name in ROUTED and ops.of_hls4ml(node.class_name).in_grouped_conv(
        node.get_attr("multiplier", "lut"), node.get_attr("fold") or 1, node.get_attr("weight_storage", "registers"))


class RouteDspConv(OptimizerPass):
    """Replace each convolution configured for our kernel by the equivalent HGroupConv2D."""

    def match(self, node):
        return wants_our_kernel(node)

    def transform(self, model, node):
        kh, kw, n_filt = node.get_attr("filt_height"), node.get_attr("filt_width"), node.get_attr("n_filt")
        if node.class_name == "DepthwiseConv2D":
            weights = node.get_attr("depthwise_data").reshape(kh, kw, 1, n_filt)
            replace_with_group_conv(model, node, node.get_attr("n_chan"), weights, node.get_attr("depthwise_quantizer"))
        else:
            weights = node.get_attr("weight_data").reshape(kh, kw, node.get_attr("n_chan"), n_filt)
            replace_with_group_conv(model, node, 1, weights, node.get_attr("weight_quantizer"))
        return True


def register(backend) -> None:
    """Add the pass to ``backend`` (the Vivado backend: its flows are the Vitis backend's too)."""
    backend.register_pass(PASS_NAME, RouteDspConv, flow=FLOW)


KERAS_CONVS = ops.keras_classes(grouped_conv=True)   # the ops our grouped conv computes
KERAS_DSP_PRODUCT = ops.keras_classes(dsp_product=True, grouped_conv=False)   # 'dsp' only, in hls4ml's kernel


def check_multiplier(layer, multiplier: str, data_format, part: str) -> None:
    """Refuse, naming the layer, a multiplier the layer cannot have: DSP multipliers exist for the
    convolutions only (hls4ml's dense layer has no such knob), and 'packed' needs two output
    channels per group and operands the part's DSP packs exactly (group_conv.valid_multipliers)."""
    from qmodels.fixed import from_qkeras

    from hw.config import ConfigError

    kind = type(layer).__name__
    where = f"field 'layers.{layer.name}.multiplier'"
    if multiplier == "lut":
        return
    if kind in KERAS_DSP_PRODUCT and multiplier == "dsp":
        return
    if kind not in KERAS_CONVS:
        takes = ", ".join(KERAS_CONVS) + (f"; 'dsp' also {', '.join(KERAS_DSP_PRODUCT)}" if multiplier == "packed"
                                          else f", {', '.join(KERAS_DSP_PRODUCT)}")
        raise ConfigError(f"{where}: {multiplier!r} is for convolution and dense layers ({takes}); "
                          f"{layer.name} is a {kind}")
    depthwise = kind == "QDepthwiseConv2D"
    quantizer = getattr(layer, "depthwise_quantizer_internal" if depthwise else "kernel_quantizer_internal", None)
    weight = from_qkeras(quantizer) if quantizer is not None else None
    if weight is None:
        raise ConfigError(f"{where}: {layer.name} has no quantized kernel, so its product width is unknown")
    geometry = group_conv.keras_geometry(layer)
    groups = geometry["n_groups"]
    family = group_conv.dsp_family(part)
    valid = group_conv.valid_multipliers(geometry, family, (data_format.width, data_format.signed),
                                         (weight.width, weight.signed))
    if multiplier not in valid:
        raise ConfigError(f"{where}: 'packed' is not possible for {layer.name} ({data_format} data x {weight} "
                          f"weights, {groups} group(s) of {geometry['n_filt'] // groups} output channel(s), part "
                          f"{part}, DSP {family or 'unknown'}); it takes {', '.join(valid)}")


def check_fold(layer, fold: int, reuse: int, multiplier: str, storage: str = "registers") -> None:
    """Refuse, naming the layer and the folds it takes, a fold or weight storage it cannot have:
    both exist for the convolutions only (our grouped conv computes them; a global average's fold is
    checked by layers/global_average.py, which convert.hls_config calls instead); a fold must divide the
    output channels and the reuse factor, and with the weights in a memory R / fold must divide
    the window's taps (group_conv.valid_folds)."""
    from hw.config import ConfigError

    kind = type(layer).__name__
    field = "fold" if fold != 1 else "storage"
    where = f"field 'layers.{layer.name}.{field}'"
    if fold == 1 and storage == "registers":
        return
    if kind not in KERAS_CONVS:
        also = f" and the global average ({', '.join(ops.op('gap').keras)})" if fold != 1 else ""
        raise ConfigError(f"{where}: a {'fold' if fold != 1 else 'weight storage'} is for convolutions "
                          f"({', '.join(KERAS_CONVS)}){also}; {layer.name} is a {kind}")
    try:
        group_conv.check_fold(layer.name, group_conv.keras_geometry(layer), reuse, multiplier, fold, storage)
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from None
