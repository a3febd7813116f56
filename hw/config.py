"""The build recipe of an HLS project: a dataclass that round-trips through YAML.

One recipe (model x board x options) per file in hls_projects/configs/; ``attendnets generate``
takes the same fields as options, and writes the fully resolved recipe into the project.
Every field has a range (``LIMITS``); the command line checks its options against the same
ranges, so an option and a config field fail with the same explanation.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

import yaml

from qmodels import strict_yaml
from qmodels.hls_types import format_error
from qmodels.options import LIMITS  # the one table of ranges (training's and exploration's too)
from qmodels.project_record import IDENTIFIER_RE  # noqa: F401 (one rule for every name spliced into C++ or Tcl)
# the choices a project records; STORAGES is read from here by the planner and the sweep
from qmodels.project_record import LOADED_STORAGES, MULTIPLIERS, STORAGES, WEIGHT_STORAGES  # noqa: F401

BACKENDS = ("vitis", "vivado")
IO_TYPES = ("stream", "parallel")
STRATEGIES = ("latency", "resource")
LAYER_KEYS = ("reuse", "strategy", "multiplier", "fold", "storage", "precision")
PRECISION_KEYS = ("result", "accum")


def _relative_to_cwd(path: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), Path.cwd())


def _is_spec_file(model) -> bool:
    """A spec file's path, not a built-in model name (names have no suffix)."""
    return bool(model) and bool(Path(model).suffix)


class ConfigError(ValueError):
    """A bad recipe; the message names the file and the field."""


def range_error(name: str, value) -> Optional[str]:
    """What is wrong with ``value`` for the numeric field or option ``name`` (see LIMITS), or None."""
    expected = _expected(name, value)
    return f"{expected}, got {value!r}" if expected else None


def _expected(name: str, value) -> Optional[str]:
    """'expected ...' (the range, and why when ``value`` is a number outside it), or None when it is in range."""
    low, high, why, low_open = LIMITS[name]
    integral = isinstance(low, int)
    if integral:
        span = f"an integer from {low} to {high}"
    else:
        span = f"a number above {low:g} and at most {high:g}" if low_open else f"a number from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integral and not isinstance(value, int)):
        return f"expected {span}"
    if not math.isfinite(value) or not (low < value if low_open else low <= value) or value > high:
        return f"expected {span} ({why})"
    return None


def shape_error(shape) -> Optional[str]:
    """What is wrong with an input shape [H, W, C], or None."""
    got = f"got {shape!r}"
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        return f"expected [H, W, C], three positive integers, {got}"
    for value, limit in zip(shape, ("input_size", "input_size", "input_channels")):
        problem = range_error(limit, value)
        if problem:
            return f"expected [H, W, C] with H and W from 1 to {LIMITS['input_size'][1]} and C from 1 to " \
                   f"{LIMITS['input_channels'][1]}, {got}"
    return None


def precision_error(value) -> Optional[str]:
    """What is wrong with a per-layer precision override (qmodels.hls_types, the one type reader), or None."""
    return format_error(value)


def option_type(name: str):
    """An argparse ``type`` for the numeric option ``name`` (LIMITS): the same range as its config field.
    The error shows the number as typed ('1e10', not 10000000000.0), and quotes what is not a number."""
    import argparse

    def parse(text: str):
        try:
            value = int(text) if isinstance(LIMITS[name][0], int) else float(text)
        except ValueError:
            value = None
        problem = _expected(name, value)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, got {text if value is not None else repr(text)}")
        return value
    parse.__name__ = name
    return parse


def input_shape_option(text: str) -> list:
    """An argparse ``type`` for --input-shape H,W,C."""
    import argparse

    try:
        shape = [int(v) for v in text.split(",")]
    except ValueError:
        shape = None
    if shape is None or shape_error(shape):
        raise argparse.ArgumentTypeError(f"expected H,W,C positive integers (e.g. 32,32,3), got {text!r}")
    return shape


def identifier_option(text: str) -> str:
    """An argparse ``type`` for --project-name."""
    import argparse

    if not IDENTIFIER_RE.match(text):
        raise argparse.ArgumentTypeError("expected a C identifier (letters, digits and '_', not starting with a "
                                         f"digit, at most 64 characters), got {text!r}")
    return text


