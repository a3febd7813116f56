"""Quantized activations fused into their producers (hw/hls/fuse.py, hw/hls/layers/fuse_quantizer.py):
which pairs fuse and which stay (with the reason recorded in attendnets.yaml), and the C++ bit-exact
against both software models with the fusion on and off, over both backends and io types."""
import pytest
import tensorflow as tf
from qkeras import QActivation

from csim_models import ATT, INPUT, RELU, qconv, assert_exact_and_live
from hw.config import BuildConfig, ConfigError
from hw.hls.fuse import fused_pairs, unfused_reasons
from hw.sim.csim import csim
from qmodels.reference import calibrate


def fork_model(seed=0) -> tf.keras.Model:
    """A conv whose output feeds its ReLU AND an add (not fusable: the pre-activation value is needed),
    beside convs each followed by only their activation (fusable; one signed, one ReLU, one grouped),
    the add's signed activation and a global average's ReLU (fusable: the exact sum and the mean are
    cast as the activation casts them)."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((6, 5, 3), name="image")
    x = QActivation(INPUT.qkeras(), name="input_q")(inputs)
    a = QActivation(RELU.qkeras(relu=True), name="a_act")(qconv(x, 4, "a", kernel=3))
    b = QActivation(ATT.qkeras(), name="b_act")(qconv(a, 4, "b"))
    fork = qconv(b, 4, "fork")
    fork_act = QActivation(RELU.qkeras(relu=True), name="fork_act")(fork)
    joined = QActivation(ATT.qkeras(), name="join_act")(tf.keras.layers.Add(name="join")([fork, fork_act]))
    g = QActivation(RELU.qkeras(relu=True), name="g_act")(qconv(joined, 8, "g", kernel=3, groups=2))
    mean = QActivation(RELU.qkeras(relu=True), name="gap_act")(tf.keras.layers.GlobalAveragePooling2D(name="gap")(g))
    model = tf.keras.Model(inputs, mean, name="t_fuse")
    calibrate(model, seed=seed)
    return model


def test_the_rule_fuses_single_consumers_and_says_why_not_otherwise():
    model = fork_model()
    assert fused_pairs(model) == {"a_act": "a", "b_act": "b", "join_act": "join", "g_act": "g",
                                  "gap_act": "gap"}
    assert "fork's output also feeds join" in unfused_reasons(model)["fork_act"]
    assert fused_pairs(model, enabled=False) == {}


@pytest.fixture
def generate_and_run(generate_in_memory):
    def run(model, backend="vitis", io="stream", **fields):
        out, resolved = generate_in_memory(model, backend, io, **fields)
        return csim(out, modes=("emulation",)), resolved

    return run


@pytest.mark.parametrize("backend,io", [("vitis", "stream"), ("vivado", "stream"), ("vitis", "parallel")])
def test_fused_network_is_exact_and_recorded(generate_and_run, backend, io):
    report, resolved = generate_and_run(fork_model(), backend, io)
    assert_exact_and_live(report)
    record, layers = resolved["fused_activations"], resolved["layers"]
    assert record["fused"] == {"a_act": "a", "b_act": "b", "join_act": "join", "g_act": "g",
                                  "gap_act": "gap"}
    assert set(record["kept"]) == {"fork_act"}
    for act, producer in record["fused"].items():  # the producer writes the activation's own format
        assert act not in layers
        signed = act in ("b_act", "join_act")
        assert layers[producer]["types"]["result_t"].startswith("fixed<8,4,RND_CONV,SAT" if signed
                                                                else "ufixed<8,2,RND_CONV,SAT")
    assert "fork_act" in layers and layers["fork"]["types"]["result_t"] != layers["fork_act"]["types"]["result_t"]


def test_fusion_off_keeps_every_activation(generate_and_run):
    report, resolved = generate_and_run(fork_model(), fuse_activations=False)
    assert_exact_and_live(report)
    assert resolved["fused_activations"]["fused"] == {}
    assert resolved["fused_activations"]["kept"]["a_act"] == "fuse_activations is false"
    assert {"a_act", "b_act", "join_act", "g_act", "fork_act", "gap_act"} <= set(resolved["layers"])


def test_fuse_activations_must_be_a_boolean():
    with pytest.raises(ConfigError, match="field 'fuse_activations': expected true or false, got 'yes'"):
        BuildConfig.from_dict({"model": "attendnet-tiny", "fuse_activations": "yes"}).validate()
