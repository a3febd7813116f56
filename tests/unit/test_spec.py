"""Spec validation: every bad spec gets a message naming the file, the stage and the field."""
import pytest
import yaml

from qmodels import spec as S
from qmodels.build import build_model

GOOD = {"name": "t", "input_shape": [16, 16, 3], "classes": 4,
        "stages": [{"conv": {"filters": 8, "stride": 2}}, {"vac": {"mix": 4, "embed": 4, "groups": 2}},
                   {"global_avg_pool": {}}]}


def _with_stage(stage, index=1):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["stages"][index] = stage
    return data


@pytest.mark.parametrize("data,message", [
    (_with_stage({"vac": {"mix": 4, "embed": 4, "groups": 3}}), r"stages\[1\] \(vac\): field 'groups': 3 does not divide mix=4"),
    (_with_stage({"conv": {"filters": 8, "groups": 4}}, 0), r"stages\[0\] \(conv\): field 'groups': 4 does not divide the 3 input"),
    (_with_stage({"vac": {"mix": 4}}), r"stages\[1\] \(vac\): missing field 'embed'"),
    (_with_stage({"vac": {"mix": 4, "embed": 4, "colour": 1}}), r"stages\[1\] \(vac\): unknown field 'colour'"),
    (_with_stage({"attention": {}}), r"stages\[1\]: unknown stage kind 'attention'"),
    (_with_stage({"conv": {"filters": 0}}), r"stages\[1\] \(conv\): field 'filters' must be a positive integer, got 0"),
    (_with_stage({"conv": {"filters": 8, "kernel": 2}}), r"stages\[1\] \(conv\): field 'kernel': must be odd"),
    (_with_stage({"conv": {"filters": 8, "activation": "gelu"}}), r"field 'activation' must be one of relu, linear"),
    (_with_stage({"dense": {"units": 8}}), r"stages\[1\] \(dense\): a dense stage needs a vector"),
    (_with_stage({"maxpool": {"size": 32}}), r"stages\[1\] \(maxpool\): field 'size': 32 is larger"),
    ({**GOOD, "stages": GOOD["stages"][:2]}, r"must end in global_avg_pool"),
    ({**GOOD, "input_shape": [16, 16]}, r"field 'input_shape' must be three positive integers"),
    ({**GOOD, "classes": -1}, r"field 'classes' must be a positive integer"),
    ({**GOOD, "quantization": {"weight": "int8"}}, r"quantization: field 'weight': 'int8' is not a fixed-point format"),
    ({**GOOD, "quantization": {"activation": "fixed<8,2>"}}, r"quantization: field 'activation' must be unsigned"),
    ({"stages": GOOD["stages"]}, r"missing field 'name'"),
    # formats QKeras cannot build (issue 9, defect 4) or that leave the exact range
    ({**GOOD, "quantization": {"scale": "fixed<8,0>"}},
     r"field 'scale': fixed<8,0>: QKeras' quantized_bits cannot build it .* integer bits must be >= 1"),
    ({**GOOD, "quantization": {"activation": "ufixed<8,-1>"}},
     r"field 'activation': ufixed<8,-1>: QKeras' quantized_relu cannot build it .* must be >= 0"),
    ({**GOOD, "quantization": {"input": "ufixed<6,-2>"}}, r"field 'input': ufixed<6,-2>: QKeras' quantized_bits"),
    ({**GOOD, "quantization": {"weight": "fixed<1,1>"}}, r"field 'weight': fixed<1,1>: width must be 2 to 16 bits"),
    ({**GOOD, "quantization": {"weight": "ufixed<8,1>"}}, r"field 'weight': ufixed<8,1>: weights and biases must be signed"),
    ({**GOOD, "quantization": {"bias": "fixed<6,7>"}}, r"field 'bias': fixed<6,7>: weights and biases must be signed"),
    ({**GOOD, "quantization": {"bias": "fixed<6,0>"}}, r"field 'bias': fixed<6,0>: weights and biases must be signed"),
    ({**GOOD, "quantization": {"linear": "fixed<17,3>"}}, r"field 'linear': fixed<17,3>: width must be 2 to 16 bits"),
    ({**GOOD, "quantization": {"sigmoid": "ufixed<20,0>"}}, r"field 'sigmoid': ufixed<20,0>: width must be 1 to 16"),
])
def test_bad_specs_name_file_stage_and_field(tmp_path, data, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(S.SpecError, match=message) as err:
        S.load_spec(path)
    assert str(path) in str(err.value)


def test_unknown_model_lists_builtins_and_bad_yaml_names_file(tmp_path):
    with pytest.raises(S.SpecError, match="attendnet-a, attendnet-b"):
        S.load_spec("attendnet-c")
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(S.SpecError, match="broken.yaml: not valid YAML"):
        S.load_spec(path)


def test_invalid_shape_override_fails_before_any_layer_is_built(monkeypatch):
    import qmodels.build
    built = []
    monkeypatch.setattr(qmodels.build, "build_stage", lambda *a, **k: built.append(a))
    spec = S.parse_spec({**GOOD, "stages": [{"maxpool": {"size": 4}}, {"global_avg_pool": {}}]})
    with pytest.raises(S.SpecError, match=r"stages\[0\] \(maxpool\): field 'size': 4 is larger than the 2x2"):
        build_model(spec, input_shape=(2, 2, 3))
    assert built == []


def test_builtin_specs_parse():
    assert {"attendnet-a", "attendnet-b", "attendnet-tiny", "mobilenet-v1", "mobilenet-v2"} <= set(S.builtin_names())
    for name in S.builtin_names():
        assert S.load_spec(name).name == name


@pytest.mark.parametrize("fmt,kind", [("fixed<2,1>", "weight"), ("fixed<16,16>", "weight"), ("fixed<2,1>", "bits"), ("fixed<16,1>", "bits"), ("fixed<8,12>", "bits"),
                                      ("ufixed<1,0>", "bits"), ("ufixed<16,0>", "bits"), ("ufixed<6,0>", "bits"),
                                      ("ufixed<1,0>", "relu"), ("ufixed<16,2>", "relu"), ("ufixed<4,-3>", "table")])
def test_every_accepted_format_builds_an_exact_qkeras_quantizer(fmt, kind):
    """The accepted range (qmodels/README.md) is the range QKeras realises exactly: its quantizer
    equals Fixed.quantize on every grid point, every midpoint (ties to even) and beyond both ends."""
    import numpy as np

    from qmodels.fixed import Fixed, realisable

    f = Fixed.parse(fmt)
    assert realisable(f, kind) is None
    if kind == "table":
        return
    grid = f.grid()
    x = np.concatenate([grid, grid + f.step / 2, [f.min - 3 * f.step, f.max + 3 * f.step]]).astype(np.float32)
    got = np.asarray(f.qkeras(relu=kind == "relu")(x), np.float64)
    if kind == "weight":   # hls4ml's reading of the quantizer is this very format
        from hls4ml.model.quantizers import QKerasQuantizer

        hls_type = QKerasQuantizer({"class_name": "quantized_bits", "config": f.qkeras().get_config()}).hls_type
        assert (hls_type.width, hls_type.integer, hls_type.signed) == (f.width, f.integer, True)
    np.testing.assert_array_equal(got, f.quantize(x.astype(np.float64)))


def test_a_format_qkeras_cannot_build_is_refused_before_qkeras_sees_it():
    from qmodels.fixed import Fixed

    with pytest.raises(ValueError, match="integer bits must be >= 1"):
        Fixed.parse("fixed<8,0>").qkeras()
