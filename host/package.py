"""What the driver reads from a project or a deployment package: the accelerator's ports and
block-design names (``accelerator.yaml``, or its JSON copy in a package so that the board needs no
YAML parser), the class labels, and the checksums manifest.

A package is a folder (unpacked from the archive ``attendnets deploy`` writes) holding:
``accelerator.json``, ``labels.txt``, ``samples.npz`` (smoke-test images with their expected
scores), ``host/`` (this package), and either ``overlay/<name>.bit`` + ``.hwh`` (a board) or
``sim/lib<name>_axi.so`` with the firmware weights (the simulated board), the weight frame when the
accelerator has run-time weights (``accelerator_weights.bin``), plus ``MANIFEST.sha256``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from host.io import Format, lane_bits, stream_words

CONFIG_YAML, CONFIG_JSON = "accelerator.yaml", "accelerator.json"
LABELS, SAMPLES, MANIFEST = "labels.txt", "samples.npz", "MANIFEST.sha256"


class PackageError(ValueError):
    """A project or package that the driver cannot use; the message names the file and field."""


@dataclass(frozen=True)
class Port:
    fmt: Format
    shape: tuple
    lane: int
    elements: int
    words: int


@dataclass(frozen=True)
class WeightFrameInfo:
    """The run-time weights (layers with storage: uram): the frame file and its words, sent once
    after the bitstream is loaded (hw/vivado/README.md, "Run-time weights")."""
    file: str
    words: int


@dataclass(frozen=True)
class AcceleratorInfo:
    name: str              # project (top function) name
    top: str               # the AXI top / IP name, <name>_axi
    dma_instance: str      # block-design instance names: the driver looks the IPs up by these
    accelerator_instance: str
    dma_width: int
    input: Port
    output: Port
    board: str
    pynq_images: tuple
    weights: Optional[WeightFrameInfo] = None

    @property
    def weight_bytes(self) -> int:
        return self.weights.words * self.dma_width // 8 if self.weights else 0

    @property
    def input_bytes(self) -> int:
        return self.input.words * self.dma_width // 8

    @property
    def output_bytes(self) -> int:
        return self.output.words * self.dma_width // 8


def _port(data, key: str, width: int, where: str) -> Port:
    port = data.get(key)
    if not isinstance(port, dict):
        raise PackageError(f"{where}: field '{key}' is missing or not a mapping")
    try:
        fmt = Format.parse(port["format"])
        shape = tuple(int(d) for d in port["shape"])
        got = {name: int(port[name]) for name in ("lane_bits", "elements", "words")}
    except KeyError as err:
        raise PackageError(f"{where}: field '{key}.{err.args[0]}' is missing") from None
    except (TypeError, ValueError) as err:
        raise PackageError(f"{where}: field '{key}': {err}") from None
    elements = 1
    for d in shape:
        elements *= d
    want = {"lane_bits": lane_bits(fmt), "elements": elements}
    want["words"] = stream_words(elements, want["lane_bits"], width)
    for name, value in want.items():
        if got[name] != value:
            raise PackageError(f"{where}: field '{key}.{name}' is {got[name]}, but {port['format']} x "
                               f"{list(shape)} in {width}-bit words gives {value}")
    return Port(fmt, shape, want["lane_bits"], elements, want["words"])


def _weight_frame(data, width: int, where: str):
    """The record's 'weights' (None without run-time weights), its words checked against its memories."""
    frame = data.get("weights")
    if frame is None:
        return None
    try:
        file, words, memories = str(frame["file"]), int(frame["words"]), list(frame["memories"])
        total = sum(int(m["rows"]) * stream_words(int(m["row_elements"]), lane_bits(Format.parse(m["format"])), width)
                    for m in memories)
    except KeyError as err:
        raise PackageError(f"{where}: field 'weights.{err.args[0]}' is missing") from None
    except (TypeError, ValueError) as err:
        raise PackageError(f"{where}: field 'weights': {err}") from None
    if total != words or not memories or "/" in file or file.startswith("."):
        raise PackageError(f"{where}: field 'weights': {words} words in file {file!r}, but its memories take {total} "
                           "words (expected at least one memory and a file name beside the record)")
    return WeightFrameInfo(file, words)


