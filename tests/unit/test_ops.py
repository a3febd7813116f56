"""The hardware-op registry (hw.hls.ops): every layer generation meets has one entry, the entries name real
hls4ml classes, and the registry's rules are the ones generation checks and hls4ml applies."""
import itertools

import pytest

from hw.hls import ops
from qmodels.project_record import MULTIPLIERS, STORAGES

# one of each family of built-in networks (the fmnist-* variants are built from the same layers)
NETWORKS = ("attendnet-tiny", "attendnet-a", "attendnet-b", "mobilenet-v1", "mobilenet-v2")


@pytest.fixture(scope="module")
def models():
    from qmodels.build import build_model

    return {name: build_model(name, input_shape=(32, 32, 3), calibrate=False) for name in NETWORKS}


def test_every_layer_of_every_network_has_an_op_with_exact_types_a_stream_and_an_estimate(models):
    for name, model in models.items():
        for layer in model.layers[1:]:
            cls = type(layer).__name__
            hw_op = ops.of_class(cls)
            assert hw_op is not None, f"{name}: {cls} ({layer.name}) has no entry in hw.hls.ops"
            assert cls in hw_op.keras and hw_op.types and hw_op.stream and hw_op.estimated, (name, cls, hw_op)


def test_the_registry_reads_what_generation_derives_and_sizes(models):
    """The type rule and stream loop named by each op are the ones hw.hls.precision and hw.hls.fifo apply."""
    from hw.hls import fifo
    from hw.hls.precision import derive

    model = models["attendnet-tiny"]
    types = derive(model)
    for layer in model.layers[1:]:
        hw_op = ops.of_class(type(layer).__name__)
        assert ("accum" in types[layer.name]) == (hw_op.types in (ops.MATRIX, ops.PASS, ops.AVERAGE)), layer.name
        shape = {ops.PAD: "walk"}.get(hw_op.stream, hw_op.stream)
        assert fifo._geometry(layer)[0] == shape, layer.name


def test_kinds_and_classes_are_unique_and_every_op_names_real_hls4ml_classes():
    from hls4ml.model.layers import layer_map

    from hw.hls.extension import register

    register()
    assert len(ops.BY_KIND) == len(ops.OPS)
    classes = [cls for o in ops.OPS for cls in o.classes]
    assert len(classes) == len(set(classes))
    tunable = [cls for o in ops.OPS if o.tunable for cls in o.hls4ml]   # of_hls4ml must find these' own op
    assert len(tunable) == len(set(tunable))
    hls4ml_classes = {c.__name__ for c in layer_map.values()}   # a node's class_name is its class's name
    for o in ops.OPS:
        for cls in o.hls4ml:
            assert cls in hls4ml_classes, f"{o.kind}: hls4ml has no layer class {cls}"


def test_every_op_the_estimator_reads_has_its_resource_model_and_a_cycle_model():
    from hw.estimate.layers import MODELS

    assert set(MODELS) == set(ops.kinds(estimated=True))
    for o in ops.OPS:
        assert o.iterations(10, 20, 30) in (10, 20, 30, 1, 0, 10 + 20) and o.depth >= 0


def test_our_layer_modules_are_their_ops():
    from hw.hls.layers import dsp_product, group_conv, selective_attention, unpooling

    for module in (group_conv, selective_attention, unpooling):
        hw_op = ops.of_class(module.KERAS_CLASS)
        assert [cls.__name__ for cls in module.LAYER_CLASSES] == list(hw_op.hls4ml)
    assert ops.op("group_conv").rules.valid_folds is group_conv.valid_folds   # the template's rules are the op's
    assert ops.op("attention").rules.multipliers is selective_attention.multipliers
    assert set(dsp_product.ROUTES) == set(ops.hls4ml_classes(dsp_product=True))
    assert unpooling.valid_reuse_factors({}) == (1,)


@pytest.mark.parametrize("n_in,n_out", [(1, 1), (3, 5), (9, 8), (27, 16), (72, 24), (144, 96), (96, 1), (128, 10)])
def test_hls4ml_reuse_rule_is_hls4mls_own(n_in, n_out):
    from hls4ml.backends import get_backend

    for backend in ("Vivado", "Vitis"):
        hls4ml = get_backend(backend)
        valid = hls4ml.get_valid_reuse_factors(n_in, n_out)
        for kind in ops.kinds(reuse=ops.HLS4ML_MATRIX):
            assert list(ops.op(kind).reuse_factors({"n_in": n_in, "n_out": n_out}, "resource")) == valid
        for wanted in range(1, n_in * n_out + 2):
            assert ops.hls4ml_matrix.closest(valid, wanted) == hls4ml.get_closest_reuse_factor(valid, wanted)