@dataclass
class LayerSettings:
    """Per-layer overrides, keyed by the Keras layer name (e.g. s03_vac_mix)."""
    reuse: Optional[int] = None
    strategy: Optional[str] = None
    multiplier: Optional[str] = None                 # lut (default), dsp or packed: conv layers only
    fold: Optional[int] = None                       # output-channel groups one after the other (1: none)
    storage: Optional[str] = None                    # the weights: registers (default), bram, lutram, uram
    precision: dict = field(default_factory=dict)   # {"result": "ap_fixed<...>", "accum": ...}

    def problems(self):
        """(key, message) for every bad setting."""
        if self.reuse is not None and range_error("reuse", self.reuse):
            yield "reuse", range_error("reuse", self.reuse)
        if self.strategy is not None and self.strategy not in STRATEGIES:
            yield "strategy", f"expected one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
        if self.multiplier is not None and self.multiplier not in MULTIPLIERS:
            yield "multiplier", f"expected one of {', '.join(MULTIPLIERS)}, got {self.multiplier!r}"
        if self.fold is not None and range_error("fold", self.fold):
            yield "fold", range_error("fold", self.fold)
        if self.storage is not None and self.storage not in WEIGHT_STORAGES:
            yield "storage", f"expected one of {', '.join(WEIGHT_STORAGES)}, got {self.storage!r}"
        if not isinstance(self.precision, dict):
            yield "precision", f"expected a mapping with {' and/or '.join(PRECISION_KEYS)}, got {self.precision!r}"
            return
        for key, value in self.precision.items():
            if key not in PRECISION_KEYS:
                yield f"precision.{key}", f"unknown key; expected {' or '.join(PRECISION_KEYS)}"
            elif precision_error(value):
                yield f"precision.{key}", precision_error(value)


def loaded_storage_problem(storage: str, board, io: str):
    """Why a layer cannot keep its weights in ``storage`` (one of LOADED_STORAGES: URAM, loaded at
    run time by the AXI top) on ``board`` (a hw.boards.Board) with ``io``, or None.  The planner
    offers uram where this is None (and the layer's fold passes group_conv.valid_folds as for bram)."""
    if not board.resources.get("uram"):
        return f"'{storage}' needs UltraRAM, and board {board.name} ({board.part}) has none; use bram or lutram"
    if io != "stream":
        return (f"'{storage}' needs io: stream (the AXI top loads the weights and passes them to the "
                f"network); got io: {io}")
    return None


