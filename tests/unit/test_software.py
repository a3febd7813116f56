"""Where Keras' float32 model may leave the exact values (hw.sim.software): the first differing
layer is explained by float32 (a wide sum, or a division by a non-power of two) or flagged."""
import numpy as np
import pytest
import tensorflow as tf

from hw.sim.software import float32_reason, keras_divergence


def _gap_model(h, w, c=2):
    inputs = tf.keras.Input((h, w, c))
    return tf.keras.Model(inputs, tf.keras.layers.GlobalAveragePooling2D(name="gap")(inputs))


def _exact_mean(images):
    return images.astype(np.float64).mean(axis=(1, 2))


@pytest.mark.parametrize("h, w, explained", [(3, 5, True), (9, 20, True), (4, 4, False), (2, 8, False)])
def test_a_global_average_is_explained_only_when_its_area_is_not_a_power_of_two(h, w, explained):
    layer = _gap_model(h, w).get_layer("gap")
    reason = float32_reason(layer, wide={})
    assert (reason is not None) == explained
    if explained:
        assert f"H*W = {h * w}" in reason


def test_a_wide_layer_is_explained_by_its_width():
    layer = _gap_model(4, 4).get_layer("gap")
    assert "30 bits" in float32_reason(layer, wide={"gap": 30})


def test_keras_division_rounding_at_a_global_average_is_found_and_explained():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2 ** 13, (8, 9, 20, 1)) / 2 ** 13  # ufixed<13,0> codes, as sweep case c26
    model = _gap_model(9, 20, 1)
    found = keras_divergence(model, images, {"gap": _exact_mean(images)}, wide={})
    assert found["layer"] == "gap" and found["explained"] and found["max_abs_diff"] < 2 ** -20, found


def test_a_power_of_two_average_is_exact_in_keras():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 2 ** 8, (8, 4, 4, 2)) / 2 ** 8
    found = keras_divergence(_gap_model(4, 4), images, {"gap": _exact_mean(images)}, wide={})
    assert found["layer"] is None and found["explained"], found


def test_a_difference_float32_cannot_explain_is_flagged():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 2 ** 8, (4, 4, 4, 2)) / 2 ** 8
    wrong = _exact_mean(images) + 2 ** -8  # a model bug of one LSB, where float32 is exact
    found = keras_divergence(_gap_model(4, 4), images, {"gap": wrong}, wide={})
    assert found["layer"] == "gap" and not found["explained"], found
    assert "does not explain" in found["why"]
