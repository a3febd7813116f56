"""A folded global average as an hls4ml layer (HGlobalAverage); C++ in nnet_utils/nnet_global_average.h.

hls4ml's ``global_pooling2d_cl`` adds all n_filt channels of a pixel in one clock and divides
them all at the end (AttendNet-A's s17_gap: 768 adders and 768 dividers for 49 pixels).
Configured with ``Fold: F`` > 1 (``layers.NAME.fold`` in a recipe), a global average becomes
HGlobalAverage: n_filt / F lanes, F clocks a pixel, the accumulators in a LUTRAM of F rows.  Its
rules (valid folds, lanes, loop iterations) are the op's, in hw/hls/ops/global_average.py, which
the estimator and planner read too.

The pass runs in the optimize flow after the activation fusion (hw/hls/layers/fuse_quantizer.py),
so the GlobalPooling2D it replaces already has the fused activation's result type, which the
HGlobalAverage keeps with the accumulator type: the same sums and the same division and cast as
hls4ml's kernel, hence the same bits.  F = 1 keeps hls4ml's kernel.  io_stream only: hls4ml's
io_parallel kernel computes the mean with another expression (``pool_op``), so a fold there is
refused when the configuration is made (``check_config``).
"""
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.model.attributes import Attribute, TypeAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.optimizer import OptimizerPass

from hw.hls import ops
from hw.hls.ops import global_average as rules

HEADER = "nnet_global_average.h"
PASS_NAME = "attendnets_fold_global_average"
FLOW = "vivado:optimize"
KERAS_CLASSES = ops.op("gap").keras          # what a recipe's fold on a global average names
GEOMETRY = ("in_height", "in_width", "n_filt")


def check_config(layer, fold: int, storage: str, io: str) -> int:
    """The fold of the Keras global average ``layer`` as the recipe asks it (``layers.NAME.fold``),
    or a ConfigError naming the field and what it takes."""
    from hw.config import ConfigError

    if storage not in (None, "registers"):
        raise ConfigError(f"field 'layers.{layer.name}.storage': a global average has no weights to store; "
                          f"a weight storage is for convolutions ({', '.join(ops.keras_classes(grouped_conv=True))})")
    where = f"field 'layers.{layer.name}.fold'"
    if fold > 1 and io != rules.IO:
        raise ConfigError(f"{where}: a folded global average exists for io_stream only; with io_parallel "
                          f"{layer.name} takes fold 1")
    try:
        return rules.check_fold(layer.name, int(layer.input_shape[-1]), fold)
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from None


class HGlobalAverage(Layer):
    _expected_attributes = [Attribute(name) for name in GEOMETRY] + [
        Attribute("fold", value_type=int, default=1), TypeAttribute("accum")]

    def initialize(self):
        self.add_output_variable([self.attributes["n_filt"]])


def folded(node) -> bool:
    """Whether ``node`` is a global average configured with a fold above 1."""
    return (node.class_name == "GlobalPooling2D" and node.get_attr("pool_op") == "Average"
            and (node.get_attr("fold") or 1) > 1)


class FoldGlobalAverage(OptimizerPass):
    """Replace each folded GlobalPooling2D average by an HGlobalAverage: same name, inputs, output
    variable, types and fused activation."""

    def match(self, node):
        return folded(node)

    def transform(self, model, node):
        if model.config.get_config_value("IOType") != f"io_{rules.IO}":
            raise RuntimeError(f"layer {node.name}: a folded global average exists for io_stream only")
        if node.get_attr("data_format", "channels_last") != "channels_last":
            raise RuntimeError(f"layer {node.name}: a global average must be channels_last")
        attrs = {name: node.get_attr(name) for name in GEOMETRY}
        attrs["fold"] = rules.check_fold(node.name, attrs["n_filt"], node.get_attr("fold"))
        new = model.make_node(HGlobalAverage.__name__, node.name, attrs, node.inputs.copy(),
                              outputs=node.outputs.copy())
        # the configuration by name gives the types hw.hls.precision derived; the fusion may have
        # changed the result since, so both come from the node itself
        new.types["accum_t"].precision = node.types["accum_t"].precision
        new.get_output_variable().type.precision = node.get_output_variable().type.precision
        if node.get_attr("fused_activation") is not None:
            new.set_attr("fused_activation", node.get_attr("fused_activation"))
        model.replace_node(node, new)
        return True


CONFIG = """struct config{index} : nnet::global_average_config {{
    static const unsigned in_height = {in_height};
    static const unsigned in_width = {in_width};
    static const unsigned n_filt = {n_filt};
    static const unsigned fold = {fold};
    static const unsigned lanes = {lanes};
    typedef {accum_t.name} accum_t;
}};\n"""


class ConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(HGlobalAverage)
        self.template = CONFIG

    def format(self, node):
        params = self._default_config_params(node)
        fold = rules.check_fold(node.name, node.get_attr("n_filt"), node.get_attr("fold"))
        params.update(fold=fold, lanes=rules.lanes(node.get_attr("n_filt"), fold))
        return self.template.format(**params)


class FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(HGlobalAverage, include_header=[f"nnet_utils/{HEADER}"])
        self.template = "nnet::global_average_stream<{input_t}, {output_t}, {config}>({input}, {output});"

    def format(self, node):
        return self.template.format(**self._default_function_params(node))


LAYER_CLASSES = (HGlobalAverage,)
TEMPLATES = (ConfigTemplate, FunctionTemplate)


def register(backend) -> None:
    """Add the pass to ``backend`` (the Vivado backend: its flows are the Vitis backend's too)."""
    backend.register_pass(PASS_NAME, FoldGlobalAverage, flow=FLOW)
