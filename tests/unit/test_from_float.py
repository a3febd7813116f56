"""train --from-float: QAT of one spec started from another checkpoint's float network."""
import argparse
import csv

import numpy as np
import pytest

from qmodels import train as T
from qmodels.checkpoint import CheckpointError, load_float_network
from qmodels.options import OptionError
from qmodels.spec import load_spec, parse_spec

QUICK = dict(batch_size=32, lr=3e-3)


@pytest.fixture(scope="module")
def source(digits, tmp_path_factory):
    """attendnet-tiny after 1 float and 1 QAT epoch on digits."""
    out = tmp_path_factory.mktemp("src") / "tiny"
    T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=1, float_epochs=1, **QUICK))
    return out


def _variant(**quantization):
    """attendnet-tiny with other formats: the same layers, another network numerically."""
    data = T.spec_to_dict(load_spec("attendnet-tiny"))
    data["quantization"].update(quantization)
    data["name"] = "attendnet-tiny-wide"
    return parse_spec(data)


def _cli(argv):
    parser = argparse.ArgumentParser()
    T.add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_qat_starts_from_the_source_float_network(source, digits, tmp_path):
    out = tmp_path / "wide"
    info = T.train(_variant(activation="ufixed<8,3>"), digits, out, T.TrainOptions(epochs=1, **QUICK),
                   from_float=source)
    assert info["epoch"] == 2 and info["phase"] == "qat" and info["from_float"]["model"] == "attendnet-tiny"
    assert info["float"]["epochs"] == 1 and info["train"]["float_epochs"] == 1
    with open(out / T.METRICS) as handle:  # the source's float row, then this run's QAT epoch
        assert [(r["epoch"], r["phase"]) for r in csv.DictReader(handle)] == [("1", "float"), ("2", "qat")]
    ours, theirs = load_float_network(out, info), load_float_network(source, T.read_info(source))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # the float network is the source's, untouched
        assert np.array_equal(a, b)
    assert info["float"]["top1"] == pytest.approx(T.read_info(source)["float"]["top1"])
    with np.load(out / T.OPTIMIZER) as state:  # one QAT epoch of steps on a fresh optimizer
        assert str(state["phase"]) == "qat" and int(state["v0000"]) == -(-len(digits.train.files) // 32)
    model, _ = T.load_checkpoint(out)
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), theirs.get_weights()))  # QAT moved it
    again = T.train(_variant(activation="ufixed<8,3>"), digits, out, T.TrainOptions(epochs=1, **QUICK),
                    from_float=source)  # a finished run: nothing to do, no new rows
    assert again["epoch"] == 2
    with pytest.raises(CheckpointError, match="did not start from"):
        T.train(_variant(activation="ufixed<8,3>"), digits, out, T.TrainOptions(epochs=1, **QUICK),
                from_float=out)  # a checkpoint with a float network, but not the one this run started from


def test_a_network_with_other_layers_is_refused_naming_the_layer(source, digits, tmp_path):
    data = T.spec_to_dict(load_spec("attendnet-tiny"))
    data["stages"][0]["conv"]["filters"] = 12
    with pytest.raises(CheckpointError, match=r"does not fit .* layer 's00_conv' has weights of shapes"):
        T.train(parse_spec(data), digits, tmp_path / "other", T.TrainOptions(epochs=1, **QUICK), from_float=source)


def test_a_source_without_float_network_is_refused(digits, tmp_path, source):
    qat_only = tmp_path / "qat-only"
    T.train("attendnet-tiny", digits, qat_only, T.TrainOptions(epochs=1, train_images=64, **QUICK))
    with pytest.raises(CheckpointError, match="holds no float network"):
        T.train("attendnet-tiny", digits, tmp_path / "x", T.TrainOptions(epochs=1, **QUICK), from_float=qat_only)


def test_cli_refuses_float_epochs_that_disagree_with_the_source(source, tmp_path):
    with pytest.raises(OptionError, match="--float-epochs 5: .* float network of 1 epochs"):
        _cli(["train", "attendnet-tiny", "--dataset", "digits", "--out", str(tmp_path / "x"),
              "--from-float", str(source), "--float-epochs", "5"])
    assert not (tmp_path / "x").exists()
