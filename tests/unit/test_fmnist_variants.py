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
