"""The Fashion-MNIST recipe's parts: shift/flip augmentation, label smoothing, named recipes and their
command-line overrides, the per-epoch progress line, and a resumed run with every new option on."""
import argparse
import csv
import io

import numpy as np
import pytest
import tensorflow as tf

from qmodels import augment as A
from qmodels import data as D
from qmodels import idx
from qmodels import train as T
from qmodels.recipes import RECIPES, describe


def _garment():
    """A 28x28 asymmetric item zero-padded to 32x32, as Fashion-MNIST reaches the model."""
    item = np.zeros((28, 28), np.uint8)
    item[3:25, 5:12] = 200      # a bar on the left...
    item[3:8, 5:22] = 120       # ...and a shoulder to the right: a mirror image differs
    return np.pad(item, 2)[:, :, None]


def _moves(image):
    """Every image the 'shift' mode may produce: shifts of up to SHIFT pixels, each flipped or not."""
    s, (h, w) = A.SHIFT, image.shape[:2]
    padded = np.pad(image, ((s, s), (s, s), (0, 0)))
    shifted = {(dy, dx): padded[s + dy:s + dy + h, s + dx:s + dx + w] for dy in range(-s, s + 1)
               for dx in range(-s, s + 1)}
    return {**{(dy, dx, False): v for (dy, dx), v in shifted.items()},
            **{(dy, dx, True): v[:, ::-1] for (dy, dx), v in shifted.items()}}


def test_shift_mode_moves_by_at_most_two_pixels_and_really_flips():
    image = _garment()
    prep = D.Preprocess(32, 32, 1.0, "shift", channels=1)
    moves = {key: value / 256.0 for key, value in _moves(image.astype(np.float32)).items()}
    seen = set()
    for seed in range(40):
        out = A.train_image(tf.constant(image, tf.float32), prep, tf.constant([seed, 7], tf.int64)).numpy()
        assert out.shape == (32, 32, 1)
        match = [key for key, value in moves.items() if np.array_equal(out, value)]
        assert match, f"seed {seed}: not a shift of at most {A.SHIFT} pixels, flipped or not"
        seen.update(match)
    assert {flip for _, _, flip in seen} == {False, True}          # both flipped and unflipped occur
    assert len({(dy, dx) for dy, dx, _ in seen}) > 5               # and many different shifts
    assert not np.array_equal(image[:, ::-1], image)                # (the flip is visible on this item)


