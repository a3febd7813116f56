"""Image data: ImageNet-style folders, digits, Fashion-MNIST, the tf.data pipeline, ImageNet50 subsets.

A data folder is ``ROOT/train/<class>/<image>`` and ``ROOT/val/<class>/<image>`` with the same
class folders in both; classes are numbered in sorted folder-name order.  Images go to the model
as float32 on the 8-bit input grid p/256 (p = 0..255), never mean/std normalised: the model's
first layer is the ufixed<8,0> quantizer ``input_q`` and the hardware takes raw 8-bit pixels.

Fashion-MNIST (qmodels/idx.py) is held in memory: its splits carry a uint8 array instead of
files, each 28x28 image zero-padded (centred) to the model's size, or resized if the model is
smaller, and repeated over the model's channels; the rest of the pipeline is the same.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from qmodels import idx
from qmodels.data_error import DataError  # noqa: F401 (D.DataError: what every reader here raises)
from qmodels.augment import AUGMENT, SHIFT, eval_image, fit_array_image, train_image  # noqa: F401

# tf.io.decode_image (TF 2.15) reads exactly these; a cheap header check names a bad file up front.
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
          (b"BM", "BMP"))
DIGITS = "digits"
DIGITS_VERSION = "attendnets digits v1: 8x8 -> 32x32 bilinear, RGB PNG, stratified 80/20 split, seed 0"
DIGITS_MARKER = ".complete"
FASHION = idx.NAME
DATASETS = (DIGITS, FASHION)


@dataclass(frozen=True)
class Split:
    """Image files and their labels, or (in-memory datasets) a uint8 array NHW or NHWC and labels."""
    root: Path
    files: list
    labels: list
    images: "np.ndarray | None" = None

    @property
    def count(self) -> int:
        return len(self.labels)

    def subset(self, chosen) -> "Split":
        chosen = list(chosen)
        files = [self.files[i] for i in chosen] if self.images is None else []
        images = None if self.images is None else np.asarray(self.images[np.asarray(chosen, np.int64)])
        return Split(self.root, files, [self.labels[i] for i in chosen], images)


@dataclass(frozen=True)
class ImageFolder:
    root: Path
    name: str            # 'digits' or 'folder'
    class_names: list
    train: Split
    val: Split


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes a model input.

    Evaluation takes the central ``crop_fraction`` of the largest box of the model's aspect ratio
    and resizes it to (height, width).  Training instead takes a random box of at least the
    ``augment`` mode's area fraction ('standard': 25% and random left-right flips, 'crop': 80%
    and no flips, for classes a mirror changes such as digits; 'none': the evaluation crop).
    """
    height: int
    width: int
    crop_fraction: float = 0.875
    augment: str = "standard"
    channels: int = 3

    def __post_init__(self):
        if self.augment not in AUGMENT:
            raise ValueError(f"augment must be one of {', '.join(AUGMENT)}, got {self.augment!r}")
        if not 0.0 < self.crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1], got {self.crop_fraction!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")


def default_preprocess(dataset_name: str, input_shape, augment=None, crop_fraction=None) -> Preprocess:
    """Digit images are already the model's size and tightly framed: no central crop, no flips.
    Fashion-MNIST images are padded, never cropped; they train with small shifts and flips."""
    default_augment = {DIGITS: "crop", FASHION: "shift"}.get(dataset_name, "standard")
    whole = dataset_name in DATASETS
    channels = int(input_shape[2]) if len(input_shape) > 2 else 3
    return Preprocess(int(input_shape[0]), int(input_shape[1]),
                      crop_fraction if crop_fraction is not None else (1.0 if whole else 0.875),
                      augment or default_augment, channels)


# ----------------------------------------------------------------------------- folders
def image_kind(path) -> "str | None":
    """'JPEG', 'PNG', 'GIF' or 'BMP' from the file's first bytes; None if TensorFlow cannot decode it."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise DataError(f"{path}: cannot be read: {err.strerror}") from None
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def _classes(split_dir: Path) -> list:
    if not split_dir.is_dir():
        raise DataError(f"{split_dir}: no such folder (expected {split_dir}/<class>/<image files>)")
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(f"{split_dir}: no class folders (expected {split_dir}/<class>/<image files>)")
    return names


def _scan_split(split_dir: Path, class_names: list) -> Split:
    files, labels = [], []
    for label, name in enumerate(class_names):
        class_dir = split_dir / name
        images = sorted(p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        if not images:
            raise DataError(f"{class_dir}: no image files")
        for path in images:
            if image_kind(path) is None:
                raise DataError(f"{path}: not an image TensorFlow can decode (JPEG, PNG, GIF or BMP)")
        files += [str(p) for p in images]
        labels += [label] * len(images)
    return Split(split_dir, files, labels)


def open_folder(root, name: str = "folder") -> ImageFolder:
    """Scan and check ROOT/train and ROOT/val; every error names the offending path."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder")
    train_classes, val_classes = _classes(root / "train"), _classes(root / "val")
    if train_classes != val_classes:
        only_train = sorted(set(train_classes) - set(val_classes))
        only_val = sorted(set(val_classes) - set(train_classes))
        raise DataError(f"{root}: class folders differ between train/ and val/: only in train: "
                        f"{', '.join(only_train) or '-'}; only in val: {', '.join(only_val) or '-'}")
    return ImageFolder(root, name, train_classes, _scan_split(root / "train", train_classes),
                       _scan_split(root / "val", train_classes))


