"""Folds and weights in a ROM in the estimator and planner (layers.NAME.fold, .storage), counted by hand."""
import pytest

from hw.estimate import costs as C
from hw.estimate.geometry import LayerGeom
from hw.estimate.layers import LayerSetting, estimate_layer, output_casts
from hw.estimate.network import Stream
from hw.estimate.plan import layer_settings
from hw.estimate.reuse import in_our_kernel

FAMILY = "zynq_ultrascale_plus"


def fused_pointwise(cin=8, cout=16) -> LayerGeom:
    return LayerGeom("pw", "pointwise", (10, 10, cin), (10, 10, cout), 8, 8, accum_bits=20, weight_bits=8,
                     fused="pw_act")


def test_folded_pointwise_by_hand():
    g = fused_pointwise()                  # 128 products a pixel, 16 channels rounded and saturated
    est = estimate_layer(g, LayerSetting(4, "latency", "lut", fold=4), FAMILY)
    assert est.multipliers == 32 and est.cost.dsp == 0            # ceil(128 / 4) LUT multipliers
    adders, weight_mux, multiply, casts = 32 * 20, 32 * 8, 32 * 8 * 8, 4 * 20   # 16 / 4 channels cast a clock
    assert est.cost.lut == pytest.approx(adders + weight_mux + multiply + 40 + casts)
    assert est.cost.ff == pytest.approx(32 * 20 + 16 * 8 + 40)   # accumulators, the output word held, control
    assert est.ii == 4 and est.cycles == 100 * 4 + est.depth     # the clocks of R, whatever the fold
    unfolded = estimate_layer(g, LayerSetting(4, "latency", "lut", fold=1), FAMILY)
    assert unfolded.cost.lut - est.cost.lut == pytest.approx((16 - 4) * 20)


def test_output_casts_and_routing():
    g = fused_pointwise()
    assert [output_casts(g, LayerSetting(8, fold=f)) for f in (1, 2, 16)] == [16, 8, 1]
    assert in_our_kernel(g, "lut", 2) and not in_our_kernel(g, "lut", 1) and not in_our_kernel(g, "dsp", 1)
    dense = LayerGeom("fc", "dense", (1, 1, 8), (1, 1, 4), 8, 8)
    assert not in_our_kernel(dense, "lut", 2)


