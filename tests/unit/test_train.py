"""QAT training, resume, evaluation, checkpoint loading and the train/eval subcommands."""
import argparse
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from qmodels import data as D
from qmodels import train as T
from qmodels.build import build_model
from qmodels.spec import load_spec, parse_spec

SHIPPED = Path(T.__file__).parent / "checkpoints" / "attendnet-tiny-digits"
QUICK = dict(batch_size=32, lr=3e-3)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """attendnet-tiny after 3 QAT epochs on digits (shared: training is the slow part)."""
    out = tmp_path_factory.mktemp("ckpt") / "tiny"
    info = T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=3, **QUICK))
    return out, info


def _cli(argv):
    parser = argparse.ArgumentParser()
    T.add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_spec_round_trips_through_the_checkpoint_form():
    spec = load_spec("attendnet-tiny").with_shape((40, 40, 3), 7)
    back = parse_spec(yaml.safe_load(yaml.safe_dump(T.spec_to_dict(spec))), source=spec.source)
    assert back == spec


def test_float_twin_drops_every_quantizer_and_keeps_the_weights():
    model = build_model("attendnet-tiny")
    twin = T.float_twin(model)
    assert [layer.name for layer in twin.layers] == [layer.name for layer in model.layers]
    assert not [layer.name for layer in twin.layers if type(layer).__name__ == "QActivation"]
    for layer in twin.layers:
        for key in ("kernel_quantizer_internal", "depthwise_quantizer_internal", "bias_quantizer_internal"):
            assert getattr(layer, key, None) is None, (layer.name, key)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        assert np.array_equal(a, b)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)) / 256.0
    nudged = images + 1e-4  # below half the input step 1/256: input_q rounds it away, float does not
    assert np.array_equal(model.predict_on_batch(images), model.predict_on_batch(nudged))
    assert not np.array_equal(twin.predict_on_batch(images), twin.predict_on_batch(nudged))


def test_short_training_improves_accuracy(trained, digits):
    out, info = trained
    prep = D.Preprocess(**info["preprocess"])
    before = T.evaluate(build_model("attendnet-tiny", seed=0), digits, prep)["top1"]
    after = info["evaluation"]["top1"]
    assert after > before + 0.15, (before, after)
    with open(out / T.METRICS) as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and {r["phase"] for r in rows} == {"qat"}
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_checkpoint_is_self_contained_and_loads(trained):
    out, info = trained
    model, loaded = T.load_checkpoint(out)
    assert loaded["epoch"] == 3 and loaded["model"] == "attendnet-tiny" and loaded["input_shape"] == [32, 32, 3]
    assert loaded["dataset"]["name"] == "digits" and "root" not in loaded["dataset"]
    assert yaml.safe_load((out / T.SPEC_FILE).read_text()) == loaded["spec"]
    images, labels, names = D.sample_images(out, 40)
    accuracy = np.mean(model.predict_on_batch(images).argmax(axis=1) == labels)
    assert names == loaded["dataset"]["class_names"] and accuracy > 0.3


def test_resume_continues_from_the_checkpoint(trained, digits, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(trained[0], out)
    saved, _ = T.load_checkpoint(out)
    info = T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=4, **QUICK))
    assert info["epoch"] == 4
    with open(out / T.METRICS) as handle:
        assert [int(r["epoch"]) for r in csv.DictReader(handle)] == [1, 2, 3, 4]
    steps = -(-len(digits.train.files) // QUICK["batch_size"])
    with np.load(out / T.OPTIMIZER) as state:  # Adam's step counter went on: state was restored
        assert int(state["v0000"]) == 4 * steps
    again = T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=4, **QUICK))  # nothing left to do
    assert again["epoch"] == 4
    resumed, _ = T.load_checkpoint(out)
    assert any(not np.array_equal(a, b) for a, b in zip(saved.get_weights(), resumed.get_weights()))