def test_augmented_batches_are_seeded_on_the_8bit_grid(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    folder = D.resolve(dataset=D.FASHION, data_file=idx.write_synthetic(tmp_path / "fm", train=24, val=10))
    prep = D.default_preprocess(D.FASHION, (32, 32, 1))
    assert prep.augment == "shift"
    first = lambda seed: next(iter(D.make_dataset(folder.train, prep, 8, True, seed)))[0].numpy()  # noqa: E731
    batch = first(3)
    assert batch.shape == (8, 32, 32, 1) and np.array_equal(batch * 256, np.round(batch * 256))
    assert np.array_equal(batch, first(3)) and not np.array_equal(batch, first(4))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_is_cross_entropy_against_smoothed_one_hot(smoothing):
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(0, 3, (6, 10)).astype(np.float32), np.array([0, 3, 9, 9, 1, 5])
    target = (1 - smoothing) * np.eye(10)[labels] + smoothing / 10
    log_softmax = logits - logits.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    expected = -(target * log_softmax).sum(1)
    loss = T.loss_function(10, smoothing)
    got = np.asarray([float(loss(tf.constant(labels[i:i + 1, None]), tf.constant(logits[i:i + 1])))
                      for i in range(6)])
    assert got == pytest.approx(expected, rel=1e-5)


def _recipe_args(argv):
    parser = argparse.ArgumentParser()
    T.recipe_args(parser)
    return parser.parse_args(argv)


def test_named_recipes_and_explicit_overrides():
    fields = T.recipe_from_args(_recipe_args([]), "fashion-mnist")
    assert fields == RECIPES["fashion-mnist"] and fields["train_images"] is None and fields["float_epochs"] >= 15
    assert T.recipe_from_args(_recipe_args([]), "digits") == {}  # no recipe: TrainOptions' own defaults
    over = T.recipe_from_args(_recipe_args(["--epochs", "7", "--label-smoothing", "0"]), "fashion-mnist")
    assert over == {**RECIPES["fashion-mnist"], "epochs": 7, "label_smoothing": 0.0}
    assert T.recipe_from_args(_recipe_args(["--recipe", "short"]), "fashion-mnist") == RECIPES["short"]
    for name, recipe in RECIPES.items():
        T.TrainOptions(**recipe)  # every recipe is within the options' ranges
        assert f"{recipe['float_epochs']} float epochs, then {recipe['epochs']} QAT epochs" in describe(recipe)
    with pytest.raises(SystemExit):
        _recipe_args(["--recipe", "imagenet"])
    with pytest.raises(T.OptionError, match="--label-smoothing: must be from 0 to 0.5, got 0.9"):
        T.TrainOptions(label_smoothing=0.9)


def test_progress_line_gives_the_phase_and_its_time_left():
    stream = io.StringIO()
    progress = T.Progress("float", (0, 3), 5, stream)
    for epoch in range(2):
        progress.on_epoch_begin(epoch)
        progress.on_epoch_end(epoch, {"loss": 0.5, "top1": 0.75, "val_top1": 0.8})
    first, second = stream.getvalue().splitlines()
    assert first.startswith("float epoch 1/3 (run 1/5): loss 0.5000, top-1 75.00%, val top-1 80.00%")
    assert "phase ends in ~0m00s (then 2 QAT epochs)" in second and second.startswith("float epoch 2/3 (run 2/5)")


def test_recipe_run_resumes_with_its_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    folder = D.resolve(dataset=D.FASHION, data_file=idx.write_synthetic(tmp_path / "fm", train=32, val=10))
    opts = dict(float_epochs=2, batch_size=16, lr=3e-3, qat_lr=1e-4, label_smoothing=0.1, weight_decay=1e-4,
                validate=True)
    out, write_rows = tmp_path / "run", T._write_rows

    def interrupted(path, rows, mode):  # the run is killed once its first epoch is committed
        write_rows(path, rows, mode)
        raise KeyboardInterrupt
    monkeypatch.setattr(T, "_write_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        T.train("fmnist-attendnet-b", folder, out, T.TrainOptions(epochs=1, **opts))
    monkeypatch.setattr(T, "_write_rows", write_rows)
    T.train("fmnist-attendnet-b", folder, out, T.TrainOptions(epochs=1, **opts))  # resumed inside the float phase
    info = T.train("fmnist-attendnet-b", folder, out, T.TrainOptions(epochs=2, **opts))  # extended by a QAT epoch
    with open(out / T.METRICS) as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["epoch"], r["phase"]) for r in rows] == [("1", "float"), ("2", "float"), ("3", "qat"), ("4", "qat")]
    assert float(rows[0]["lr"]) == pytest.approx(3e-3) and float(rows[2]["lr"]) == pytest.approx(1e-4)
    assert all(0 <= float(r["val_top1"]) <= 1 for r in rows)  # the learning curve, every epoch
    with np.load(out / T.OPTIMIZER) as state:  # AdamW's step counter went on over the resume
        assert str(state["phase"]) == "qat" and int(state["v0000"]) == 2 * 2
    assert info["epoch"] == 4 and info["float"]["epochs"] == 2 and info["train"]["qat_lr"] == 1e-4
    assert info["evaluation"]["count"] == 10
    err = capsys.readouterr().err
    assert "resuming the float phase at epoch 2 of 2" in err and "resuming the qat phase at epoch 4 of 4" in err
    assert "qat epoch 2/2 (run 4/4)" in err
