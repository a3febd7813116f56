"""Routing a depthwise convolution hls4ml 1.3 streams wrongly to our grouped convolution.

In io_stream, hls4ml 1.3's ``depthwise_conv_2d_buffer_cl`` (nnet_sepconv2d_stream.h) sends a
kernel one row high to ``compute_depthwise_output_buffer_1d``, which counts columns only: it
ignores ``stride_height``, so with a row stride above 1 every input row yields an output row
(wrong values, and the stream keeps the extra pixels).  A depthwise convolution with channel
multiplier m is the grouped convolution with n_groups = n_chan and n_filt = m * n_chan, which
HGroupConv2D (hw/hls/layers/group_conv.py) computes exactly with any stride, so this pass puts
one in its place: same name, geometry, weights, bias and types.

The kernel layouts agree without any reordering: Keras' depthwise kernel [kh][kw][C][m] flattens
to ((i * kw + j) * C + c) * m + k for output channel c * m + k, and a grouped kernel
[kh][kw][1][C * m] flattens to (i * kw + j) * C * m + (c * m + k): the same index.
"""
from hls4ml.model.optimizer import OptimizerPass

from hw.hls.layers.group_conv import GEOMETRY

PASS_NAME = "attendnets_route_strided_1row_depthwise"
FLOW = "vivado:streaming"  # io_stream's own flow; the Vitis backend runs the Vivado flows too


def misstreamed(node) -> bool:
    """Whether hls4ml 1.3 would compute ``node`` with its 1-row path that ignores the row stride."""
    return (node.class_name == "DepthwiseConv2D" and node.model.config.get_config_value("IOType") == "io_stream"
            and node.get_attr("filt_height") == 1 and node.get_attr("stride_height") > 1)


class RouteStridedOneRowDepthwise(OptimizerPass):
    """Replace each ``misstreamed`` DepthwiseConv2D by the equivalent HGroupConv2D."""

    def match(self, node):
        return misstreamed(node)

    def transform(self, model, node):
        kh, kw = node.get_attr("filt_height"), node.get_attr("filt_width")
        replace_with_group_conv(model, node, node.get_attr("n_chan"),
                                node.get_attr("depthwise_data").reshape(kh, kw, 1, node.get_attr("n_filt")),
                                node.get_attr("depthwise_quantizer"))
        return True


def replace_with_group_conv(model, node, n_groups: int, weight_data, weight_quantizer):
    """Put an HGroupConv2D with ``n_groups`` groups in ``node``'s place: same name, geometry,
    inputs, outputs, reuse factor, types and fused activation; ``weight_data`` in the grouped
    layout [kh][kw][n_chan / n_groups][n_filt]."""
    if node.get_attr("data_format", "channels_last") != "channels_last":
        raise ValueError(f"{node.name}: a convolution must be channels_last, got {node.get_attr('data_format')}")
    old_weight = node.get_weights("weight")
    attrs = {name: node.get_attr(name) for name in GEOMETRY if name != "n_groups"}
    attrs.update(n_groups=n_groups, data_format="channels_last", weight_data=weight_data,
                 bias_data=node.get_attr("bias_data"), weight_quantizer=weight_quantizer,
                 bias_quantizer=node.get_attr("bias_quantizer"))
    # the configuration by name gives it the layer's reuse, strategy, trace, multiplier and types
    new = model.make_node("HGroupConv2D", node.name, attrs, node.inputs.copy(), outputs=node.outputs.copy())
    new.set_attr("reuse_factor", node.get_attr("reuse_factor"))  # as hls4ml settled it, if it changed it
    for name in ("multiplier", "fold", "weight_storage", "fused_activation"):
        if node.get_attr(name) is not None:
            new.set_attr(name, node.get_attr(name))
    keep_types(node, new)
    if not (old_weight.data.ravel() == new.get_weights("weight").data.ravel()).all():
        raise RuntimeError(f"{node.name}: the grouped kernel differs from the {node.class_name}'s")
    model.replace_node(node, new)
    return new


def keep_types(old, new) -> None:
    """Give ``new`` exactly the precisions ``old`` had: hw.hls.precision derived the result and
    accumulator for the depthwise layer (the configuration by name gives the same; this makes it
    so whatever the configuration says); the weights and bias come from the same quantizers."""
    for key in ("result_t", "accum_t", "weight_t", "bias_t"):
        if key not in old.types:
            continue
        if key not in new.types:
            raise RuntimeError(f"{old.name}: HGroupConv2D has no {key} to keep the {old.class_name}'s")
        if key in ("weight_t", "bias_t") and str(new.types[key].precision) != str(old.types[key].precision):
            raise RuntimeError(f"{old.name}: {key} {new.types[key].precision} differs from the "
                               f"{old.class_name}'s {old.types[key].precision}")
        new.types[key].precision = old.types[key].precision
    new.get_output_variable().type.precision = old.get_output_variable().type.precision


def register(backend) -> None:
    """Add the pass to ``backend`` (the Vivado backend: its flows are the Vitis backend's too)."""
    backend.register_pass(PASS_NAME, RouteStridedOneRowDepthwise, flow=FLOW)
