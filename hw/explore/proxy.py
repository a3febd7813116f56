"""The accuracy proxy of ``attendnets explore``: a short quantization-aware training run
(qmodels.train.train: a few float epochs on a random subset of the training images, then QAT),
evaluated 8-bit on the first ``val_images`` test images.  It ranks candidates; it is not their
accuracy at a full recipe, and every figure it produces is labelled ``proxy``.

``proxy_run`` is what a Dask worker runs for a trial: it loads the dataset once per worker
process, writes the trial's checkpoint (weights, metrics.csv, train.log) into the trial folder,
and returns the figures.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

_FOLDERS = {}  # (dataset, data_file, val_images) -> ImageFolder, per worker process
CHATTY_LOGGERS = ("tensorflow", "absl", "keras", "tf_keras", "qkeras", "hls4ml", "h5py")


@contextlib.contextmanager
def into_log(path: Path):
    """A task's prints and warnings into PATH, not the worker's terminal (which is the user's, locally);
    the third-party loggers, whose handlers hold the terminal, say only errors."""
    import logging

    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    with open(path, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


@dataclass(frozen=True)
class Proxy:
    float_epochs: int = 2
    epochs: int = 1                 # QAT epochs after the float ones
    train_images: "int | None" = 12000  # a fresh random subset per epoch (None: every training image)
    val_images: "int | None" = 2000     # the first N test images (None: every test image)
    batch_size: int = 64
    lr: float = 3e-3
    qat_lr: float = 3e-4            # QAT fine-tunes the float network at a tenth of its rate

    def describe(self) -> str:
        images = f"{self.train_images:,} random training images" if self.train_images else "every training image"
        tests = f"the first {self.val_images:,} test images" if self.val_images else "every test image"
        return (f"{self.float_epochs} float + {self.epochs} QAT epochs of {images} (lr {self.lr:g}, "
                f"QAT {self.qat_lr:g}), 8-bit top-1 on {tests}")


def input_shape(dataset: str) -> tuple:
    """The spec input shape of a built-in dataset (images padded to 32x32; grey or RGB)."""
    from qmodels import data as D

    return (32, 32, 1) if dataset == D.FASHION else (32, 32, 3)


def open_dataset(dataset: str, data_file=None, val_images: "int | None" = None):
    """The dataset as qmodels.data gives it, its test split cut to the first ``val_images``."""
    from qmodels import data as D

    key = (dataset, str(data_file) if data_file else None, val_images)
    if key not in _FOLDERS:
        folder = D.resolve(dataset=dataset, data_file=data_file)
        if val_images and val_images < folder.val.count:
            folder = dataclasses.replace(folder, val=folder.val.subset(range(val_images)))
        _FOLDERS[key] = folder
    return _FOLDERS[key]


def proxy_run(spec: dict, dataset: str, data_file, ckpt_dir: str, proxy: dict, seed: int) -> dict:
    """Train SPEC with the proxy recipe into CKPT_DIR (resumed if a run was cut short); its figures."""
    import tensorflow as tf

    from qmodels.spec import parse_spec
    from qmodels.train import TrainOptions, train

    recipe = Proxy(**proxy)
    ckpt = Path(ckpt_dir)
    ckpt.mkdir(parents=True, exist_ok=True)
    folder = open_dataset(dataset, data_file, recipe.val_images)
    opts = TrainOptions(epochs=recipe.epochs, float_epochs=recipe.float_epochs, batch_size=recipe.batch_size,
                        lr=recipe.lr, qat_lr=recipe.qat_lr if recipe.float_epochs else None, seed=seed,
                        train_images=recipe.train_images)
    start = time.perf_counter()
    with into_log(ckpt / "train.log"):
        info = train(parse_spec(spec, source=str(ckpt / "spec")), folder, ckpt, opts)
    tf.keras.backend.clear_session()
    evaluation = info["evaluation"]
    return {"top1": float(evaluation["top1"]), "top1_float": (info.get("float") or {}).get("top1"),
            "val_images": int(evaluation["count"]), "train_seconds": round(time.perf_counter() - start, 1)}
