"""Folded streams (hw/hls/ops/stream_fold.py, hw/hls/layers/stream_fold.py): a folded conv writes
its fold steps' channels a word to a folded global average, which writes its means a word to a
dense layer.  Bit-exact against both software models on live data, on both backends, for words of
one step, of several steps and of one channel; the word sizes the firmware declares are checked,
and a stream that must stay whole pixels (a fork's, the network's output) stays so."""
import re

import pytest
import tensorflow as tf
from qkeras import QActivation, QDense

from csim_models import B8, INPUT, RELU, W8, assert_exact_and_live, qconv
from hw.config import LayerSettings
from hw.sim.csim import csim
from qmodels.reference import calibrate
from test_global_average import CHANNELS, gap_model


def assert_report_is_the_estimate(out, model, backend, layers):
    """The recipe's estimate (the planner's view: streams folded by hw/hls/ops/stream_fold.py's rule)
    equals the generated project's (the folds generation recorded): FIFO widths and totals."""
    from hw.config import BuildConfig
    from hw.estimate.source import from_config, from_project

    cfg = BuildConfig(model=model.name, backend=backend, board="zcu104", layers=layers)
    planned, reported = from_config(cfg, model).estimate(), from_project(out).estimate()
    assert sorted(s.bits for s in planned.streams) == sorted(s.bits for s in reported.streams)
    assert planned.totals == pytest.approx(reported.totals)


def stream_words(out, project: str) -> dict:
    """{layer: its output stream word's element count, as the firmware declares it}."""
    defines = (out / "firmware" / "defines.h").read_text()
    counts = {t: eval(n) for n, t in re.findall(r"typedef nnet::array<.*, ([0-9*/]+)> (\w+);", defines)}
    calls = re.findall(r"nnet::\w+<\w+, (\w+), config\d+>\(.*\); // (\w+)",
                       (out / "firmware" / f"{project}.cpp").read_text())
    return {layer: counts[word] for word, layer in calls}