def test_float_warm_start_then_qat(digits, tmp_path):
    out = tmp_path / "warm"
    info = T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=1, float_epochs=1, **QUICK))
    with open(out / T.METRICS) as handle:
        assert [(r["epoch"], r["phase"]) for r in csv.DictReader(handle)] == [("1", "float"), ("2", "qat")]
    assert info["epoch"] == 2 and info["phase"] == "qat"
    with np.load(out / T.OPTIMIZER) as state:  # QAT got a fresh optimizer: one epoch of steps
        assert str(state["phase"]) == "qat" and int(state["v0000"]) == -(-len(digits.train.files) // 32)
    # the float network is the float phase's result, kept and evaluated as such, not the 8-bit weights unquantized
    assert info["float"]["epochs"] == 1 and (out / T.FLOAT_WEIGHTS).is_file()
    floating = T.load_float_network(out, info)
    assert not [layer for layer in floating.layers if type(layer).__name__ == "QActivation"]
    result = T.evaluate_checkpoint(out)
    assert result["top1_float"] == pytest.approx(info["float"]["top1"])
    assert result["drop_top1"] == pytest.approx(result["top1"] - result["top1_float"])
    assert result["float_epochs"] == 1 and result["qat_epochs"] == 1
    qmodel, _ = T.load_checkpoint(out)
    unquantized = T.float_twin(qmodel).get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(unquantized, floating.get_weights()))
    with pytest.raises(T.CheckpointError, match="QAT started after 1 float epochs"):
        T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=2, float_epochs=2, **QUICK))


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "-1"], "--epochs: must be from 1 to 10000, got -1"),
    (["--epochs", "0"], "--epochs: must be from 1 to 10000, got 0"),
    (["--batch-size", "0"], "--batch-size: must be from 1 to 4096, got 0"),
    (["--float-epochs", "-2"], "--float-epochs: must be from 0 to 10000"),
    (["--lr", "nan"], "--lr: must be from 1e-07 to 1"),
    (["--lr", "0"], "--lr: must be from 1e-07 to 1"),
    (["--seed", "-1"], "--seed: must be from 0 to"),
    (["--input-size", "3"], "--input-size: must be from 8 to 1024"),
    (["--epochs", "two"], "--epochs: expected an integer, got 'two'"),
])
def test_train_options_have_ranges(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as done:
        _cli(["train", "attendnet-tiny", "--dataset", "digits", "--out", str(tmp_path / "ck")] + argv)
    assert done.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "ck").exists()


def test_train_options_api_checks_ranges_too():
    with pytest.raises(T.OptionError, match="--batch-size: must be from 1 to 4096, got 0"):
        T.TrainOptions(batch_size=0)
    with pytest.raises(T.OptionError, match="--epochs: expected an integer, got 1.5"):
        T.TrainOptions(epochs=1.5)


def test_resume_refuses_another_model(trained, digits, tmp_path):
    out = tmp_path / "other"
    shutil.copytree(trained[0], out)
    with pytest.raises(T.CheckpointError, match=f"{out / T.CHECKPOINT}: field 'input_shape'"):
        T.train("attendnet-tiny", digits, out, T.TrainOptions(epochs=4, input_size=48, **QUICK))


