"""Fashion-MNIST from its original IDX files, cached as .npy arrays.

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally gzipped) come from ``--data-file DIR``, else from
$ATTENDNETS_FASHION_MNIST, else from the Debian package ``dataset-fashion-mnist``.  The 10,000
t10k images are the 'val' split: Fashion-MNIST has no other held-out set, and nothing is tuned on it.

Why a .npy cache and not the ImageNet-style folder of PNGs the digits use: 70,000 files cost
minutes to write and, on 2 cores, a PNG decode per image per epoch that costs more than a small
network's own forward pass; the arrays load in milliseconds and feed tf.data from memory.  The
cache holds the raw 28x28 pixels; padding to the model's size happens in the pipeline (data.py).
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

NAME = "fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV = "ATTENDNETS_FASHION_MNIST"
CLASS_NAMES = ["T-shirt or top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
CACHE_VERSION = "attendnets fashion-mnist v1: uint8 28x28 .npy, train = train-*, val = t10k-*"
FILES = {("train", "images"): "train-images-idx3-ubyte", ("train", "labels"): "train-labels-idx1-ubyte",
         ("val", "images"): "t10k-images-idx3-ubyte", ("val", "labels"): "t10k-labels-idx1-ubyte"}
MAGIC = {"images": 0x00000803, "labels": 0x00000801}   # unsigned bytes; 3 or 1 dimensions
SHAPE = (28, 28)


class IdxError(ValueError):
    """A missing or malformed IDX file; the message names it (data.DataError subclasses ValueError too)."""


def source_dir(data_file=None) -> Path:
    """--data-file, then $ATTENDNETS_FASHION_MNIST, then the Debian package's folder."""
    chosen = data_file or os.environ.get(ENV) or DEBIAN_DIR
    return Path(chosen).expanduser()


def _find(folder: Path, stem: str) -> "Path | None":
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def missing_message(folder: Path, missing: list) -> str:
    return (f"Fashion-MNIST: {folder} lacks {', '.join(missing)} (each may be gzipped). Install the Debian "
            f"package (sudo apt-get install dataset-fashion-mnist, files in {DEBIAN_DIR}), or download the four "
            f"files of https://github.com/zalandoresearch/fashion-mnist into a folder and give it as "
            f"--data-file DIR or in ${ENV}")


def source_files(folder: Path) -> dict:
    """(split, kind) -> path of each of the four files; one IdxError naming all that are missing."""
    found = {key: _find(folder, stem) for key, stem in FILES.items()}
    missing = [FILES[key] for key, path in found.items() if path is None]
    if missing:
        raise IdxError(missing_message(folder, missing))
    return found


def read_idx(path: Path, kind: str) -> np.ndarray:
    """The uint8 array of one IDX file, its magic number, dimensions and byte count checked."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise IdxError(f"{path}: cannot be read: {err}") from None
    dims = 3 if kind == "images" else 1
    if len(raw) < 4 + 4 * dims:
        raise IdxError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != MAGIC[kind]:
        raise IdxError(f"{path}: magic number 0x{magic:08x}, expected 0x{MAGIC[kind]:08x} (IDX {kind}, "
                       f"unsigned bytes, {dims} dimension{'s' if dims > 1 else ''})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    if kind == "images" and shape[1:] != SHAPE:
        raise IdxError(f"{path}: images are {shape[1]}x{shape[2]}, expected 28x28")
    body = raw[4 + 4 * dims:]
    if len(body) != int(np.prod(shape)):
        raise IdxError(f"{path}: {len(body)} data bytes, the header's shape {shape} needs {int(np.prod(shape))}")
    return np.frombuffer(body, np.uint8).reshape(shape)


def read_split(files: dict, split: str) -> "tuple[np.ndarray, np.ndarray]":
    images = read_idx(files[(split, "images")], "images")
    labels = read_idx(files[(split, "labels")], "labels")
    if len(images) != len(labels):
        raise IdxError(f"{files[(split, 'labels')]}: {len(labels)} labels for the {len(images)} images of "
                       f"{files[(split, 'images')]}")
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise IdxError(f"{files[(split, 'labels')]}: label {int(labels.max())}, expected 0..{len(CLASS_NAMES) - 1}")
    return images, labels


def _stamp(files: dict) -> str:
    """Cache key: the version and each source file's name and size."""
    return CACHE_VERSION + "\n" + "\n".join(f"{p.name} {p.stat().st_size}" for p in files.values()) + "\n"


def cached_arrays(folder: Path, cache: Path) -> dict:
    """{'train': (images, labels), 'val': (images, labels)}, from CACHE if it matches the sources.

    Every array is written to a sibling and renamed, and the marker last, so a half-written
    cache is never read; concurrent writers each rename whole files.
    """
    files = source_files(folder)
    stamp = _stamp(files)
    cache = cache / hashlib.sha1(stamp.encode()).hexdigest()[:12]  # one cache per distinct set of sources
    marker = cache / ".complete"
    names = {split: (cache / f"{split}_images.npy", cache / f"{split}_labels.npy") for split in ("train", "val")}
    if marker.is_file() and marker.read_text() == stamp:
        try:
            return {split: (np.load(a, mmap_mode="r"), np.load(b)) for split, (a, b) in names.items()}
        except (OSError, ValueError, EOFError):
            marker.unlink(missing_ok=True)  # damaged since it was written: rebuilt below from the sources
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {split: read_split(files, split) for split in ("train", "val")}
    for split, paths in names.items():
        for path, array in zip(paths, arrays[split]):
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
            np.save(tmp, array)
            tmp.replace(path)
    tmp = marker.with_name(f".complete.{os.getpid()}")
    tmp.write_text(stamp)
    tmp.replace(marker)
    return arrays


def write_idx(path, array: np.ndarray, kind: str) -> None:
    """Write ARRAY (uint8) as an IDX file of KIND ('images' NxHxW or 'labels' N), gzipped if PATH ends in .gz.

    The inverse of read_idx: small synthetic Fashion-MNIST folders for tests and demos."""
    array = np.asarray(array, np.uint8)
    header = MAGIC[kind].to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as handle:
        handle.write(header + array.tobytes())


def write_synthetic(folder, train: int = 200, val: int = 50, seed: int = 0) -> Path:
    """A folder of the four files holding learnable 28x28 images: class c is a bright bar at rows 2c..2c+7."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        labels = (np.arange(count) % len(CLASS_NAMES)).astype(np.uint8)
        images = rng.integers(0, 40, (count, *SHAPE)).astype(np.uint8)
        for image, label in zip(images, labels):
            image[2 * label:2 * label + 8, 4:24] = 200
        write_idx(folder / (FILES[(split, "images")] + ".gz"), images, "images")
        write_idx(folder / FILES[(split, "labels")], labels, "labels")
    return folder