@dataclass
class BuildConfig:
    model: Optional[str] = None               # built-in name or spec file; None: the checkpoint's (--weights)
    board: str = "zcu104"
    backend: str = "vitis"
    io: str = "stream"
    clock_ns: Optional[float] = None          # None: the board's default
    reuse: int = 1
    strategy: str = "latency"
    input_shape: Optional[list] = None        # None: the spec's (or the checkpoint's)
    classes: Optional[int] = None
    weights: Optional[str] = None             # checkpoint directory; None: seeded weights
    seed: int = 0
    samples: int = 8                          # test-bench images written to tb_data
    project_name: Optional[str] = None        # None: from the model name
    fuse_activations: bool = True             # quantized activations written by their producer (hw/hls/fuse.py)
    layers: dict = field(default_factory=dict)
    # the file ``load`` read the recipe from (None: made in Python). Not a field: it is no setting,
    # so it stays out of to_dict, YAML, ==, replace() and the fields a recipe may hold
    source = None

    def __post_init__(self):
        if isinstance(self.layers, dict):
            self.layers = {name: s if isinstance(s, LayerSettings) else LayerSettings(**s)
                           for name, s in self.layers.items()}

    def validate(self, where: str = "config") -> "BuildConfig":
        for name, message in self.problems():
            raise ConfigError(f"{where}: field '{name}': {message}")
        return self

    def problems(self):
        """(field, message) for every field outside its range, in field order."""
        from hw.boards import board_names

        for name in ("model", "weights"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                yield name, f"expected a non-empty path or name, got {value!r}"
        if self.model is None and self.weights is None:
            yield "model", "no model: give a built-in model name or a spec file, or a checkpoint (weights)"
        if self.board not in board_names():
            yield "board", f"unknown board {self.board!r}; known boards: {', '.join(board_names())}"
        for name, allowed in (("backend", BACKENDS), ("io", IO_TYPES), ("strategy", STRATEGIES)):
            if getattr(self, name) not in allowed:
                yield name, f"expected one of {', '.join(allowed)}, got {getattr(self, name)!r}"
        for name in ("clock_ns", "reuse", "classes", "seed", "samples"):
            value = getattr(self, name)
            if value is not None or name in ("reuse", "seed", "samples"):
                if range_error(name, value):
                    yield name, range_error(name, value)
        if not isinstance(self.fuse_activations, bool):
            yield "fuse_activations", f"expected true or false, got {self.fuse_activations!r}"
        if self.input_shape is not None and shape_error(self.input_shape):
            yield "input_shape", shape_error(self.input_shape)
        if self.project_name is not None and not (isinstance(self.project_name, str)
                                                  and IDENTIFIER_RE.match(self.project_name)):
            yield "project_name", ("expected a C identifier (letters, digits, '_', not starting with a digit, "
                                   f"at most 64 characters), got {self.project_name!r}")
        if not isinstance(self.layers, dict):
            yield "layers", f"expected a mapping of layer names to settings, got {type(self.layers).__name__}"
            return
        for name, settings in self.layers.items():
            for key, message in settings.problems():
                yield f"layers.{name}.{key}", message
            if settings.storage in LOADED_STORAGES and self.board in board_names():
                from hw.boards import load_board

                problem = loaded_storage_problem(settings.storage, load_board(self.board), self.io)
                if problem:
                    yield f"layers.{name}.storage", problem

    @contextlib.contextmanager
    def naming_source(self):
        """A ConfigError raised inside names the recipe file too: the per-layer settings are checked
        against the model only at generation, and their errors know the field but not the file."""
        try:
            yield
        except ConfigError as err:
            if self.source is None or str(err).startswith(f"{self.source}: "):
                raise
            raise ConfigError(f"{self.source}: {err}") from err

    def requested(self, layer: str, key: str) -> tuple:
        """(value, the field that asks for it) of 'reuse' or 'strategy' for ``layer``: its override
        under ``layers:``, else the recipe's own field."""
        override = self.layers.get(layer)
        if override is not None and getattr(override, key):
            return getattr(override, key), f"layers.{layer}.{key}"
        return getattr(self, key), key

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["layers"] = {name: {k: v for k, v in dataclasses.asdict(s).items() if v not in (None, {})}
                          for name, s in self.layers.items()}
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data, where: str = "config") -> "BuildConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: a build config is a mapping with at least 'model' or 'weights', "
                              f"got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(map(str, data)) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown field '{unknown[0]}'; expected one of {', '.join(sorted(known))}")
        layers = data.get("layers") or {}
        if not isinstance(layers, dict):
            raise ConfigError(f"{where}: field 'layers': expected a mapping of layer names to settings "
                              f"(e.g. 'layers: {{s01_vac_mix: {{reuse: 4}}}}'), got a {type(layers).__name__}")
        for name, settings in layers.items():
            if settings is not None and not isinstance(settings, dict):
                raise ConfigError(f"{where}: field 'layers.{name}': expected a mapping with "
                                  f"{', '.join(LAYER_KEYS)}, got {settings!r}")
            bad = sorted(set(map(str, settings or {})) - set(LAYER_KEYS))
            if bad:
                raise ConfigError(f"{where}: field 'layers.{name}': unknown key '{bad[0]}'; "
                                  f"expected {', '.join(LAYER_KEYS)}")
        return cls(**{**data, "layers": {str(n): s or {} for n, s in layers.items()}}).validate(where)

    def relative_to(self, folder) -> "BuildConfig":
        """A copy whose spec file and checkpoint paths are relative to FOLDER, as ``load`` reads a
        config saved there (built-in model names stay names)."""
        import os

        def rel(path):
            return os.path.relpath(Path(path).resolve(), Path(folder).resolve())
        return dataclasses.replace(self, model=rel(self.model) if _is_spec_file(self.model) else self.model,
                                   weights=rel(self.weights) if self.weights else None)

    @classmethod
    def load(cls, path) -> "BuildConfig":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: no such build config")
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder; expected a build config .yaml file")
        try:
            data = strict_yaml.load(path)
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a text file; expected a build config .yaml file") from None
        cfg = cls.from_dict(data, str(path))
        cfg.source = str(path)
        if cfg.weights and not Path(cfg.weights).is_absolute():  # relative to the config file
            cfg.weights = _relative_to_cwd(path.parent / cfg.weights)
        if _is_spec_file(cfg.model) and not Path(cfg.model).is_absolute():
            cfg.model = _relative_to_cwd(path.parent / cfg.model)
        return cfg
