"""Branch FIFO depths (hw.hls.fifo): the closed form, and a bounded-FIFO cycle simulation that checks it."""
import time

import numpy as np
import pytest
import tensorflow as tf

from hw.hls import fifo
from qmodels.build import build_model
from qmodels.layers import QGroupConv2D, Unpooling2D
from qmodels.spec import parse_spec

layers = tf.keras.layers

MBV2_SMALL = {"name": "mbv2-small", "input_shape": [16, 16, 3], "classes": 4, "stages": [
    {"conv": {"filters": 8, "kernel": 3, "stride": 1}},
    {"bottleneck": {"out": 8, "expansion": 1}},   # fork straight into a 3x3 depthwise
    {"bottleneck": {"out": 8}},
    {"bottleneck": {"out": 16, "stride": 2}},     # no residual
    {"bottleneck": {"out": 16}},
    {"global_avg_pool": {}}]}

_MODELS = {}


def model(key):
    """Models are built once per test session (building one takes seconds)."""
    if key not in _MODELS:
        name, shape = key
        spec = parse_spec(MBV2_SMALL) if name == "mbv2-small" else name
        _MODELS[key] = build_model(spec, input_shape=shape, calibrate=False)
    return _MODELS[key]


def shorts(m):
    return [b for b in fifo.branch_fifo_depths(m) if b.consumer == b.join]


# ------------------------------------------------------------------ need(): closed form vs loop
def _layer_cases():
    x = tf.keras.Input((9, 11, 4))
    yield layers.Conv2D(4, 3, padding="same")(x)
    yield layers.Conv2D(4, 3, strides=2, padding="same")(x)
    yield layers.Conv2D(4, 5, strides=2, padding="same")(x)
    yield layers.Conv2D(4, 1, strides=2, padding="same")(x)
    yield layers.DepthwiseConv2D(3, strides=2, padding="valid")(x)
    yield QGroupConv2D(4, 3, groups=2, strides=2, padding="same")(x)
    yield layers.MaxPooling2D(2)(x)                      # odd input: the last row/column is dropped
    yield layers.ZeroPadding2D(((1, 0), (0, 1)))(x)
    yield layers.ZeroPadding2D(((0, 1), (2, 1)))(x)
    yield Unpooling2D(2, output_size=(17, 21))(x)        # crops: f*H = H_out + 1
    yield Unpooling2D(2, output_size=(20, 23))(x)        # repeats the last row/column
    yield layers.GlobalAveragePooling2D()(x)
    yield layers.Activation("relu")(x)


@pytest.mark.parametrize("case", range(13))
def test_need_closed_form_equals_reads_counted_in_the_kernel_loop(case):
    out = list(_layer_cases())[case]
    layer = out._keras_history.layer
    reads, writes = fifo.program(layer)
    counted = np.cumsum(reads)[writes]                    # reads done when each output is written
    n = np.arange(int(np.prod(fifo._hw(layer.output_shape))))
    assert len(counted) == len(n), "the loop writes every output pixel exactly once"
    assert reads.sum() == int(np.prod(fifo._hw(layer.input_shape))), "the loop reads every input pixel"
    np.testing.assert_array_equal(fifo.need(layer, n), counted)


def test_need_of_a_3x3_same_conv_by_hand():
    x = tf.keras.Input((5, 6, 1))
    layer = layers.Conv2D(1, 3, padding="same")(x)._keras_history.layer
    # output (0,0) needs input up to (1,1): 6 + 2 pixels; (0,5) needs row 1 whole; last row needs all
    assert fifo.need(layer, [0, 5, 6, 4 * 6]).tolist() == [8, 12, 14, 30]


# ------------------------------------------------------------------ the derived depths
@pytest.mark.parametrize("shape, expected", [
    ((32, 32, 3), {"s01_vac_attend": 4 * 16, "s03_vac_attend": 4 * 8}),
    ((30, 30, 3), {"s01_vac_attend": 4 * 15, "s03_vac_attend": 4 * 8}),
    ((17, 23, 3), {"s01_vac_attend": 4 * 12, "s03_vac_attend": 4 * 6}),   # V' 9x12 and 5x6
])
def test_vac_short_copy_holds_four_rows_of_v_prime(shape, expected):
    m = model(("attendnet-tiny", shape))
    got = {b.join: b.minimum for b in shorts(m)}
    assert got == expected
    assert all(b.rows == 4 and b.fork.endswith("_vac_mix_act") for b in shorts(m))
    longs = [b for b in fifo.branch_fifo_depths(m) if b.consumer != b.join]
    assert {b.consumer.split("_", 1)[1] for b in longs} <= {"vac_pool", "vac_pool_pad"}
    assert all(b.depth == fifo.CHAIN_DEPTH for b in longs)


def test_mobilenet_v2_short_copy_holds_a_row_and_two_pixels():
    got = {b.join: (b.fork, b.minimum) for b in shorts(model(("mbv2-small", None)))}
    assert got == {"s01_mbv2_add": ("s00_conv_act", 16 + 2), "s02_mbv2_add": ("s01_mbv2_add_act", 16 + 2),
                   "s04_mbv2_add": ("s03_mbv2_project_act", 8 + 2)}


