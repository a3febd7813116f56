"""Data folders, digits, Fashion-MNIST, the tf.data pipeline, sample_images and the ImageNet subset helper."""
import gzip

import numpy as np
import pytest
from PIL import Image

from qmodels import data as D
from qmodels import idx
from qmodels import imagenet as I


def _png(path, color=(0, 128, 255), size=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def _folder(root, classes=("a", "b"), per_class=2):
    for split in ("train", "val"):
        for name in classes:
            for i in range(per_class):
                _png(root / split / name / f"{i}.png", color=(40 * i, 100, 200))
    return root


@pytest.fixture
def digits(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    return D.digits_folder()


def test_digits_folder_is_a_stratified_split_written_once(digits, tmp_path):
    assert digits == tmp_path / "cache" / "digits"
    folder = D.open_folder(digits, name=D.DIGITS)
    assert folder.class_names == [str(i) for i in range(10)]
    assert (len(folder.train.files), len(folder.val.files)) == (1437, 360)
    assert np.bincount(folder.val.labels).min() >= 35  # stratified: every digit ~36 times
    assert set(folder.train.files).isdisjoint(folder.val.files)
    image = Image.open(folder.val.files[0])
    assert (image.size, image.mode) == ((32, 32), "RGB")
    stamp = (digits / "train" / "0").stat().st_mtime_ns, folder.train.files[0]
    assert D.digits_folder() == digits
    assert (digits / "train" / "0").stat().st_mtime_ns == stamp[0]  # reused, not rewritten


def test_digits_folder_without_marker_is_rewritten(digits):
    stray = digits / "train" / "0" / "stray.png"
    _png(stray)
    (digits / D.DIGITS_MARKER).unlink()  # as if the writer had been killed before finishing
    assert D.digits_folder() == digits
    assert not stray.exists() and (digits / D.DIGITS_MARKER).is_file()


def test_pipeline_yields_pixels_on_the_8bit_grid(digits):
    folder = D.open_folder(digits, name=D.DIGITS)
    for training in (False, True):
        prep = D.default_preprocess(D.DIGITS, (32, 32, 3))
        images, labels = next(iter(D.make_dataset(folder.val, prep, 16, training=training)))
        images = images.numpy()
        assert images.shape == (16, 32, 32, 3) and images.dtype == np.float32
        codes = images * 256
        assert np.array_equal(codes, np.round(codes)) and codes.min() >= 0 and codes.max() <= 255
        assert codes.max() > 200  # white ink survives, no mean/std normalisation
    assert labels.dtype.name == "int32"


def test_augmentation_is_seeded(digits):
    folder = D.open_folder(digits, name=D.DIGITS)
    prep = D.Preprocess(32, 32, 1.0, "standard")
    first = lambda seed: next(iter(D.make_dataset(folder.train, prep, 8, True, seed)))[0].numpy()  # noqa: E731
    assert np.array_equal(first(3), first(3))
    assert not np.array_equal(first(3), first(4))


def test_eval_crop_takes_the_centre_of_a_wide_image(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:30] = (0, 255, 0)
    wide[:, 30:] = (0, 0, 255)
    out = D.eval_image(wide, D.Preprocess(16, 16, crop_fraction=1.0, augment="none")).numpy()
    assert out.shape == (16, 16, 3)
    assert np.all(out[..., 1] == 255 / 256) and np.all(out[..., [0, 2]] == 0)


def test_empty_or_missing_folders_are_named(tmp_path):
    with pytest.raises(D.DataError, match=f"{tmp_path / 'nowhere'}: no such data folder"):
        D.open_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(D.DataError, match=f"{tmp_path / 'empty' / 'train'}: no such folder"):
        D.open_folder(tmp_path / "empty")
    (tmp_path / "empty" / "train").mkdir()
    (tmp_path / "empty" / "val").mkdir()
    with pytest.raises(D.DataError, match=f"{tmp_path / 'empty' / 'train'}: no class folders"):
        D.open_folder(tmp_path / "empty")
    root = _folder(tmp_path / "d")
    for image in (root / "val" / "b").iterdir():
        image.unlink()
    with pytest.raises(D.DataError, match=f"{root / 'val' / 'b'}: no image files"):
        D.open_folder(root)


def test_class_folders_must_match_between_train_and_val(tmp_path):
    root = _folder(tmp_path / "d", classes=("cat", "dog"))
    _png(root / "val" / "emu" / "0.png")
    (root / "val" / "dog" / "0.png").unlink()
    (root / "val" / "dog" / "1.png").unlink()
    (root / "val" / "dog").rmdir()
    with pytest.raises(D.DataError, match=r"differ between train/ and val/: only in train: dog; only in val: emu"):
        D.open_folder(root)


def test_unreadable_images_are_named(tmp_path):
    root = _folder(tmp_path / "d")
    bad = root / "train" / "a" / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(D.DataError, match=f"{bad}: not an image"):
        D.open_folder(root)
    bad.unlink()
    truncated = root / "train" / "b" / "cut.png"
    truncated.write_bytes((root / "train" / "b" / "0.png").read_bytes()[:40])  # PNG magic, broken body
    folder = D.open_folder(root)
    path, message = D.find_undecodable(folder.train.files)
    assert path == str(truncated) and message


def test_resolve_wants_exactly_one_source(tmp_path):
    with pytest.raises(D.DataError, match="exactly one"):
        D.resolve()
    with pytest.raises(D.DataError, match="exactly one"):
        D.resolve(data=tmp_path, dataset="digits")
    with pytest.raises(D.DataError, match="unknown dataset 'cifar': the built-in datasets are digits, fashion-mnist"):
        D.resolve(dataset="cifar")


def test_sample_images_cover_the_classes_round_robin(digits):
    images, labels, names = D.sample_images("digits", 25, input_shape=(32, 32, 3))
    assert images.shape == (25, 32, 32, 3) and images.dtype == np.float32
    assert labels.tolist() == list(range(10)) * 2 + list(range(5))
    assert names == [str(i) for i in range(10)]
    assert np.array_equal(images * 256, np.round(images * 256))
    with pytest.raises(D.DataError, match="give input_shape"):
        D.sample_images("digits", 3)


def _imagenet(root, wnids, flat_val=False):
    for wnid in wnids:
        for i in range(3):
            _png(root / "train" / wnid / f"{wnid}_{i}.JPEG")
    lines = []
    for j, wnid in enumerate(wnids):
        name = f"ILSVRC2012_val_{j:08d}.JPEG"
        _png(root / "val" / name if flat_val else root / "val" / wnid / name)
        lines.append(f"{name} {wnid}")
    return "\n".join(lines) + "\n"


def test_imagenet_subset_links_the_listed_classes(tmp_path):
    wnids = ["n01440764", "n01443537", "n09999999"]
    _imagenet(tmp_path / "imagenet", wnids)
    classes = tmp_path / "classes.txt"
    classes.write_text("# ImageNet50 (two here)\nn01443537 goldfish\n\nn01440764 tench\n")
    counts = I.build_imagenet_subset(tmp_path / "imagenet", classes, tmp_path / "in50")
    assert counts == {"classes": 2, "train": 6, "val": 2}
    link = tmp_path / "in50" / "train" / "n01440764" / "n01440764_0.JPEG"
    assert link.is_symlink() and link.resolve() == (tmp_path / "imagenet/train/n01440764/n01440764_0.JPEG").resolve()
    assert D.open_folder(tmp_path / "in50").class_names == ["n01440764", "n01443537"]
    assert I.build_imagenet_subset(tmp_path / "imagenet", classes, tmp_path / "in50") == counts  # re-run is fine
    copied = I.build_imagenet_subset(tmp_path / "imagenet", classes, tmp_path / "copy", copy=True)
    assert copied == counts and not (tmp_path / "copy" / "val" / "n01440764").iterdir().__next__().is_symlink()


def test_imagenet_subset_reads_a_flat_val_with_labels(tmp_path):
    wnids = ["n01440764", "n01443537"]
    labels = tmp_path / "val_labels.txt"
    labels.write_text(_imagenet(tmp_path / "imagenet", wnids, flat_val=True))
    classes = tmp_path / "classes.txt"
    classes.write_text("n01440764\n")
    counts = I.build_imagenet_subset(tmp_path / "imagenet", classes, tmp_path / "out", val_labels=labels)
    assert counts == {"classes": 1, "train": 3, "val": 1}
    assert D.main(["imagenet-subset", "--imagenet", str(tmp_path / "imagenet"), "--classes", str(classes),
                   "--out", str(tmp_path / "out2"), "--val-labels", str(labels)]) == 0


def test_imagenet_subset_errors_name_the_file(tmp_path):
    _imagenet(tmp_path / "imagenet", ["n01440764"])
    classes = tmp_path / "classes.txt"
    classes.write_text("n01440764\ngoldfish\n")
    with pytest.raises(D.DataError, match=f"{classes}:2: 'goldfish' is not a WordNet id"):
        I.build_imagenet_subset(tmp_path / "imagenet", classes, tmp_path / "out")
    classes.write_text("n01440764\nn02000000\n")
    with pytest.raises(D.DataError, match=f"{tmp_path / 'imagenet' / 'train' / 'n02000000'}: no such folder"):
        I.build_imagenet_subset(tmp_path / "imagenet", classes, tmp_path / "out")


# ----------------------------------------------------------------------------- Fashion-MNIST (synthetic IDX files)
@pytest.fixture
def fashion(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(idx.ENV, raising=False)
    return idx.write_synthetic(tmp_path / "fm", train=40, val=20)


def test_fashion_mnist_reads_idx_files_and_caches_them(fashion, tmp_path):
    folder = D.resolve(dataset="fashion-mnist", data_file=fashion)
    assert folder.name == "fashion-mnist" and folder.class_names == idx.CLASS_NAMES
    assert (folder.train.count, folder.val.count) == (40, 20) and folder.train.files == []
    assert folder.val.labels == [i % 10 for i in range(20)]
    caches = list((tmp_path / "cache" / "fashion-mnist").iterdir())
    assert len(caches) == 1 and (caches[0] / ".complete").is_file()
    written = (caches[0] / "train_images.npy").stat().st_mtime_ns
    assert D.resolve(dataset="fashion-mnist", data_file=fashion).val.labels == folder.val.labels
    assert (caches[0] / "train_images.npy").stat().st_mtime_ns == written  # reused, not rewritten
    (caches[0] / "val_labels.npy").write_bytes(b"")  # damaged: rebuilt from the sources
    assert D.resolve(dataset="fashion-mnist", data_file=fashion).val.labels == folder.val.labels
    (caches[0] / ".complete").unlink()  # without its marker (a writer killed half-way) it is rewritten
    assert D.resolve(dataset="fashion-mnist", data_file=fashion).val.labels == folder.val.labels
    assert (caches[0] / ".complete").is_file()


def test_fashion_mnist_pads_28_to_32_exactly_and_fits_the_channels(fashion):
    folder = D.resolve(dataset="fashion-mnist", data_file=fashion)
    for channels in (1, 3):
        prep = D.default_preprocess("fashion-mnist", (32, 32, channels))
        assert (prep.crop_fraction, prep.augment) == (1.0, "shift")
        images, _ = next(iter(D.make_dataset(folder.val, prep, 20, training=False)))
        codes = images.numpy() * 256
        assert codes.shape == (20, 32, 32, channels)
        assert np.array_equal(codes[:, 2:30, 2:30, 0], folder.val.images)  # padded, not resampled
        assert not codes[:, :2].any() and not codes[:, :, 30:].any()
        assert np.array_equal(codes[..., 0], codes[..., -1])
    train, _ = next(iter(D.make_dataset(folder.train, prep, 40, training=True, seed=1)))
    codes = train.numpy() * 256
    assert np.array_equal(codes, np.round(codes)) and codes.max() >= 200  # the bright bar survives the shift
    native = D.default_preprocess("fashion-mnist", (28, 28, 1))
    images, _ = next(iter(D.make_dataset(folder.val, native, 20, training=False)))
    assert np.array_equal(images.numpy()[..., 0] * 256, folder.val.images)


def test_dataset_images_serve_the_test_split_in_order(fashion, monkeypatch):
    monkeypatch.setenv(idx.ENV, str(fashion))  # where 'fashion-mnist' is looked for without --data-file
    images, labels, names = D.dataset_images("fashion-mnist", "val", input_shape=(32, 32, 1))
    assert images.shape == (20, 32, 32, 1) and labels.tolist() == [i % 10 for i in range(20)]
    part, part_labels, _ = D.dataset_images("fashion-mnist", "val", n=5, start=15, input_shape=(32, 32, 1))
    assert np.array_equal(part, images[15:]) and part_labels.tolist() == labels[15:].tolist()
    assert D.dataset_images("fashion-mnist", "val", n=5, start=30, input_shape=(32, 32, 1))[0].shape[0] == 0
    with pytest.raises(D.DataError, match="split must be 'train' or 'val'"):
        D.dataset_images("fashion-mnist", "test", input_shape=(32, 32, 1))


def test_missing_fashion_files_get_one_message_saying_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "half").mkdir()
    idx.write_idx(tmp_path / "half" / "train-labels-idx1-ubyte", np.zeros(3), "labels")
    with pytest.raises(D.DataError) as err:
        D.resolve(dataset="fashion-mnist", data_file=tmp_path / "half")
    message = str(err.value)
    assert "train-images-idx3-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in message
    assert "apt-get install dataset-fashion-mnist" in message and "--data-file DIR" in message
    assert "train-labels-idx1-ubyte," not in message  # present, so not listed
    monkeypatch.setenv(idx.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(D.DataError, match=f"{tmp_path / 'nowhere'} lacks"):
        D.resolve(dataset="fashion-mnist")
    with pytest.raises(D.DataError, match="needs --dataset fashion-mnist"):
        D.resolve(dataset="digits", data_file=tmp_path)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"\x00\x00\x08\x01" + raw[4:], "magic number 0x00000801, expected 0x00000803"),
    (lambda raw: raw[:-1], "data bytes, the header's shape"),
    (lambda raw: raw[:4] + raw[4:8] + (27).to_bytes(4, "big") + raw[12:], "images are 27x28, expected 28x28"),
    (lambda raw: raw[:6], "too short for an IDX header"),
])
def test_bad_idx_files_are_named(fashion, damage, message):
    path = fashion / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.unlink()
    (fashion / "train-images-idx3-ubyte").write_bytes(damage(raw))
    with pytest.raises(D.DataError, match=f"{fashion / 'train-images-idx3-ubyte'}: .*{message}"):
        D.resolve(dataset="fashion-mnist", data_file=fashion)


def test_labels_must_match_images_and_classes(fashion):
    idx.write_idx(fashion / "t10k-labels-idx1-ubyte", np.full(20, 12), "labels")
    with pytest.raises(D.DataError, match="label 12, expected 0..9"):
        D.resolve(dataset="fashion-mnist", data_file=fashion)
    idx.write_idx(fashion / "t10k-labels-idx1-ubyte", np.zeros(19), "labels")
    with pytest.raises(D.DataError, match="19 labels for the 20 images"):
        D.resolve(dataset="fashion-mnist", data_file=fashion)
