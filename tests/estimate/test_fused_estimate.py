"""The estimator sees the fusion generation does (hw.hls.fuse): no activation process, narrow streams."""
import pytest

from hw.config import BuildConfig
from hw.estimate import geometry
from hw.estimate.source import from_config, fused_streams, streams_for
from hw.hls.fuse import fused_pairs
from tests.estimate.test_estimator import small_model


def test_fused_activation_leaves_the_layer_list_and_the_stream_narrows():
    model = small_model()
    pairs = fused_pairs(model)
    assert pairs == {"relu": "conv"}
    unfused = geometry.from_model(model)
    fused = {g.name: g for g in geometry.fuse(unfused, pairs)}
    assert "relu" not in fused and fused["conv"].fused == "relu"
    assert fused["conv"].result_bits == 8 < {g.name: g for g in unfused}["conv"].result_bits
    assert fused["flat"].inputs == ("conv",)

    before = {s.name: s for s in streams_for(unfused, model)}
    after = {s.name: s for s in fused_streams(list(before.values()), pairs)}
    assert "conv->relu" in before and "conv->relu" not in after
    assert after["conv->flat"].bits == before["relu->flat"].bits == 3 * 8
    assert len(after) == len(before) - 1


def test_fusion_saves_what_the_activation_cost(monkeypatch):
    model = small_model()      # one model for both: its dense weights are random
    monkeypatch.setattr("qmodels.build.build_model", lambda *a, **k: model)
    on = from_config(BuildConfig(model="small", board="zcu104")).estimate()
    off = from_config(BuildConfig(model="small", board="zcu104", fuse_activations=False)).estimate()
    assert [layer.name for layer in off.layers if layer.name not in {x.name for x in on.layers}] == ["relu"]
    assert on.totals["lut"] < off.totals["lut"] and on.totals["ff"] < off.totals["ff"]
    assert on.interval_cycles == off.interval_cycles   # fusion changes area, not the pipeline's pace


def test_lut_floor_names_where_the_least_lut_goes(monkeypatch):
    from hw.estimate.floor import lut_floor
    from hw.estimate.plan import plan

    model = small_model()
    monkeypatch.setattr("qmodels.build.build_model", lambda *a, **k: model)
    design = from_config(BuildConfig(model="small", board="zcu104"))
    floor = lut_floor(design)
    assert floor["output rounding/saturation"] > 0 and floor["fifos"] > 0     # the conv writes its ReLU's format
    # the ReLU is fused and the input quantizer is the image's format: no activation process is left
    assert "fixed pad" in floor and "fixed activation" not in floor and "fixed relu" not in floor
    # no plan, at any budget, uses fewer LUTs than the floor
    assert plan(design, 1.0).estimate.totals["lut"] >= round(sum(floor.values())) - 1


@pytest.mark.parametrize("argv,words", [(["nosuch"], "unknown model 'nosuch'"),
                                        (["attendnet-tiny", "--board", "zc706"], "invalid choice: 'zc706'")])
def test_lut_floor_refuses_bad_input_in_one_line(capsys, argv, words):
    from hw.estimate.floor import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and words in err and "Traceback" not in err