def test_attendnet_b_224_depths_are_four_rows_and_fast(capsys):
    m = model(("attendnet-b", None))
    start = time.perf_counter()
    branches = shorts(m)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    assert len(branches) == 8
    for b in branches:
        assert (b.minimum, b.rows) == (4 * b.width, 4.0)
        assert b.depth == b.minimum + 6 * fifo.PIPELINE_LATENCY   # pool, embed(+act), pw(+act), unpool
        assert b.depth < b.default and (b.height < 56 or b.depth * 10 < b.default)  # maps of 112..14 rows
    saved = sum(b.saved_bits for b in branches)
    default = sum(b.default * b.channels * b.bits for b in branches)
    with capsys.disabled():
        print(f"\nattendnet-b 224x224: derived in {elapsed * 1e3:.1f} ms")
        for b in branches:
            print(f"  {b.join}: {b.minimum} px = {b.rows:g} rows of {b.width}, with margin {b.depth} "
              f"(hls4ml: {b.default}), "
                  f"{b.channels} ch x {b.bits} b")
        print(f"  V' short copies: {default} -> {default - saved} bits, saved {saved} bits "
              f"({saved / 8 / 1024:.0f} KiB)")
    assert saved > 0.9 * default


# ------------------------------------------------------------------ cycle-level check
SIM_MODELS = [("attendnet-tiny", (32, 32, 3)), ("attendnet-tiny", (30, 30, 3)),
              ("attendnet-tiny", (17, 23, 3)), ("mbv2-small", None)]


@pytest.mark.parametrize("key", SIM_MODELS)
def test_computed_depths_complete_at_full_speed_and_one_less_stalls(key):
    m = model(key)
    depths = fifo.tensor_fifo_depths(m, latency=1)         # the simulator's processes take one clock
    done = fifo.simulate(m, depths)
    assert done.completed and not done.stalled_at
    unbounded = fifo.simulate(m, {k: 1 << 30 for k in depths})
    assert done.cycles == unbounded.cycles                 # the small FIFOs cost no clock
    exact = fifo.tensor_fifo_depths(m, latency=0)
    assert fifo.simulate(m, exact).completed               # the minimum is enough (maybe slower)
    for b in shorts(m):
        for smaller in (b.minimum - 1, max(b.minimum - b.width, 0)):
            result = fifo.simulate(m, {**exact, (b.fork, b.join): smaller})
            assert not result.completed, (b.join, smaller)
            assert result.stalled_at == [(b.fork, b.join)]
            assert result.blocked[b.join][0] == "empty" and result.blocked[b.fork] == ("full", (b.fork, b.join))


@pytest.mark.parametrize("key", SIM_MODELS)
def test_chains_and_long_copies_never_deadlock_at_depth_one(key):
    m = model(key)
    branch = {(b.fork, b.join) for b in shorts(m)}
    depths = {k: (v if k in branch else 1) for k, v in fifo.tensor_fifo_depths(m, latency=0).items()}
    assert fifo.simulate(m, depths).completed


def test_attendnet_b_64_completes_and_each_vac_stalls_one_pixel_short():
    m = model(("attendnet-b", (64, 64, 3)))
    depths = fifo.tensor_fifo_depths(m, latency=0)
    start = time.perf_counter()
    assert fifo.simulate(m, depths).completed
    branches = shorts(m)
    assert len(branches) == 8 and all(b.rows == 4 for b in branches)
    for b in branches:
        result = fifo.simulate(m, {**depths, (b.fork, b.join): b.minimum - 1})
        assert not result.completed and result.stalled_at == [(b.fork, b.join)]
    assert time.perf_counter() - start < 20


def test_simulator_names_a_dead_chain_and_respects_max_cycles():
    m = model(("attendnet-tiny", (32, 32, 3)))
    depths = fifo.tensor_fifo_depths(m)
    dead = fifo.simulate(m, {**depths, ("s02_pepe_dw", "s02_pepe_dw_act"): 0})
    assert not dead.completed and dead.stalled_at == [("s02_pepe_dw", "s02_pepe_dw_act")]
    short = fifo.simulate(m, depths, max_cycles=100)
    assert (short.completed, short.cycles, short.stalled_at) == (False, 100, [])


# ------------------------------------------------------------------ hls4ml variables
def test_hls_stream_depths_name_real_hls4ml_streams(tmp_path):
    pytest.importorskip("hls4ml")
    from hw.config import BuildConfig
    from hw.hls.convert import convert

    m = model(("attendnet-tiny", (32, 32, 3)))
    hls_model = convert(m, BuildConfig(model="attendnet-tiny"), tmp_path, "tiny")
    depths = fifo.hls_stream_depths(hls_model, m)
    assert all(hls_model.get_layer_output_variable(name) is not None for name in depths)
    assert not set(depths) & set(hls_model.inputs + hls_model.outputs)
    clones = {layer.name: layer.outputs for layer in hls_model.get_layers() if layer.class_name == "Clone"}
    assert set(clones) == {"clone_s01_vac_mix_act", "clone_s03_vac_mix_act"}
    margin = 6 * fifo.PIPELINE_LATENCY                      # six processes on the VAC's long branch
    for clone, want in (("clone_s01_vac_mix_act", 64 + margin), ("clone_s03_vac_mix_act", 32 + margin)):
        to_attend = [v for v in clones[clone]
                     if any(v in layer.inputs for layer in hls_model.get_layers() if layer.name.endswith("_attend"))]
        assert [depths[v] for v in to_attend] == [want]
    big = {v for v, d in depths.items() if d > fifo.CHAIN_DEPTH}
    assert len(big) == 2
