"""The deployment archive: one .tar.gz holding everything a board needs, with checksums.

``<name>/`` inside the archive: ``accelerator.json`` (+ the project's ``accelerator.yaml``),
``labels.txt``, ``samples.npz`` (test-bench images as uint8 with their exact expected scores),
``host/`` (this driver package) with ``qmodels/hls_types.py`` (the type reader it uses), ``overlay/<name>.bit``
+ ``.hwh`` for a board or
``sim/lib<name>_axi.so`` for the simulated board, and ``MANIFEST.sha256`` over all of them.
Built on the development machine (it reads the project's YAML); checked and run on the board.
"""
from __future__ import annotations

import gzip
import json
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np

from host.accelerator import overlay_files
from host.package import (CONFIG_JSON, CONFIG_YAML, LABELS, SAMPLES, PackageError, label_lines, load_info, read_config,
                          read_weight_frame, sha256, verify_manifest, write_manifest)

HOST_DIR = Path(__file__).parent
ARCHIVE_DIR = Path("build") / "deploy"   # inside the project; build/ is never part of the generated files


class ArchiveError(RuntimeError):
    """A corrupted or tampered archive, or one that cannot be written."""


def find_bitstream(project: Path, name: str):
    """(bit, hwh) collected into the project by 'attendnets build --bitstream', or None."""
    bit, hwh = overlay_files(project, name)
    return (bit, hwh) if bit.exists() else None


def _labels(project: Path, resolved: dict, classes: int, override=None) -> list:
    """Class labels: --labels FILE, the project's labels.txt, the checkpoint's class names, or class_<i>."""
    sources = [Path(override)] if override else [project / LABELS]
    for path in sources:
        if path.exists() and not path.is_file():   # a folder, or /dev/zero, which would be read forever
            raise PackageError(f"{path}: not a regular file; expected a text file of labels, one per line")
        if path.exists():
            labels = label_lines(path)
            if len(labels) != classes:
                raise PackageError(f"{path}: {len(labels)} labels for an accelerator with {classes} outputs")
            return labels
        if override:
            raise PackageError(f"--labels {override}: not found")
    model = resolved.get("software_model", {})
    if model.get("class_names"):
        return [str(v) for v in model["class_names"]]
    if model.get("weights") != "trained":
        return [f"class_{i}" for i in range(classes)]
    names = _checkpoint_class_names(project, resolved)
    if names is None:
        raise PackageError(f"{project}: trained weights from {model.get('checkpoint')!r}, whose class names are not "
                           "found here; give them with --labels FILE (one per line, class 0 first)")
    return names


def _checkpoint_class_names(project: Path, resolved: dict):
    import importlib.util

    weights = resolved.get("build", {}).get("weights") or ""
    spec = importlib.util.find_spec("qmodels")
    shipped = Path(spec.origin).parent / "checkpoints" if spec and spec.origin else None
    name = resolved.get("software_model", {}).get("checkpoint") or Path(weights).name
    for folder in (Path(weights), project / weights, shipped / name if shipped else None):
        if folder is not None and weights and (folder / "checkpoint.yaml").exists():
            info = _read_yaml(folder / "checkpoint.yaml")
            return [str(v) for v in (info.get("dataset") or {}).get("class_names") or []] or None
    return None


def _record(project: Path) -> dict:
    """The project record (attendnets.yaml), checked; PackageError naming the file and field otherwise."""
    from qmodels.project_record import ProjectRecord, ProjectRecordError  # development side: PyYAML

    try:
        return ProjectRecord.load(project).to_dict()
    except ProjectRecordError as err:
        raise PackageError(str(err)) from None


def _read_yaml(path: Path) -> dict:
    from qmodels import strict_yaml  # the development machine's; packages on the board carry JSON

    try:
        data = strict_yaml.load(path)
    except (strict_yaml.YAMLError, UnicodeDecodeError) as err:
        raise PackageError(f"{path}: not valid YAML ({' '.join(str(err).split())[:300]})") from None
    if not isinstance(data, dict):
        raise PackageError(f"{path}: expected a mapping, got {type(data).__name__}")
    return data


def _samples(project: Path, info) -> dict:
    """tb_data's images as uint8 pixels (they lie on the p/256 grid) and their exact expected scores."""
    tb = project / "tb_data"
    try:
        images, expected = _rows(tb / "tb_input_features.dat"), _rows(tb / "tb_output_predictions.dat")
    except FileNotFoundError as err:
        raise PackageError(f"{err.filename}: missing; regenerate the project") from None
    if len(images) != len(expected) or images.shape[1] != info.input.elements:
        raise PackageError(f"{tb}: {len(images)} input rows of {images.shape[1]} values and {len(expected)} "
                           f"expected rows; the accelerator takes {info.input.elements} values; regenerate the project")
    pixels = images * 256
    if not np.array_equal(pixels, np.round(pixels)) or pixels.min() < 0 or pixels.max() > 255:
        raise PackageError(f"{tb / 'tb_input_features.dat'}: inputs are not 8-bit pixels p/256")
    out = {"images": pixels.astype(np.uint8).reshape(-1, *info.input.shape), "expected": expected}
    if (tb / "tb_labels.dat").exists():
        labels = _rows(tb / "tb_labels.dat").ravel()
        if len(labels) != len(images) or not np.array_equal(labels, np.round(labels)):
            raise PackageError(f"{tb / 'tb_labels.dat'}: expected one whole class number per image; "
                               "regenerate the project")
        out["labels"] = labels.astype(np.int64)
    return out


