"""The custom layers and the fixed-point formats against their numpy references."""
import numpy as np
import pytest
import tensorflow as tf

from qmodels.fixed import Fixed, from_qkeras
from qmodels.layers import (SelectiveAttention, Unpooling2D, selective_attention_reference, sigmoid_table,
                            unpooling2d_reference)


@pytest.mark.parametrize("fmt", ["fixed<8,1>", "fixed<8,3>", "fixed<8,4>", "ufixed<8,0>", "ufixed<8,2>", "fixed<6,2>"])
def test_fixed_matches_qkeras_quantizer_exactly(fmt):
    fixed = Fixed.parse(fmt)
    rng = np.random.default_rng(0)
    # values around and beyond the range, and exact ties (half steps) which must round to even
    x = np.concatenate([rng.uniform(fixed.min * 1.5 - 1, fixed.max * 1.5 + 1, 5000),
                        (np.arange(-300, 300) + 0.5) * fixed.step]).astype(np.float32)
    for relu in ([False, True] if not fixed.signed else [False]):
        q = fixed.qkeras(relu=relu)
        assert from_qkeras(q) == fixed
        np.testing.assert_array_equal(q(tf.constant(x)).numpy().astype(np.float64), fixed.quantize(x))


def test_fixed_rejects_bad_text_and_unsupported_quantizers():
    with pytest.raises(ValueError, match="not a fixed-point format"):
        Fixed.parse("ap_fixed<8>")
    from qkeras import quantized_bits
    with pytest.raises(ValueError, match="alpha=1"):
        from_qkeras(quantized_bits(8, 0, alpha="auto_po2"))


@pytest.mark.parametrize("h,w,factor,out", [(4, 4, 2, (8, 8)), (4, 3, 2, (7, 5)), (3, 3, 2, (5, 6)),
                                            (1, 1, 2, (1, 1)), (1, 1, 2, (2, 2)), (2, 5, 3, (6, 14))])
def test_unpooling_matches_reference(h, w, factor, out):
    k = np.random.default_rng(1).normal(size=(2, h, w, 3)).astype(np.float32)
    layer = Unpooling2D(factor, output_size=out)
    y = layer(k).numpy()
    assert y.shape == (2, *out, 3)
    np.testing.assert_array_equal(y, unpooling2d_reference(k, factor, out))
    # each output pixel is the nearest source pixel, clamped at the edge
    assert y[0, out[0] - 1, out[1] - 1, 0] == k[0, min((out[0] - 1) // factor, h - 1), min((out[1] - 1) // factor, w - 1), 0]


def test_unpooling_undoes_same_maxpool_at_odd_size():
    v = tf.random.uniform((1, 7, 9, 2))
    pooled = tf.keras.layers.MaxPooling2D(2, padding="same")(v)
    assert Unpooling2D(2, output_size=(7, 9))(pooled).shape == v.shape


def test_sigmoid_table_is_quantized_logistic_over_the_grid():
    att, sig = Fixed.parse("fixed<8,4>"), Fixed.parse("ufixed<8,0>")
    table = sigmoid_table(att, sig)
    assert table.shape == (256,)
    assert np.all(np.diff(table) >= 0)
    assert table[0] == 0.0 and table[-1] == sig.max          # saturates at both ends
    assert table[-att.min_code] == 0.5                        # sigma(0) = 1/2 exactly
    np.testing.assert_array_equal(table, sig.quantize(table))


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 1, 1, 4), (3, 8, 8, 6)])
def test_selective_attention_matches_reference(per_channel, shape):
    rng = np.random.default_rng(2)
    v = Fixed.parse("ufixed<8,2>").quantize(rng.uniform(0, 4, shape)).astype(np.float32)
    a = rng.normal(0, 4, shape).astype(np.float32)            # includes values off A's grid and out of range
    layer = SelectiveAttention(per_channel=per_channel)
    layer([v, a])
    layer.scale.assign(rng.uniform(-3, 3, layer.scale.shape))
    y = layer([v, a]).numpy()
    ref = selective_attention_reference(v, a, layer.quantized_scale(), layer.attention, layer.sigmoid,
                                        layer.output_format)
    np.testing.assert_array_equal(y.astype(np.float64), ref)
    assert 0.05 < np.mean((ref != 0) & (np.abs(ref) < layer.output_format.max)) # data is alive, not collapsed


def test_selective_attention_trains_through_the_table():
    layer = SelectiveAttention()
    v = tf.ones((1, 2, 2, 1))
    a = tf.Variable(tf.zeros((1, 2, 2, 1)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer([v, a]))
    grads = tape.gradient(loss, [a, layer.scale])
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


def test_selective_attention_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="one shape"):
        SelectiveAttention()([tf.zeros((1, 4, 4, 2)), tf.zeros((1, 2, 2, 2))])