def resolve(data=None, dataset=None, data_file=None) -> ImageFolder:
    """``--data DIR`` or ``--dataset digits|fashion-mnist`` (exactly one) as a checked ImageFolder.

    ``data_file`` (--data-file DIR) is where Fashion-MNIST's IDX files are (default: qmodels/idx.py).
    """
    if (data is None) == (dataset is None):
        raise DataError(f"give exactly one of a data folder (--data DIR) or a built-in dataset "
                        f"(--dataset {' or '.join(DATASETS)})")
    if data_file is not None and dataset != FASHION:
        raise DataError(f"--data-file DIR names the folder of Fashion-MNIST's IDX files; it needs --dataset {FASHION}")
    if dataset is not None:
        if dataset not in DATASETS:
            raise DataError(f"unknown dataset {dataset!r}: the built-in datasets are {', '.join(DATASETS)}")
        if dataset == FASHION:
            return fashion_mnist(data_file)
        return open_folder(digits_folder(), name=DIGITS)
    return open_folder(data)


def fashion_mnist(data_file=None) -> ImageFolder:
    """Fashion-MNIST as an in-memory ImageFolder (train: 60,000 images, val: the 10,000 t10k images)."""
    source = idx.source_dir(data_file)
    try:
        arrays = idx.cached_arrays(source, cache_dir() / FASHION)
    except idx.IdxError as err:
        raise DataError(str(err)) from None
    splits = {name: Split(source, [], labels.astype(np.int64).tolist(), images)
              for name, (images, labels) in arrays.items()}
    return ImageFolder(source, FASHION, list(idx.CLASS_NAMES), splits["train"], splits["val"])


# ----------------------------------------------------------------------------- digits
def cache_dir() -> Path:
    return Path(os.environ.get("ATTENDNETS_CACHE") or Path.home() / ".cache" / "attendnets").expanduser()


def digits_folder(root=None) -> Path:
    """scikit-learn's 1797 handwritten digits as an ImageNet-style folder of 32x32 RGB PNGs.

    Written once under the cache dir ($ATTENDNETS_CACHE, default ~/.cache/attendnets); the
    marker file is written last, so a half-written folder is never reused but rewritten.
    """
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    root = Path(root or cache_dir() / DIGITS)
    marker = root / DIGITS_MARKER
    if marker.is_file() and marker.read_text().strip() == DIGITS_VERSION:
        return root
    if root.exists():
        shutil.rmtree(root)
    digits = load_digits()
    index = np.arange(len(digits.target))
    train_idx, val_idx = train_test_split(index, test_size=0.2, stratify=digits.target, random_state=0)
    for split, chosen in (("train", train_idx), ("val", val_idx)):
        for i in sorted(chosen):
            target = root / split / str(digits.target[i]) / f"{i:04d}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            gray = Image.fromarray(np.round(digits.images[i] * 255.0 / 16.0).astype(np.uint8), mode="L")
            gray.resize((32, 32), Image.BILINEAR).convert("RGB").save(target)
    marker.write_text(DIGITS_VERSION + "\n")
    return root