def _rows(path: Path) -> np.ndarray:
    try:
        rows = [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]
        return np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    except ValueError:   # a word that is not a number, or rows of different lengths
        raise PackageError(f"{path}: expected rows of numbers, the same count on every line; "
                           "regenerate the project") from None


def _copy_host(root: Path) -> None:
    """host/ and the one module of the rest it imports on the board: the fixed-point type reader."""
    import qmodels.hls_types

    (root / "host").mkdir()
    for path in sorted(HOST_DIR.iterdir()):
        if path.suffix in (".py", ".md"):
            shutil.copy2(path, root / "host" / path.name)
    (root / "qmodels").mkdir()
    (root / "qmodels" / "__init__.py").write_text('"""Only the fixed-point type reader the driver needs (hls_types.py)."""\n')
    shutil.copy2(qmodels.hls_types.__file__, root / "qmodels" / "hls_types.py")


def plan(project, sim: bool, labels=None) -> dict:
    """Everything a package needs, checked, without writing anything (also what --dry-run checks)."""
    project = Path(project)
    info = load_info(project)
    resolved = _record(project)
    found = None
    if not sim:
        found = find_bitstream(project, info.name)
        if found is None or not found[1].exists():
            what = "no bitstream" if found is None else f"a bitstream but no {found[1].name}"
            raise PackageError(f"{project} has {what}: a board needs both (build them with 'attendnets build "
                               "--bitstream' where Vivado is installed); without them it deploys only with --sim, "
                               "to the simulated board")
    return {"info": info, "labels": _labels(project, resolved, info.output.elements, labels),
            "samples": _samples(project, info), "overlay": found,
            "weight_frame": read_weight_frame(project, info) if info.weights else None}


def stage(project, sim: bool, library=None, labels=None, dest=None) -> Path:
    """The package folder <dest>/<name>/ (not yet archived)."""
    from host.simboard import SIM_DIR, library_name

    project = Path(project)
    parts = plan(project, sim, labels)
    info = parts["info"]
    if sim and (library is None or not Path(library).exists()):
        raise PackageError(f"a simulated-board package needs the project's compiled library, got {library}")
    root = Path(dest) / info.name
    root.mkdir(parents=True)
    (root / CONFIG_JSON).write_text(json.dumps(read_config(project), indent=1))
    shutil.copy2(project / CONFIG_YAML, root / CONFIG_YAML)
    (root / LABELS).write_text("".join(f"{v}\n" for v in parts["labels"]))
    np.savez(root / SAMPLES, **parts["samples"])
    if info.weights is not None:   # run-time weights: the driver sends this frame first
        (root / info.weights.file).write_bytes(parts["weight_frame"])
    _copy_host(root)
    if sim:
        (root / SIM_DIR).mkdir()
        shutil.copy2(library, root / SIM_DIR / library_name(info))
    else:
        (root / "overlay").mkdir()
        for path in parts["overlay"]:
            shutil.copy2(path, root / "overlay" / path.name)
    write_manifest(root)
    return root


def make_archive(project, sim: bool, library=None, labels=None, out_dir=None) -> tuple:
    """Write <project>/build/deploy/<name>-<board|sim>.tar.gz; returns (path, sha256)."""
    project = Path(project)
    out_dir = Path(out_dir) if out_dir else project / ARCHIVE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = stage(project, sim, library, labels, tmp)
        target = out_dir / f"{root.name}-{'sim' if sim else 'board'}.tar.gz"
        part = target.with_name(target.name + ".part")
        with tarfile.open(part, "w:gz") as tar:
            tar.add(root, arcname=root.name, filter=_normalized)
        part.replace(target)
    return target, sha256(target)


def _normalized(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member


def extract(archive, dest) -> Path:
    """Unpack into dest and verify every checksum; returns the package folder."""
    archive, dest = Path(archive), Path(dest)
    try:
        with gzip.open(archive) as stream:   # the whole stream first: gzip checks its CRC only at the end
            while stream.read(1 << 20):
                pass
        with tarfile.open(archive, "r:gz") as tar:
            tops = {Path(m.name).parts[0] for m in tar.getmembers()}
            if len(tops) != 1:
                raise ArchiveError(f"{archive}: expected one package folder, found {sorted(tops)}")
            tar.extractall(dest, filter="data")   # refuses absolute paths, '..' and links out of dest
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise ArchiveError(f"{archive}: corrupted archive ({err})") from None
    root = dest / tops.pop()
    try:
        verify_manifest(root)
    except PackageError as err:
        raise ArchiveError(str(err)) from None
    return root
