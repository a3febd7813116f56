"""Fusing a quantized activation into the layer before it (an hls4ml optimizer pass).

hw.hls.fuse.fused_pairs decides which activations fuse (and why that is exact); generation
marks each one in the hls4ml configuration (``LayerName: {<activation>: {FuseInto: <producer>}}``,
which hls4ml turns into the attribute ``fuse_into``).  This pass gives the producer the
activation's output type (its accumulator is cast into it, rounding half to even and
saturating: the activation's own arithmetic) and removes the activation, so its consumers read
the producer's stream.  A marked activation whose hls4ml graph does not have the expected shape
is an error, never skipped: the estimator and attendnets.yaml assume the fusion happened.
"""
from hls4ml.model.optimizer import OptimizerPass

from hw.hls import ops

PASS_NAME = "attendnets_fuse_quantizer"
FLOW = "vivado:optimize"  # both io types; after hls4ml's pointwise pass, which replaces 1x1 convs
ATTRIBUTE = "fuse_into"
CONFIG_KEY = "FuseInto"
PRODUCERS = ops.hls4ml_classes(fusable=True)   # the matrix ops and the global average (hw.hls.ops)
ACTIVATIONS = ("relu", "linear")


class FuseQuantizer(OptimizerPass):
    """Remove each activation marked ``fuse_into`` and give its producer the activation's type."""

    def match(self, node):
        return node.get_attr(ATTRIBUTE) is not None

    def transform(self, model, node):
        producer = model.graph.get(node.get_attr(ATTRIBUTE))
        problem = _problem(model, node, producer)
        if problem:
            raise RuntimeError(f"cannot fuse {node.name} into {node.get_attr(ATTRIBUTE)}: {problem}")
        precision = node.get_output_variable().type.precision
        if node.get_attr("activation") == "relu" and precision.signed:
            raise RuntimeError(f"cannot fuse {node.name}: a ReLU into a signed type is not a cast")
        producer.get_output_variable().type.precision = precision
        producer.set_attr("fused_activation", node.name)
        node.set_attr(ATTRIBUTE, None)
        model.remove_node(node)
        return True


def _problem(model, node, producer):
    """Why ``node`` cannot be fused into ``producer`` as hw.hls.fuse assumed, or None."""
    if producer is None:
        return "no such layer in the hls4ml model"
    if node.class_name != "Activation" or node.get_attr("activation") not in ACTIVATIONS:
        return f"{node.name} is a {node.class_name} ({node.get_attr('activation')}), not a relu/linear Activation"
    if producer.class_name not in PRODUCERS:
        return f"{producer.name} is a {producer.class_name}, not a layer whose result can be cast (hw.hls.ops)"
    if producer.class_name == "GlobalPooling2D" and producer.get_attr("pool_op") != "Average":
        return f"{producer.name} is a global {producer.get_attr('pool_op')} pooling, not an average"
    if producer.class_name == "Merge" and producer.get_attr("op") != "add":
        return f"{producer.name} is a merge by {producer.get_attr('op')}, not an addition"
    if node.inputs != producer.outputs:
        return f"{node.name} does not read {producer.name}'s output"
    readers = [n.name for n in model.graph.values() if producer.outputs[0] in n.inputs]
    if readers != [node.name]:
        return f"{producer.name}'s output is read by {', '.join(readers)}"
    return None


def register(backend) -> None:
    """Add the pass to ``backend`` (the Vivado backend: its flows are the Vitis backend's too)."""
    backend.register_pass(PASS_NAME, FuseQuantizer, flow=FLOW)
