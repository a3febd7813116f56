"""ImageNet50-style subsets: ImageNet-style folders for the listed classes, linked into (or copied from) ImageNet.

Used through ``python -m qmodels.data imagenet-subset`` (qmodels/data.py); the result is a data
folder that ``attendnets train --data DIR`` reads.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from qmodels.data_error import DataError

_WNID = re.compile(r"^n\d{8}$")


def read_wnids(path) -> list:
    """WordNet ids, one per line (first token; '#' comments and blank lines ignored)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such class list file")
    wnids = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        token = line.split("#", 1)[0].split()[:1]
        if not token:
            continue
        if not _WNID.match(token[0]):
            raise DataError(f"{path}:{number}: {token[0]!r} is not a WordNet id like n01440764")
        if token[0] in wnids:
            raise DataError(f"{path}:{number}: {token[0]} is listed twice")
        wnids.append(token[0])
    if not wnids:
        raise DataError(f"{path}: no WordNet ids")
    return wnids


def _val_lists(imagenet: Path, wnids: list, val_labels) -> dict:
    """wnid -> validation image paths, from val/<wnid>/ folders or a flat val/ plus a labels file.

    A labels file has one image per line: its file name and, anywhere after it, its wnid (this
    reads 'ILSVRC2012_val_00000001.JPEG n01751748' and Kaggle's LOC_val_solution.csv alike).
    """
    if val_labels is None:
        return {w: _images_in(imagenet / "val" / w) for w in wnids}
    path, lists = Path(val_labels).expanduser(), {w: [] for w in wnids}
    if not path.is_file():
        raise DataError(f"{path}: no such validation labels file")
    for line in path.read_text().splitlines():
        tokens = re.split(r"[\s,]+", line.strip())
        found = [t for t in tokens[1:] if _WNID.match(t)]
        if found and found[0] in lists:
            name = tokens[0] if "." in tokens[0] else tokens[0] + ".JPEG"
            lists[found[0]].append(imagenet / "val" / name)
    return lists


def _images_in(folder: Path) -> list:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder in the ImageNet copy")
    images = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not images:
        raise DataError(f"{folder}: no images")
    return images


def build_imagenet_subset(imagenet, classes_file, out, copy: bool = False, val_labels=None) -> dict:
    """OUT/{train,val}/<wnid>/ for the listed wnids, as symlinks into (or copies of) IMAGENET.

    IMAGENET holds train/<wnid>/*.JPEG and either val/<wnid>/*.JPEG or a flat val/ with
    ``val_labels``.  Existing entries of OUT are kept, so an interrupted run can be repeated.
    Returns {'train': n, 'val': n, 'classes': n}.
    """
    imagenet, out = Path(imagenet).expanduser().resolve(), Path(out).expanduser()
    wnids = read_wnids(classes_file)
    sources = {"train": {w: _images_in(imagenet / "train" / w) for w in wnids},
               "val": _val_lists(imagenet, wnids, val_labels)}
    counts = {"classes": len(wnids)}
    for split, lists in sources.items():
        for wnid, images in lists.items():
            if not images:
                raise DataError(f"{val_labels}: no validation images of {wnid}")
            (out / split / wnid).mkdir(parents=True, exist_ok=True)
            for src in images:
                dst = out / split / wnid / src.name
                if not (dst.exists() or dst.is_symlink()):
                    shutil.copy2(src, dst) if copy else dst.symlink_to(src)
        counts[split] = sum(len(v) for v in lists.values())
    return counts
