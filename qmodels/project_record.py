"""``attendnets.yaml``: the record a generated project carries of what it is, as one typed, versioned
dataclass.  Generation writes it (``save``); every reader loads it here (``load``) and gets it checked
once: csim and build (hw.hls.convert.load_resolved), report/estimate (hw.estimate.source), the vendor
report loader (``read_name``: the top function of a report folder), and host's deploy and port formats.
A damaged file fails in one line naming the file and the field.

Standard library, PyYAML and the base modules only (qmodels.strict_yaml, qmodels.hls_types), so the
host code's development side (numpy only: no TensorFlow, no hw) reads it too.  Deploy packages carry
the port formats as JSON instead (host.package), so the board never needs this file.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from qmodels import strict_yaml
from qmodels.hls_types import FormatError, parse_type

FILE = "attendnets.yaml"
FORMAT = 1    # 'attendnets_project': raised when a field changes meaning, so an older reader refuses the file
VERSION_KEY = "attendnets_project"
# A project's name names files and its top function (it is spliced into C++ and Tcl): no paths, no spaces
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# the per-layer hardware choices a project records (hw.config takes its lists from here): how a conv's
# products are made (hw/hls/nnet_utils/nnet_dsp_pack.h: fabric, one or two per DSP), and where our
# grouped conv keeps its weights: constants or a ROM, fixed by the bitstream (STORAGES), or a memory
# the accelerator fills from its weight frame at run time (LOADED_STORAGES: URAM holds no initial
# contents; hw/vivado/README.md, "Run-time weights")
MULTIPLIERS = ("lut", "dsp", "packed")
STORAGES = ("registers", "bram", "lutram")
LOADED_STORAGES = ("uram",)
# every place a layer's weights may live: what a recipe or a project record may name; the two lists
# stay apart because a loaded storage needs the AXI top's weight frame and a board with that memory
WEIGHT_STORAGES = STORAGES + LOADED_STORAGES
AGAIN = "generate the project again"


class ProjectRecordError(ValueError):
    """A missing or damaged attendnets.yaml; the message names the file and the field."""


@dataclass
class ProjectRecord:
    project_name: str
    io: dict              # input_type, output_type: the ports' types as hls4ml spells them
    build: dict           # the build config the project was generated from (hw.config.BuildConfig.to_dict)
    board: dict           # name, part, clock_ns
    software_model: dict  # weights, file, input_shape, classes (and spec, checkpoint, seed ...)
    testbench: dict       # samples, output_lsb, labels
    fifo_depths: dict     # hls4ml stream variable -> depth
    layers: dict          # hls4ml layer -> class, reuse_factor, strategy, types (and multiplier, fold, storage,
    #                       stream_fold: words a pixel of its output stream takes, hw/hls/ops/stream_fold.py)
    fused_activations: dict = field(default_factory=dict)
    format: int = FORMAT

    # --- writing
    def to_dict(self) -> dict:
        """The file's content, in the order it is written."""
        data = {VERSION_KEY: self.format}
        data.update((f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "format")
        return data

    def save(self, folder) -> Path:
        path = Path(folder) / FILE
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path

    # --- reading
    @classmethod
    def load(cls, project) -> "ProjectRecord":
        """The record of the project folder ``project``, checked; ProjectRecordError otherwise."""
        project = Path(project)
        if not project.is_dir():
            raise ProjectRecordError(f"{project}: no such project folder")
        path = project / FILE
        if not path.is_file():
            raise ProjectRecordError(f"{project}: not an attendnets project (no {FILE}); run 'attendnets generate'")
        return cls.from_dict(_read(path), path)

    @classmethod
    def from_dict(cls, data, where) -> "ProjectRecord":
        check(data, where)
        values = {f.name: data.get(f.name, f.default_factory() if callable(f.default_factory) else None)
                  for f in dataclasses.fields(cls) if f.name != "format"}
        return cls(**values, format=data[VERSION_KEY])

    @staticmethod
    def read_name(project) -> Optional[str]:
        """Only ``project_name`` (checked), or None without the file: report folders of projects hls4ml
        made alone carry nothing else of the record."""
        path = Path(project) / FILE
        if not path.is_file():
            return None
        data = _read(path)
        if not isinstance(data, dict):
            raise ProjectRecordError(f"{path}: expected a mapping of fields, got {type(data).__name__}; {AGAIN}")
        if "project_name" in data:
            _name(data["project_name"], path)
        return data.get("project_name")

    @property
    def formats(self) -> dict:
        """{'input': ..., 'output': ...}: the ports' types as hls4ml spells them."""
        return {"input": self.io["input_type"], "output": self.io["output_type"]}


def _read(path: Path):
    try:
        return strict_yaml.load(path)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ProjectRecordError(f"{path}: not valid YAML ({' '.join(str(err).split())[:200]}); {AGAIN}") from None


# Checked in this order, so the first message names what a reader would miss first
SECTIONS = {"board": ("name", "part", "clock_ns"), "layers": (), "fifo_depths": (), "io": ("input_type", "output_type"),
            "build": (), "software_model": ("weights", "input_shape", "classes"),
            "testbench": ("samples", "output_lsb")}


def check(data, where) -> None:
    """ProjectRecordError naming ``where`` and the first field that is missing or malformed."""
    def fail(what):
        raise ProjectRecordError(f"{where}: {what}; {AGAIN}")

    if not isinstance(data, dict):
        fail(f"not an attendnets project record (expected a mapping of fields with '{VERSION_KEY}', "
             f"got a {type(data).__name__})")
    for key in SECTIONS:
        if key not in data:
            fail(f"missing field '{key}'")
        if not isinstance(data[key], dict):
            fail(f"{key} should be a mapping, got {data[key]!r:.60}")
    for key, needed in SECTIONS.items():
        missing = [k for k in needed if k not in data[key]]
        if missing:
            fail(f"field '{key}.{missing[0]}' is missing")
    for key in (VERSION_KEY, "project_name"):
        if key not in data:
            fail(f"missing field '{key}'")
    version = data[VERSION_KEY]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        fail(f"field '{VERSION_KEY}' should be the record's format, a positive integer ({FORMAT}), got {version!r:.40}")
    if version > FORMAT:
        raise ProjectRecordError(f"{where}: field '{VERSION_KEY}' is format {version}, written by a newer attendnets; "
                                 f"this one reads format {FORMAT}: generate the project again with it")
    _name(data["project_name"], where)
    _values(data, where, fail)


def _name(name, where) -> None:
    if not isinstance(name, str):
        raise ProjectRecordError(f"{where}: project_name should be a string, got {name!r:.60}; {AGAIN}")
    if not IDENTIFIER_RE.match(name):
        raise ProjectRecordError(f"{where}: field 'project_name' must be a C identifier of at most 64 characters, "
                                 f"got {name!r:.60}; {AGAIN}")


def _values(data: dict, where, fail) -> None:
    for key in ("input_type", "output_type"):
        try:
            parse_type(data["io"][key], f"io.{key}")
        except FormatError as err:
            fail(str(err))
    for key in ("name", "part"):
        if not isinstance(data["board"][key], str):
            fail(f"board.{key} should be a string, got {data['board'][key]!r:.60}")
    clock = data["board"]["clock_ns"]
    if isinstance(clock, bool) or not isinstance(clock, (int, float)) or not (math.isfinite(clock) and clock > 0):
        fail(f"board.clock_ns should be a positive number of nanoseconds, got {clock!r:.40}")
    for name, depth in data["fifo_depths"].items():
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            fail(f"fifo_depths.{name} should be a positive integer, got {depth!r:.40}")
    for name, layer in data["layers"].items():
        if not isinstance(layer, dict):
            fail(f"layers.{name} should be a mapping, got {layer!r:.60}")
        for key in ("reuse_factor", "fold", "stream_fold"):   # None: nothing to share or fold (padding, pooling)
            count = layer.get(key)
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                fail(f"layers.{name}.{key} should be a positive integer, got {count!r:.40}")
        for key, choices in (("multiplier", MULTIPLIERS), ("storage", WEIGHT_STORAGES)):
            if key in layer and layer[key] not in choices:
                fail(f"layers.{name}.{key} should be one of {', '.join(choices)}, got {layer[key]!r:.40}")
        if not isinstance(layer.get("types", {}), dict):
            fail(f"layers.{name}.types should be a mapping, got {layer['types']!r:.60}")
    if not isinstance(data.get("fused_activations", {}), dict):
        fail(f"fused_activations should be a mapping, got {data['fused_activations']!r:.60}")