class _Node:
    """An hls4ml layer as the generation passes read it."""

    def __init__(self, class_name, **attrs):
        self.class_name, self.attrs = class_name, attrs

    def get_attr(self, name, default=None):
        return self.attrs.get(name, default)


def test_every_dsp_product_goes_to_exactly_one_kernel_and_packed_to_ours():
    """dsp_route (our grouped conv) and dsp_product (hls4ml's kernel) between them take every 'dsp'
    layer of an op that has DSP products, once; 'packed', a fold or a ROM only ever goes to ours."""
    from hw.hls.layers.dsp_product import wants_dsp_product
    from hw.hls.layers.dsp_route import wants_our_kernel

    hls4ml_ops = [o for o in ops.OPS if o.reuse == ops.HLS4ML_MATRIX]
    assert {o.kind for o in hls4ml_ops} == {"conv", "pointwise", "dense", "depthwise"}
    for o in hls4ml_ops:
        for cls, multiplier, fold, storage in itertools.product(o.hls4ml, MULTIPLIERS, (1, 2), STORAGES):
            node = _Node(cls, multiplier=multiplier, fold=fold, weight_storage=storage)
            ours, theirs = wants_our_kernel(node), wants_dsp_product(node)
            case = (cls, multiplier, fold, storage)
            assert not (ours and theirs), case
            assert ours == o.in_grouped_conv(multiplier, fold, storage), case
            if multiplier == "dsp" and (o.grouped_conv or (fold, storage) == (1, "registers")):
                assert ours or theirs, case


def test_generation_accepts_exactly_the_multipliers_the_registry_offers(models):
    """hw.hls.layers.dsp_route.check_multiplier (generate's config check) refuses a multiplier iff the
    op's ``multipliers`` (what the planner offers) does not list it, for every matrix layer of the networks."""
    from hw.boards import load_board
    from hw.config import ConfigError
    from hw.estimate.reuse import dsp_family
    from hw.hls.layers import group_conv
    from hw.hls.layers.dsp_route import check_multiplier
    from hw.hls.precision import derive
    from qmodels.fixed import from_qkeras
    from qmodels.reference import input_layer_names

    for board in ("zcu104", "pynq-z2"):
        b = load_board(board)
        for model in (models["attendnet-tiny"], models["mobilenet-v2"]):
            types = derive(model)
            for layer in model.layers[1:]:
                hw_op = ops.of_class(type(layer).__name__)
                if not hw_op.matrix:
                    continue
                data = types[input_layer_names(layer)[0]]["result"][0]
                kernel = getattr(layer, "depthwise_quantizer_internal", None) or layer.kernel_quantizer_internal
                weight = (from_qkeras(kernel).width, from_qkeras(kernel).signed)
                geometry = group_conv.keras_geometry(layer) if hw_op.grouped_conv else {}
                offered = hw_op.multipliers(geometry, dsp_family(b.family), (data.width, data.signed), weight)
                for multiplier in MULTIPLIERS:
                    try:
                        check_multiplier(layer, multiplier, data, b.part)
                        accepted = True
                    except ConfigError:
                        accepted = False
                    assert accepted == (multiplier in offered), (board, layer.name, multiplier, offered)


def test_each_matrix_op_multiplies_once_per_weight_and_output_pixel(models):
    """An op's products rule (WINDOW, TAPS) gives as many products a pixel as the layer has weights,
    and its hls4ml reuse view the matrix hls4ml reads them as; MACs follow."""
    from hw.estimate.geometry import from_model

    seen = set()
    for model in models.values():
        for g in from_model(model):
            hw_op = ops.op(g.kind)
            if not hw_op.matrix:
                assert g.products_per_pixel == hw_op.channel_products * g.channels and g.macs == 0, g.name
                continue
            seen.add(hw_op.products)
            assert g.products_per_pixel == g.weights.size, g.name
            n_in, n_out = g.matrix
            assert n_out == g.channels and n_in == (g.weights.shape[0] if hw_op.products == ops.WINDOW
                                                    else g.kernel[0] * g.kernel[1] * g.in_shape[2]), g.name
            assert g.macs == g.weights.size * g.out_pixels
    assert seen == {ops.WINDOW, ops.TAPS}
