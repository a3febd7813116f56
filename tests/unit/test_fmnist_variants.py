"""fmnist-attendnet-c/-d are each one stride changed from fmnist-attendnet-a, as their descriptions say
(README, Table 1: the resolution variants); the comparison with A is only fair while that holds."""
import dataclasses

import pytest

from qmodels import spec as S


def _differences(a, b):
    assert len(a.stages) == len(b.stages)
    return [(i, type(x).__name__, dataclasses.asdict(x), dataclasses.asdict(y))
            for i, (x, y) in enumerate(zip(a.stages, b.stages)) if x != y]


@pytest.mark.parametrize("name,index,kind", [("fmnist-attendnet-c", 0, "Conv"), ("fmnist-attendnet-d", 6, "PEPE")])
def test_variant_differs_from_a_in_one_stride_only(name, index, kind):
    a, variant = S.load_spec("fmnist-attendnet-a"), S.load_spec(name)
    assert (variant.input_shape, variant.classes, variant.quantization) == (a.input_shape, a.classes, a.quantization)
    [(i, got_kind, old, new)] = _differences(a, variant)
    assert (i, got_kind) == (index, kind)
    assert (old["stride"], new["stride"]) == (2, 1) and {**old, "stride": 1} == new


def test_e_is_d_with_only_the_relu_format_moved_and_every_format_8_bits():
    """fmnist-attendnet-e's 90% is the claim of an 8-bit network whose one change from d is its ReLU format."""
    d, e = S.load_spec("fmnist-attendnet-d"), S.load_spec("fmnist-attendnet-e")
    assert (e.stages, e.input_shape, e.classes) == (d.stages, d.input_shape, d.classes)
    changed = {k: v for k, v in dataclasses.asdict(e.quantization).items() if getattr(d.quantization, k) != v}
    assert changed == {"activation": "ufixed<8,3>"} and d.quantization.activation == "ufixed<8,2>"
    assert all(e.quantization.format(f.name).width == 8 for f in dataclasses.fields(e.quantization))