# ----------------------------------------------------------------------------- tf.data
def _decode(path, channels: int = 3):
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def make_dataset(split: Split, prep: Preprocess, batch_size: int, training: bool, seed: int = 0):
    """Batches of (images p/256 float32 NHWC, int32 labels); shuffled and augmented when training."""
    labels = np.asarray(split.labels, np.int32)
    if split.images is None:
        ds = tf.data.Dataset.from_tensor_slices((split.files, labels))
        load = lambda item: _decode(item, prep.channels)  # noqa: E731
    else:
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(split.images), labels))
        load = lambda item: fit_array_image(item, prep)  # noqa: E731
    if training:
        ds = ds.shuffle(split.count, seed=seed, reshuffle_each_iteration=True)
        noise = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, noise)).map(
            lambda item, s: (train_image(load(item[0]), prep, s), item[1]), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda item, label: (eval_image(load(item), prep), label), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def find_undecodable(files) -> "tuple[str, str] | None":
    """The first file TensorFlow fails to decode and its error, or None (slow: used after a failure)."""
    for path in files:
        try:
            _decode(tf.constant(path))
        except tf.errors.OpError as err:
            return path, err.message.splitlines()[0]
    return None


def _source(source, input_shape=None, crop_fraction=None):
    """(ImageFolder, Preprocess for evaluation) of a checkpoint directory, a dataset name or a data folder."""
    source_path = Path(str(source)).expanduser()
    if (source_path / "checkpoint.yaml").is_file():
        from qmodels.checkpoint import read_info
        info = read_info(source_path)
        folder = folder_from_info(info["dataset"])
        input_shape = info["input_shape"]
        crop_fraction = info.get("preprocess", {}).get("crop_fraction", crop_fraction)
    else:
        folder = resolve(dataset=str(source)) if str(source) in DATASETS else resolve(data=source)
        if input_shape is None:
            raise DataError(f"{source}: give input_shape to sample a data folder (a checkpoint knows it)")
    return folder, default_preprocess(folder.name, input_shape, augment="none", crop_fraction=crop_fraction)


def _images_of(split: Split, prep: Preprocess, batch_size: int = 256) -> np.ndarray:
    if not split.count:
        return np.zeros((0, prep.height, prep.width, prep.channels), np.float32)
    return np.concatenate([x.numpy() for x, _ in make_dataset(split, prep, batch_size, training=False)])


def sample_images(source, count: int, input_shape=None, crop_fraction=None):
    """(images float32 NHWC on the p/256 grid, int labels, class names) from validation data.

    ``source`` is a checkpoint directory (its dataset, input shape and preprocessing are used),
    'digits', 'fashion-mnist' or a data folder (then ``input_shape`` is required).  Images are
    picked round-robin over the classes in file order, so a small ``count`` covers many classes,
    deterministically.
    """
    folder, prep = _source(source, input_shape, crop_fraction)
    by_class = [[i for i, label in enumerate(folder.val.labels) if label == c] for c in range(len(folder.class_names))]
    order = [i for rank in range(max(map(len, by_class))) for members in by_class for i in members[rank:rank + 1]]
    subset = folder.val.subset(order[:int(count)])
    return _images_of(subset, prep).astype(np.float32), np.asarray(subset.labels, np.int64), list(folder.class_names)


def dataset_images(source, split: str = "val", n=None, start: int = 0, input_shape=None):
    """(images float32 NHWC on the p/256 grid, int labels, class names): images start..start+n of a split
    in the dataset's own order (n=None: to the end), preprocessed exactly as evaluation does.

    ``source`` as for sample_images; ``split`` 'val' (Fashion-MNIST: the 10,000 test images) or
    'train'.  Serving a whole test set in slices keeps memory small: images are built per call.
    """
    if split not in ("train", "val"):
        raise DataError(f"split must be 'train' or 'val', got {split!r}")
    if int(start) < 0 or (n is not None and int(n) < 0):
        raise DataError(f"start and n must be >= 0, got start={start!r}, n={n!r}")
    folder, prep = _source(source, input_shape)
    chosen = getattr(folder, split)
    stop = chosen.count if n is None else min(chosen.count, int(start) + int(n))
    subset = chosen.subset(range(min(int(start), stop), stop))
    return _images_of(subset, prep).astype(np.float32), np.asarray(subset.labels, np.int64), list(folder.class_names)


def folder_from_info(dataset: dict) -> ImageFolder:
    """The ImageFolder a checkpoint's ``dataset`` entry names ('digits', 'fashion-mnist' or a folder root).

    Fashion-MNIST is read from the folder recorded in training if it still holds the four files,
    else from where qmodels/idx.py looks by default (a checkpoint moved to another machine)."""
    if dataset.get("name") == DIGITS:
        return resolve(dataset=DIGITS)
    if dataset.get("name") == FASHION:
        source = dataset.get("source")
        recorded = source and all(idx._find(Path(source), stem) for stem in idx.FILES.values())
        return resolve(dataset=FASHION, data_file=source if recorded else None)
    return resolve(data=dataset.get("root"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qmodels.data", description="data folders for attendnets")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("digits", help="write (once) and print the digits folder")
    p = sub.add_parser("imagenet-subset", help="build ImageNet50-style folders from an ImageNet copy")
    p.add_argument("--imagenet", required=True, help="ImageNet root with train/<wnid>/ and val/")
    p.add_argument("--classes", required=True, help="class list file, one wnid per line")
    p.add_argument("--out", required=True, help="output folder (gets train/ and val/)")
    p.add_argument("--copy", action="store_true", help="copy images instead of symlinking them")
    p.add_argument("--val-labels", help="labels file when IMAGENET/val/ is flat (file name and wnid per line)")
    args = parser.parse_args(argv)
    try:
        if args.command == "digits":
            print(digits_folder())
            return 0
        from qmodels.imagenet import build_imagenet_subset
        counts = build_imagenet_subset(args.imagenet, args.classes, args.out, args.copy, args.val_labels)
        print(f"{args.out}: {counts['classes']} classes, {counts['train']} train and {counts['val']} val images")
        return 0
    except (DataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