def parse_info(data, where: str) -> AcceleratorInfo:
    if not isinstance(data, dict):
        raise PackageError(f"{where}: expected a mapping of accelerator fields")
    missing = [k for k in ("project", "top", "dma_instance", "accelerator_instance", "dma_width", "input",
                           "output", "board") if k not in data]
    if missing:
        raise PackageError(f"{where}: field '{missing[0]}' is missing")
    width = data["dma_width"]
    if not isinstance(width, int) or width not in (32, 64, 128):
        raise PackageError(f"{where}: field 'dma_width': expected 32, 64 or 128, got {width!r}")
    return AcceleratorInfo(str(data["project"]), str(data["top"]), str(data["dma_instance"]),
                           str(data["accelerator_instance"]), width, _port(data, "input", width, where),
                           _port(data, "output", width, where), str(data["board"]),
                           tuple(str(v) for v in data.get("pynq_images") or ()), _weight_frame(data, width, where))


def read_config(folder) -> dict:
    """The accelerator record as a dict: accelerator.json (packages) or accelerator.yaml (projects)."""
    folder = Path(folder)
    if (folder / CONFIG_JSON).exists():
        try:
            return json.loads((folder / CONFIG_JSON).read_text())
        except json.JSONDecodeError as err:
            raise PackageError(f"{folder / CONFIG_JSON}: not valid JSON: {err}") from None
    path = folder / CONFIG_YAML
    if not path.exists():
        raise PackageError(f"{folder}: neither {CONFIG_JSON} nor {CONFIG_YAML} is here; give a project made by "
                           "'attendnets generate' or a package made by 'attendnets deploy'")
    import yaml  # only a project needs it; packages carry JSON because PYNQ's Python may lack PyYAML

    from qmodels import strict_yaml

    try:
        return strict_yaml.load(path)
    except yaml.YAMLError as err:
        raise PackageError(f"{path}: not valid YAML: {err}") from None


def load_info(folder) -> AcceleratorInfo:
    folder = Path(folder)
    name = CONFIG_JSON if (folder / CONFIG_JSON).exists() else CONFIG_YAML
    return parse_info(read_config(folder), str(folder / name))


def read_weight_frame(folder, info: AcceleratorInfo) -> bytes:
    """The weight frame's bytes beside the record, checked to be exactly the frame the record gives."""
    path = Path(folder) / info.weights.file
    if not path.is_file():
        raise PackageError(f"{path}: missing; the accelerator's run-time weights (storage: uram) are sent from it "
                           "(generate the project again)")
    frame = path.read_bytes()
    if len(frame) != info.weight_bytes:
        raise PackageError(f"{path}: {len(frame)} bytes, but the weight frame is {info.weights.words} words of "
                           f"{info.dma_width} bits ({info.weight_bytes} bytes); generate the project again")
    return frame


def label_lines(path) -> list:
    """The non-empty lines of a labels file, or PackageError naming it."""
    try:
        return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise PackageError(f"{path}: not a text file; expected labels, one per line") from None


def read_labels(folder, classes: int) -> list:
    """labels.txt (one label per line, class 0 first); class_<i> when the folder has none."""
    path = Path(folder) / LABELS
    if not path.exists():
        return [f"class_{i}" for i in range(classes)]
    labels = label_lines(path)
    if len(labels) != classes:
        raise PackageError(f"{path}: {len(labels)} labels for an accelerator with {classes} outputs")
    return labels


# --- checksums -----------------------------------------------------------------------------------
# sha256sum's own format ("<hex>  <path>"), so a board can check a package with coreutils alone.

def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_files(root) -> list:
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name != MANIFEST and "__pycache__" not in p.parts)


def write_manifest(root) -> Path:
    root = Path(root)
    path = root / MANIFEST
    path.write_text("".join(f"{sha256(root / rel)}  {rel}\n" for rel in package_files(root)))
    return path


def verify_manifest(root) -> int:
    """Raise PackageError naming the first file that is missing, changed or not listed; returns the count."""
    root = Path(root)
    path = root / MANIFEST
    if not path.exists():
        raise PackageError(f"{root}: no {MANIFEST}; not a package made by 'attendnets deploy'")
    listed = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            raise PackageError(f"{path}: line {number} is not '<sha256>  <file>'")
        listed[rel] = digest
    for rel, digest in listed.items():
        if not (root / rel).is_file():
            raise PackageError(f"{root}: {rel} is listed in {MANIFEST} but missing")
        if sha256(root / rel) != digest:
            raise PackageError(f"{root}: checksum mismatch for {rel}: the package was corrupted or tampered with")
    extra = sorted(set(package_files(root)) - set(listed))
    if extra:
        raise PackageError(f"{root}: {extra[0]} is not listed in {MANIFEST}: the package was tampered with")
    return len(listed)