def test_planner_offers_the_deepest_fold_of_each_reuse_factor():
    g = fused_pointwise()
    folded = [s for s in layer_settings(g, FAMILY) if s.fold > 1]
    assert {s.multiplier for s in folded} == {"lut", "dsp", "packed"}
    for s in folded:     # the deepest fold dividing both 16 channels and R (packed: whole pairs a step)
        assert s.fold == max(f for f in range(1, 17) if 16 % f == 0 and s.reuse % f == 0
                             and (s.multiplier != "packed" or 16 // f % 2 == 0)), s
        assert s.strategy == "latency"
    assert not any(s.fold > 1 and s.reuse == 1 for s in layer_settings(g, FAMILY))


def test_weights_in_a_rom_by_hand():
    g = fused_pointwise()                  # 8 taps (1x1, 8 channels), 16 channels
    rom = estimate_layer(g, LayerSetting(8, "latency", "dsp", fold=4, storage="bram"), FAMILY)
    # R 8 = 4 fold steps x 2 in-steps of 4 taps: 16 products a clock in 16 DSPs, 8 rows of 16 x 8 bits
    assert rom.multipliers == 16 and rom.cost.dsp == 16 and rom.storage == "bram"
    assert rom.cost.bram18 == C.memory(8, 16 * 8, "bram").bram18
    tap_select = 4 * 8 * 1                 # 4 input lanes (one group), 8 bits, a 2:1 mux each
    assert rom.cost.lut == pytest.approx(16 * 20 + tap_select + 40 + 4 * 20)   # no weight constants muxed
    registers = estimate_layer(g, LayerSetting(8, "latency", "dsp", fold=8), FAMILY)
    assert registers.storage == "registers" and registers.cost.bram18 == 0
    lutram = estimate_layer(g, LayerSetting(8, "latency", "dsp", fold=4, storage="lutram"), FAMILY)
    assert lutram.cost.bram18 == 0 and lutram.cost.lut > rom.cost.lut


def test_planner_offers_roms_only_where_the_taps_divide():
    g = fused_pointwise()
    roms = [s for s in layer_settings(g, FAMILY) if s.storage != "registers"]
    assert {s.storage for s in roms} == {"bram", "lutram"}
    for s in roms:                         # R / F in-steps divide the 8 taps
        assert s.reuse % s.fold == 0 and 8 % (s.reuse // s.fold) == 0, s
    assert max(s.reuse for s in roms if s.multiplier == "lut") == 16 * 8       # one product a clock
    assert max(s.reuse for s in roms if s.multiplier == "packed") == 16 * 8 // 2   # one packed pair a clock


def fused_gap(chan=12, pixels=(7, 7)) -> LayerGeom:
    return LayerGeom("gap", "gap", (*pixels, chan), (1, 1, chan), 8, 8, accum_bits=14, fused="gap_act")


def test_folded_global_average_by_hand():
    g = fused_gap()                        # 12 channels of 8 bits, 14-bit sums, 8-bit means
    one = estimate_layer(g, LayerSetting(), FAMILY)
    assert one.cycles == 49 + one.depth    # hls4ml's kernel: a pixel a clock
    assert one.cost.lut == pytest.approx(12 * (14 + 8) + 40 + 12 * 14)   # adders and divides, control, casts
    est = estimate_layer(g, LayerSetting(fold=4), FAMILY)
    lanes, select = 3, 3 * 8 * 1           # 12 / 4 lanes, each a 4:1 mux of 8 bits (one LUT6 per 3 inputs)
    accumulators = C.memory(4, lanes * 14, "lutram")
    assert est.cost.lut == pytest.approx(lanes * (14 + 8) + select + accumulators.lut + 40 + lanes * 14)
    assert est.cost.ff == pytest.approx(lanes * 14 + 12 * (8 + 8) + accumulators.ff + 40)  # words held
    assert est.ii == 1 and est.cycles == 49 * 4 + 4 + est.depth   # F steps a pixel, F output steps
    assert layer_settings(g, FAMILY) == [LayerSetting(fold=f) for f in (1, 2, 3, 4, 6, 12)]


def test_folding_a_wide_global_average_saves_what_its_lanes_cost():
    g = fused_gap(768)                     # AttendNet-A's s17_gap
    costs = {f: estimate_layer(g, LayerSetting(fold=f), FAMILY).cost.lut for f in (1, 8, 768)}
    assert costs[1] > 10 * costs[768] and costs[1] > costs[8] > costs[768]   # the 768:1 select is most of F=768


def test_weights_in_uram_by_hand():
    """The same rows as a BRAM ROM, in URAM288 blocks (4096 x 72), plus the load's row register."""
    g = fused_pointwise()
    bram = estimate_layer(g, LayerSetting(8, "latency", "dsp", fold=4, storage="bram"), FAMILY)
    uram = estimate_layer(g, LayerSetting(8, "latency", "dsp", fold=4, storage="uram"), FAMILY)
    assert uram.storage == "uram" and uram.cost.bram18 == 0
    assert uram.cost.uram == 2                                   # 8 rows of 16 x 8 = 128 bits: two 72-bit blocks
    assert uram.cost.lut == pytest.approx(bram.cost.lut)          # the same tap muxes, no constants
    assert uram.cost.ff == pytest.approx(bram.cost.ff + 16 * 8)   # a row assembled by the load
    assert "uram" not in {s.storage for s in layer_settings(g, FAMILY)}   # only where the board has URAM
    assert "uram" in {s.storage for s in layer_settings(g, FAMILY, ("registers", "bram", "lutram", "uram"))}


def network_tail():
    """AttendNet-A's end in small: a 49-pixel pointwise conv of 12 channels -> global average -> dense."""
    conv = LayerGeom("conv", "pointwise", (7, 7, 8), (7, 7, 12), 8, 8, accum_bits=20, weight_bits=8, fused="conv_act")
    gap = LayerGeom("gap", "gap", (7, 7, 12), (1, 1, 12), 8, 8, accum_bits=14, inputs=("conv",), fused="gap_act")
    fc = LayerGeom("fc", "dense", (1, 1, 12), (1, 1, 4), 8, 16, accum_bits=20, weight_bits=8, inputs=("gap",))
    streams = [Stream("conv->gap", 2, 96, producer="conv", reader="gap"),
               Stream("gap->fc", 2, 96, producer="gap", reader="fc")]
    return [conv, gap, fc], streams


@pytest.mark.parametrize("conv_fold,gap_fold,folds", [
    (1, 1, (1, 1)), (4, 1, (1, 1)),       # an unfolded average reads and writes whole pixels
    (1, 4, (1, 4)), (4, 4, (4, 4)), (6, 4, (2, 4)), (4, 12, (4, 12)),
])
def test_streams_fold_as_both_ends_allow(conv_fold, gap_fold, folds):
    from hw.estimate.source import fold_streams

    geoms, streams = network_tail()
    settings = {"conv": LayerSetting(conv_fold * 2, fold=conv_fold), "gap": LayerSetting(fold=gap_fold),
                "fc": LayerSetting(4, "resource")}
    folded_settings, folded = fold_streams(geoms, settings, streams)
    assert [(s.fold, s.bits) for s in folded] == [(f, 96 // f) for f in folds]
    assert (folded_settings["gap"].in_fold, folded_settings["fc"].in_fold) == folds
    assert settings["gap"].in_fold == 1              # the caller's settings are not changed
    fork = [Stream("conv", 2, 96)]                   # a Clone's stream names no reader: whole pixels
    assert fold_streams(geoms, settings, fork)[1] == fork


def test_a_folded_input_word_spares_the_average_its_held_word_and_select():
    g = fused_gap()                                  # 12 channels, 14-bit sums
    whole = estimate_layer(g, LayerSetting(fold=4), FAMILY)
    per_step = estimate_layer(g, LayerSetting(fold=4, in_fold=4), FAMILY)
    two_steps = estimate_layer(g, LayerSetting(fold=4, in_fold=2), FAMILY)
    assert whole.cost.lut - per_step.cost.lut == pytest.approx(3 * 8 * 1)        # the 4:1 select of 3 lanes
    assert whole.cost.ff - per_step.cost.ff == pytest.approx(12 * 8)             # no input word held
    assert whole.cost.ff - two_steps.cost.ff == pytest.approx(6 * 8)             # a word of 6 held
    assert per_step.cycles == whole.cycles


def test_a_dense_layer_takes_a_clock_a_word():
    fc = network_tail()[0][2]
    assert (estimate_layer(fc, LayerSetting(4, "resource", in_fold=12), FAMILY).cycles
            == estimate_layer(fc, LayerSetting(4, "resource"), FAMILY).cycles + 11)


def test_planner_prices_each_end_as_if_the_other_folded_most():
    from types import SimpleNamespace

    from hw.estimate.network import stream_cost
    from hw.estimate.stream_pricing import stream_pricing

    geoms, streams = network_tail()
    pricing = stream_pricing(SimpleNamespace(geoms=geoms, streams=streams))
    conv_in, conv_saving = pricing["conv"]
    gap_in, gap_saving = pricing["gap"]
    assert conv_in(LayerSetting(8, fold=4)) == 1                     # its input is the image side: not folded
    whole = stream_cost(streams[:1]).lut
    assert conv_saving(LayerSetting(8, fold=4))[1] == pytest.approx(whole - stream_cost([Stream("n", 2, 24)]).lut)
    assert not conv_saving(LayerSetting(8, fold=1)).any()
    assert gap_in(LayerSetting(fold=4)) == 4 and gap_in(LayerSetting(fold=1)) == 1
    assert gap_saving(LayerSetting(fold=12))[1] > 0 and not gap_saving(LayerSetting(fold=1)).any()
    fc_in, fc_saving = pricing["fc"]
    assert fc_in(LayerSetting(4, "resource")) == 12 and not fc_saving(LayerSetting(4, "resource")).any()


def conv_pair():
    """A pointwise conv of 12 channels into another of 8 (49 pixels each)."""
    first = LayerGeom("pw1", "pointwise", (7, 7, 8), (7, 7, 12), 8, 8, accum_bits=20, weight_bits=8, fused="a1")
    second = LayerGeom("pw2", "pointwise", (7, 7, 12), (7, 7, 8), 8, 8, accum_bits=20, weight_bits=8,
                       inputs=("pw1",), fused="a2")
    return [first, second], [Stream("pw1->pw2", 2, 96, producer="pw1", reader="pw2")]


@pytest.mark.parametrize("first_fold,second_fold,fold", [(1, 4, 1), (4, 1, 1), (4, 4, 4), (6, 4, 2), (12, 8, 4)])
def test_a_stream_between_two_folded_convs_folds_by_their_gcd(first_fold, second_fold, fold):
    from hw.estimate.source import fold_streams

    geoms, streams = conv_pair()
    settings = {"pw1": LayerSetting(first_fold * 2, fold=first_fold), "pw2": LayerSetting(second_fold * 3,
                                                                                         fold=second_fold)}
    folded_settings, folded = fold_streams(geoms, settings, streams)
    assert [(s.fold, s.bits) for s in folded] == [(fold, 96 // fold)]
    assert folded_settings["pw2"].in_fold == fold


def test_a_conv_reading_words_stages_its_pixel_and_takes_it_a_position_later():
    second = conv_pair()[0][1]
    whole = estimate_layer(second, LayerSetting(12, fold=4), FAMILY)
    words = estimate_layer(second, LayerSetting(12, fold=4, in_fold=4), FAMILY)
    assert words.cost.ff - whole.cost.ff == pytest.approx(12 * 8)      # the staged pixel: 12 channels of 8 bits
    assert words.cost.lut - whole.cost.lut == pytest.approx(4)         # a write enable a word
    assert words.cycles == whole.cycles + 12                           # one position (R clocks) later


def test_planner_prices_a_conv_reader_at_its_neighbours_fold():
    from types import SimpleNamespace

    from hw.estimate.stream_pricing import stream_pricing

    geoms, streams = conv_pair()
    design = SimpleNamespace(geoms=geoms, streams=streams)
    second_in, _ = stream_pricing(design)["pw2"]
    assert second_in(LayerSetting(8, fold=8)) == 4                     # gcd(12 channels, 8): as if pw1 folded most
    around = {"pw1": LayerSetting(6, fold=6), "pw2": LayerSetting(8, fold=8)}
    second_in, _ = stream_pricing(design, around)["pw2"]
    first_in, first_saving = stream_pricing(design, around)["pw1"]
    assert second_in(LayerSetting(8, fold=8)) == 2 and second_in(LayerSetting(4, fold=4)) == 2   # gcd with 6
    assert first_saving(LayerSetting(12, fold=12))[1] > first_saving(LayerSetting(4, fold=2))[1] > 0   # 4, 2 words
    assert not first_saving(LayerSetting(6, fold=3)).any()                                      # gcd(3, 8) = 1
