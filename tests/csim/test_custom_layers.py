"""Each custom HLS layer alone, bit-exact against its numpy reference (through qmodels.reference),
in both backends and both io types, over odd, even and 1x1 shapes.  Needs only g++."""
import pytest
import tensorflow as tf

from csim_models import layer_model

BACKEND_IO = [("vitis", "stream"), ("vitis", "parallel"), ("vivado", "stream"), ("vivado", "parallel")]

CASES = {
    "unpooling": [((4, 4, 3), dict(factor=2, output_size=(8, 8))),        # even: plain repeat
                  ((4, 5, 2), dict(factor=2, output_size=(7, 9))),        # after a ceil pool: crop
                  ((3, 3, 2), dict(factor=2, output_size=(7, 8))),        # after a floor pool: repeat last row
                  ((1, 1, 4), dict(factor=2, output_size=(1, 1)))],       # 1x1
    "attention": [((5, 7, 3), dict(chan=3, per_channel=False)),
                  ((6, 6, 2), dict(chan=4, per_channel=True)),
                  ((1, 1, 3), dict(chan=5, per_channel=True))],
    "grouped": [((7, 9, 4), dict(filters=6, kernel=3, groups=2)),
                ((8, 8, 3), dict(filters=6, kernel=3, groups=3, stride=2)),  # depthwise x2 multiplier, strided
                ((5, 6, 4), dict(filters=4, kernel=1, groups=4)),
                ((1, 1, 2), dict(filters=4, kernel=3, groups=2))],
}


def _all_cases():
    for kind, cases in CASES.items():
        for i, (shape, params) in enumerate(cases):
            combos = BACKEND_IO if i == 0 else BACKEND_IO[:2]   # every combination on the first shape
            for backend, io in combos:
                yield pytest.param(kind, shape, params, backend, io, id=f"{kind}-{'x'.join(map(str, shape))}-{backend}-{io}")


@pytest.mark.parametrize("kind,shape,params,backend,io", list(_all_cases()))
def test_custom_layer_is_bit_exact(run_csim, kind, shape, params, backend, io):
    model = layer_model(kind, shape, **params)
    report = run_csim(model, backend=backend, io=io, modes=("emulation", "testbench"))
    assert report["bit_exact_fraction"] == 1.0, report
    assert report["max_diff_lsb"] == 0
    # the data under test is alive: not collapsed to zero or saturation
    assert min(report["liveness"].values()) > 0.2, report["liveness"]


def test_groups_that_do_not_divide_channels_are_rejected_clearly():
    with pytest.raises(ValueError, match="divisible by the number of groups|groups"):
        layer_model("grouped", (4, 4, 3), filters=4, kernel=3, groups=2)