def test_eval_cli_prints_8bit_and_float_top1(trained, capsys):
    out, info = trained
    assert _cli(["eval", "attendnet-tiny", "--weights", str(out), "--dataset", "digits", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["top1"] == pytest.approx(info["evaluation"]["top1"])
    assert result["top1_float"] is None and result["drop_top1"] is None  # no float network was trained
    assert 0 < result["top1_unquantized"] <= 1 and result["count"] == 360
    assert sum(map(sum, result["confusion"])) == 360
    assert _cli(["eval", "attendnet-tiny", "--weights", str(out)]) == 0
    text = capsys.readouterr().out
    assert "8-bit" in text and "float network" in text and "not trained" in text and "most confused" in text
    assert "quantizers removed" in text
    with pytest.raises(T.CheckpointError, match="holds a attendnet-tiny model, not mobilenet-v1"):
        _cli(["eval", "mobilenet-v1", "--weights", str(out)])


def test_load_checkpoint_errors_name_the_path(trained, tmp_path):
    with pytest.raises(T.CheckpointError, match=f"{tmp_path / 'none'}: no such checkpoint directory"):
        T.load_checkpoint(tmp_path / "none")
    bad = tmp_path / "bad"
    shutil.copytree(trained[0], bad)
    (bad / T.WEIGHTS).write_bytes(b"garbage")
    with pytest.raises(T.CheckpointError, match=f"{bad / T.WEIGHTS}: cannot load"):
        T.load_checkpoint(bad)
    (bad / T.WEIGHTS).unlink()
    with pytest.raises(T.CheckpointError, match=f"{bad / T.WEIGHTS}: missing"):
        T.load_checkpoint(bad)
    text = (bad / T.CHECKPOINT).read_text()
    (bad / T.CHECKPOINT).write_text(text.replace("\nclasses:", "\nklasses:"))
    with pytest.raises(T.CheckpointError, match=f"{bad / T.CHECKPOINT}: missing field 'classes'"):
        T.load_checkpoint(bad)
    (bad / T.CHECKPOINT).write_text("model: [unclosed")
    with pytest.raises(T.CheckpointError, match=f"{bad / T.CHECKPOINT}: not valid YAML"):
        T.load_checkpoint(bad)
    (bad / T.CHECKPOINT).unlink()
    with pytest.raises(T.CheckpointError, match=f"{bad / T.CHECKPOINT}: missing"):
        T.load_checkpoint(bad)


def test_train_names_an_image_that_fails_to_decode(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "val"):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (32, 32), (90 * i, 50, 9)).save(root / split / name / f"{i}.png")
    cut = root / "train" / "b" / "cut.png"
    cut.write_bytes((root / "train" / "b" / "0.png").read_bytes()[:45])
    with pytest.raises(D.DataError, match=f"{cut}: cannot be decoded"):
        _cli(["train", "attendnet-tiny", "--data", str(root), "--out", str(tmp_path / "ck"), "--epochs", "1"])


def test_train_cli_rejects_class_mismatch_before_training(tmp_path):
    root = tmp_path / "data"
    for split, name in (("train", "a"), ("val", "b")):
        (root / split / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(root / split / name / "0.png")
    with pytest.raises(D.DataError, match="only in train: a; only in val: b"):
        _cli(["train", "attendnet-tiny", "--data", str(root), "--out", str(tmp_path / "ck")])
    assert not (tmp_path / "ck").exists()


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="the shipped checkpoint is not in this tree")
def test_shipped_checkpoint_reaches_95_percent(digits):
    result = T.evaluate_checkpoint(SHIPPED)
    assert result["top1"] >= 0.95 and result["count"] == 360
    assert "/" not in yaml.safe_dump(T.read_info(SHIPPED)["dataset"])  # no absolute paths shipped


@pytest.mark.slow
def test_digits_training_reaches_95_percent(digits, tmp_path, capsys):
    assert _cli(["train", "attendnet-tiny", "--dataset", "digits", "--out", str(tmp_path / "ck"),
                 "--epochs", "80", "--batch-size", "32"]) == 0
    assert T.read_info(tmp_path / "ck")["evaluation"]["top1"] >= 0.95


SHIPPED_FASHION = Path(T.__file__).parent / "checkpoints" / "fmnist-attendnet-e-fashion-mnist"


@pytest.mark.skipif(not SHIPPED_FASHION.is_dir(), reason="the shipped Fashion-MNIST checkpoint is not in this tree")
def test_shipped_fashion_checkpoint_is_movable_and_complete():
    info = T.read_info(SHIPPED_FASHION)
    assert info["dataset"]["name"] == "fashion-mnist" and "/" not in yaml.safe_dump(info["dataset"]).replace(
        "T-shirt or top", "")  # no absolute path: the IDX files are found where qmodels/idx.py looks
    assert info["float"]["epochs"] > 0 and (SHIPPED_FASHION / T.FLOAT_WEIGHTS).is_file()
    assert not (SHIPPED_FASHION / T.OPTIMIZER).exists()  # training state is not shipped
    assert info["evaluation"]["count"] == 10000 and 0.90 <= info["evaluation"]["top1"] <= 1  # issue 17's target
    strings = []
    _strings(info, strings)
    assert not [s for s in strings if s.startswith(("/", "~")) or "/work/" in s]  # no path of the machine it came from


def _strings(value, out: list) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif isinstance(value, str):
        out.append(value)


@pytest.mark.slow
@pytest.mark.skipif(not (SHIPPED_FASHION.is_dir() and D.idx.DEBIAN_DIR.is_dir()),
                    reason="needs the shipped checkpoint and the dataset-fashion-mnist package")
def test_shipped_fashion_checkpoint_reproduces_its_figures():
    result = T.evaluate_checkpoint(SHIPPED_FASHION)
    info = T.read_info(SHIPPED_FASHION)
    assert result["count"] == 10000
    assert result["top1"] == pytest.approx(info["evaluation"]["top1"])
    assert result["top1_float"] == pytest.approx(info["float"]["top1"])
