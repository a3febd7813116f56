"""Folded streams (an hls4ml optimizer pass): a producer that makes its channels F groups at a time
writes each group as one stream word to a reader that takes it (rules: hw/hls/ops/stream_fold.py).

The word is hls4ml's own ``PackedType`` with a negative ``n_pack`` (``unpack``: n_elem / F
elements), the mechanism hls4ml's stream types already have, so the producer, the reader and
hls4ml's trace and FIFO writer all see one consistent type; our kernels take the word size from
``res_T::size`` / ``data_T::size`` (nnet_group_conv2d.h, nnet_global_average.h) and hls4ml's dense
layer reads n_in / size words.  The pass runs after hls4ml's ``vivado:transform_types``, which
makes every stream variable a pixel-wide PackedType, and records the fold on the producer
(``stream_fold``, written to attendnets.yaml) for the estimator.
"""
import numpy as np
from hls4ml.model.optimizer import OptimizerPass

from hw.hls import ops
from hw.hls.layers import dsp_product
from hw.hls.ops import stream_fold as rules

DSP_PRODUCT_BASES = {cls.__name__: base for base, cls in dsp_product.ROUTES.items()}
PASS_NAME = "attendnets_fold_streams"
FLOW = "vivado:specific_types"


def _op(node):
    """The op of an hls4ml node, our DSP-product subclasses of hls4ml's layers included (DspDense is a
    dense layer: hw/hls/layers/dsp_product.py)."""
    return ops.of_hls4ml(DSP_PRODUCT_BASES.get(node.class_name, node.class_name))


def _reader(model, node):
    """The one layer reading ``node``'s output, or None (several readers, or the network's output)."""
    var = node.outputs[0]
    if var in model.outputs:
        return None
    readers = [other for other in model.get_layers() if var in other.inputs]
    return readers[0] if len(readers) == 1 else None


def stream_fold(model, node) -> int:
    """The fold of ``node``'s output stream (1: whole pixels)."""
    op = _op(node)
    if op is None or model.config.get_config_value("IOType") != f"io_{rules.IO}":
        return 1
    fold = node.get_attr("fold") or 1
    reader = _reader(model, node) if rules.write_fold(op, fold) > 1 else None
    if reader is None or _op(reader) is None:
        return 1
    shape = reader.get_input_variable().shape
    in_pixels = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    return rules.fold_between(op, fold, _op(reader), reader.get_attr("fold") or 1, in_pixels,
                              reader.name in rules.branch_layers(_inputs(model)))


def _inputs(model) -> dict:
    """{layer: [the layers whose outputs it reads]} of an hls4ml model (its Clones included)."""
    producer = {var: node.name for node in model.get_layers() for var in node.outputs}
    return {node.name: [producer[var] for var in node.inputs if var in producer] for node in model.get_layers()}


class FoldStreams(OptimizerPass):
    """Give each foldable producer's output stream a word of C / F channels."""

    def match(self, node):
        return node.get_attr("stream_fold") is None and len(node.outputs) == 1 and stream_fold(node.model, node) > 1

    def transform(self, model, node):
        fold = stream_fold(model, node)
        word = node.get_output_variable().type
        if word.n_elem % fold or word.n_pack != 1 or word.unpack:
            raise RuntimeError(f"layer {node.name}: its stream word of {word.n_elem} x {word.n_pack} cannot be "
                               f"folded by {fold}")
        word.n_pack, word.unpack = fold, True
        node.set_attr("stream_fold", fold)
        return False      # the graph is unchanged


def register(backend) -> None:
    """Add the pass to ``backend`` (the Vivado backend: its flows are the Vitis backend's too)."""
    backend.register_pass(PASS_NAME, FoldStreams, flow=FLOW)
