"""Weights of our grouped conv laid out as memory rows (an hls4ml optimizer pass).

With ``weight_storage`` bram or lutram, HGroupConv2D reads one row a clock: fold step ``step``
(output channels step * PE .. (step + 1) * PE - 1, PE = n_filt / F) and in-step ``in_step``
(window taps in_step * SIMD .. (in_step + 1) * SIMD - 1, SIMD = taps / S, S = R / F) is row
step * S + in_step, holding PE x SIMD weights, channel-major (nnet_group_conv2d.h,
group_conv2d_weight_index).  ARRAY_RESHAPE cyclic by the row's length then makes each row one
memory word.  hls4ml's Resource strategy reorders its weights in the same flow for the same reason
(``vivado:apply_resource_strategy``).
"""
import numpy as np
from hls4ml.model.optimizer import OptimizerPass

from hw.hls.layers import reuse as R
from hw.hls.layers.group_conv import REUSE_KEYS, check_fold, window_taps

PASS_NAME = "attendnets_weight_rows"
FLOW = "vivado:specific_types"


def rows_layout(weights: np.ndarray, layer_geometry, reuse: int, fold: int) -> np.ndarray:
    """Keras' grouped kernel [kh][kw][C/groups][n_filt] as rows [step][in_step][PE][SIMD], flat."""
    taps, n_filt = window_taps(layer_geometry), R.geometry(layer_geometry, REUSE_KEYS)["n_filt"]
    in_steps = reuse // fold
    by_tap = np.asarray(weights).reshape(taps, n_filt)            # [t][o], t = in_step * SIMD + s
    split = by_tap.reshape(in_steps, taps // in_steps, fold, n_filt // fold)   # [in_step][s][step][f]
    return split.transpose(2, 0, 3, 1).reshape(-1)


class WeightRows(OptimizerPass):
    """Lay out once the weights of each HGroupConv2D whose weights live in a memory."""

    def match(self, node):
        return (node.class_name == "HGroupConv2D" and node.get_attr("weight_storage", "registers") != "registers"
                and not node.get_attr("weights_in_rows", False))

    def transform(self, model, node):
        reuse = R.check_reuse(node.name, node.get_attr("reuse_factor"))
        fold = check_fold(node.name, node, reuse, node.get_attr("multiplier", "lut"), node.get_attr("fold", 1),
                          node.get_attr("weight_storage"))
        weight = node.weights["weight"]
        weight.data = rows_layout(weight.data, node, reuse, fold).reshape(weight.data.shape)
        node.set_attr("weights_in_rows", True)
        return False      # the graph is unchanged


def register(backend) -> None:
    backend.register_pass(PASS_NAME, WeightRows, flow=FLOW)