@pytest.mark.parametrize("backend,conv_fold,gap_fold,conv_words,gap_words,fc", [
    ("vitis", 4, 4, 3, 3, "lut"),        # one step a word on both streams
    ("vivado", 4, 12, 3, 1, "dsp"),      # the average takes 3 steps (of one lane) a word; hls4ml's dense, DSPs
    ("vitis", 6, 4, 6, 3, "lut"),        # gcd(6, 4) = 2 words a pixel: 3 conv steps a word, 2 average steps
    ("vivado", 12, 12, 1, 1, "lut"),     # one channel a word
    ("vitis", 1, 6, 12, 2, "dsp"),       # hls4ml's conv writes whole pixels; the average's means leave 2 a word
])
def test_folded_streams_are_exact(generate_in_memory, backend, conv_fold, gap_fold, conv_words, gap_words, fc):
    layers = {"gap": LayerSettings(fold=gap_fold), "fc": LayerSettings(multiplier=fc)}
    if conv_fold > 1:
        layers["conv"] = LayerSettings(reuse=conv_fold * 3, fold=conv_fold)
    model = gap_model()
    out, resolved = generate_in_memory(model, backend, "stream", layers=layers)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    assert resolved["layers"]["fc"]["class"] == ("DspDense" if fc == "dsp" else "Dense")
    assert_report_is_the_estimate(out, model, backend, layers)
    recorded = {name: entry.get("stream_fold", 1) for name, entry in resolved["layers"].items()}
    assert (recorded["conv"], recorded["gap"]) == (CHANNELS // conv_words, CHANNELS // gap_words), recorded
    words = stream_words(out, resolved["project_name"])
    assert (words["conv"], words["gap"]) == (conv_words, gap_words), words
    assert words["fc"] == 4 and "stream_fold" not in resolved["layers"]["fc"]   # the output: whole words


def fork_model() -> tf.keras.Model:
    """conv -> two folded global averages (a fork: hls4ml's Clone copies whole pixels) -> two dense
    layers -> add."""
    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((6, 5, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="conv_act")(qconv(x, CHANNELS, "conv", kernel=3))
    heads = []
    for i in (1, 2):
        y = tf.keras.layers.GlobalAveragePooling2D(name=f"gap{i}")(x)
        y = QActivation(RELU.qkeras(relu=True), name=f"gap{i}_act")(y)
        heads.append(QDense(4, name=f"fc{i}", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(y))
    model = tf.keras.Model(inputs, tf.keras.layers.Add(name="add")(heads), name="t_fork")
    calibrate(model, seed=3)
    return model


def test_a_forked_stream_stays_whole_pixels(generate_in_memory):
    layers = {"conv": LayerSettings(reuse=12, fold=4), "gap1": LayerSettings(fold=4), "gap2": LayerSettings(fold=6)}
    out, resolved = generate_in_memory(fork_model(), "vitis", "stream", layers=layers)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    recorded = {name: entry.get("stream_fold", 1) for name, entry in resolved["layers"].items()}
    assert (recorded["conv"], recorded["gap1"], recorded["gap2"]) == (1, 4, 6), recorded
    words = stream_words(out, resolved["project_name"])
    assert (words["conv"], words["gap1"], words["gap2"]) == (CHANNELS, 3, 2), words


def test_a_recorded_stream_fold_that_cannot_be_is_refused_by_name(generate_in_memory):
    """An attendnets.yaml edited to a stream fold that does not divide its producer's channels is
    named by the estimator (report), not priced."""
    import yaml

    from hw.estimate.source import EstimateError, from_project

    layers = {"gap": LayerSettings(fold=4)}
    out, resolved = generate_in_memory(gap_model(), "vitis", "stream", layers=layers)
    resolved["layers"]["gap"]["stream_fold"] = 5
    (out / "attendnets.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    with pytest.raises(EstimateError, match=r"attendnets.yaml: layers.gap.stream_fold is 5; expected a divisor "
                                            r"of the 12 channels of gap"):
        from_project(out)


def conv_chain_model(reader: dict) -> tf.keras.Model:
    """conv (3x3, 12 channels) -> ReLU -> the reader conv -> ReLU -> global average -> ReLU -> dense:
    the reader takes the folded conv's words.  ``reader``: filters, kernel, groups, strides, padding."""
    from qkeras import QConv2D, QDepthwiseConv2D

    from qmodels.layers import QGroupConv2D

    tf.keras.utils.set_random_seed(5)
    inputs = tf.keras.Input((7, 6, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="conv_act")(qconv(x, CHANNELS, "conv", kernel=3))
    quantizers = dict(bias_quantizer=B8.qkeras(), padding=reader["padding"], strides=reader["strides"], name="rd")
    if reader["groups"] == "depthwise":
        y = QDepthwiseConv2D(reader["kernel"], depthwise_quantizer=W8.qkeras(), **quantizers)(x)
    elif reader["groups"] > 1:
        y = QGroupConv2D(reader["filters"], reader["kernel"], groups=reader["groups"], kernel_quantizer=W8.qkeras(),
                         **quantizers)(x)
    else:
        y = QConv2D(reader["filters"], reader["kernel"], kernel_quantizer=W8.qkeras(), **quantizers)(x)
    x = QActivation(RELU.qkeras(relu=True), name="rd_act")(y)
    x = QActivation(RELU.qkeras(relu=True), name="gap_act")(tf.keras.layers.GlobalAveragePooling2D(name="gap")(x))
    x = QDense(4, name="fc", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)
    model = tf.keras.Model(inputs, x, name="t_conv_chain")
    calibrate(model, seed=5)
    return model


@pytest.mark.parametrize("backend,conv_fold,reader,reader_setting,words", [
    # a pointwise conv (hls4ml's, routed to our grouped conv by its fold): gcd(4, 6) = 2 words a pixel
    ("vitis", 4, dict(filters=12, kernel=1, groups=1, strides=1, padding="same"), dict(reuse=12, fold=6), 6),
    # a grouped 3x3 'same' conv (our padding: the first position is padding, staged by none)
    ("vivado", 12, dict(filters=8, kernel=3, groups=2, strides=1, padding="same"), dict(reuse=8, fold=4), 3),
    # 'valid' and strided: the first position is a pixel, read before the walk; one channel a word
    ("vitis", 6, dict(filters=6, kernel=3, groups=3, strides=2, padding="valid"), dict(reuse=6, fold=6), 2),
    # strided 'same' (padding after only) with weights in a ROM: 3 iterations a step, 4 words a pixel
    ("vivado", 4, dict(filters=8, kernel=3, groups=4, strides=2, padding="same"),
     dict(reuse=12, fold=4, storage="bram"), 3),
    # one channel a word into a 12-step pointwise conv with DSP products
    ("vitis", 12, dict(filters=12, kernel=1, groups=1, strides=1, padding="same"),
     dict(reuse=12, fold=12, multiplier="dsp"), 1),
    # hls4ml's depthwise conv is padded by a ZeroPadding2D it inserts, which reads whole pixels
    ("vitis", 4, dict(filters=12, kernel=3, groups="depthwise", strides=1, padding="same"), dict(reuse=4, fold=4),
     CHANNELS),
])
def test_folded_streams_into_convolutions_are_exact(generate_in_memory, backend, conv_fold, reader, reader_setting,
                                                    words):
    layers = {"conv": LayerSettings(reuse=conv_fold * 3, fold=conv_fold), "rd": LayerSettings(**reader_setting)}
    model = conv_chain_model(reader)
    out, resolved = generate_in_memory(model, backend, "stream", layers=layers)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    assert_report_is_the_estimate(out, model, backend, layers)
    assert stream_words(out, resolved["project_name"])["conv"] == words
    assert resolved["layers"]["conv"].get("stream_fold", 1) == CHANNELS // words


def residual_model() -> tf.keras.Model:
    """conv -> pw0 -> fork -> pw_a (3x3) -> pw_b -> add (with the fork) -> global average -> dense:
    pw0 reads conv's words on a chain; pw_b sits on the residual's long branch."""
    tf.keras.utils.set_random_seed(7)
    inputs = tf.keras.Input((6, 5, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    x = QActivation(RELU.qkeras(relu=True), name="conv_act")(qconv(x, CHANNELS, "conv", kernel=3))
    fork = QActivation(RELU.qkeras(relu=True), name="pw0_act")(qconv(x, CHANNELS, "pw0"))
    y = QActivation(RELU.qkeras(relu=True), name="pw_a_act")(qconv(fork, CHANNELS, "pw_a", kernel=3))
    y = QActivation(RELU.qkeras(relu=True), name="pw_b_act")(qconv(y, CHANNELS, "pw_b"))
    x = QActivation(RELU.qkeras(relu=True), name="add_act")(tf.keras.layers.Add(name="add")([fork, y]))
    x = QActivation(RELU.qkeras(relu=True), name="gap_act")(tf.keras.layers.GlobalAveragePooling2D(name="gap")(x))
    x = QDense(4, name="fc", kernel_quantizer=W8.qkeras(), bias_quantizer=B8.qkeras())(x)
    model = tf.keras.Model(inputs, x, name="t_residual")
    calibrate(model, seed=7)
    return model


def test_a_conv_on_a_residual_branch_reads_whole_pixels_and_the_fifos_hold(generate_in_memory):
    """A conv reading words takes a pixel ahead, which a branch's FIFO depths do not allow for: on a
    fork's long branch it reads whole pixels (a chain still folds), and the threaded C++ at the
    project's depths finishes, exact (csim --fifo-check; with pw_b reading words it deadlocks)."""
    from hw.sim.fifo_check import fifo_check

    layers = {name: LayerSettings(reuse=8, fold=4) for name in ("pw0", "pw_b")}
    layers.update(conv=LayerSettings(reuse=12, fold=4), pw_a=LayerSettings(reuse=12, fold=4))
    model = residual_model()
    out, resolved = generate_in_memory(model, "vitis", "stream", layers=layers)
    assert_exact_and_live(csim(out, modes=("emulation",)))
    assert_report_is_the_estimate(out, model, "vitis", layers)
    recorded = {name: entry.get("stream_fold", 1) for name, entry in resolved["layers"].items()}
    assert recorded["conv"] == 4 and recorded["pw_a"] == 1, recorded     # into pw0 folded; into pw_b not
    report = fifo_check(out, timeout_ms=30000)
    assert report["project_depths"]["status"] == "finished" and report["passed"], report
