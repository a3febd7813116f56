"""The build recipe of an HLS project: a dataclass that round-trips through YAML.

One recipe (model x board x options) per file in hls_projects/configs/; ``attendnets generate``
takes the same fields as options, and writes the fully resolved recipe into the project.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

import yaml

BACKENDS = ("vitis", "vivado")
IO_TYPES = ("stream", "parallel")
STRATEGIES = ("latency", "resource")
LAYER_KEYS = ("reuse", "strategy", "precision")


def _relative_to_cwd(path: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), Path.cwd())


class ConfigError(ValueError):
    """A bad recipe; the message names the file and the field."""


@dataclass
class LayerSettings:
    """Per-layer overrides, keyed by the Keras layer name (e.g. s03_vac_mix)."""
    reuse: Optional[int] = None
    strategy: Optional[str] = None
    precision: dict = field(default_factory=dict)   # {"result": "ap_fixed<...>", "accum": ...}


@dataclass
class BuildConfig:
    model: str                                # built-in name or spec file
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
    layers: dict = field(default_factory=dict)

    def __post_init__(self):
        self.layers = {name: s if isinstance(s, LayerSettings) else LayerSettings(**s)
                       for name, s in (self.layers or {}).items()}

    def validate(self, where: str = "config") -> "BuildConfig":
        def fail(name, message):
            raise ConfigError(f"{where}: field '{name}': {message}")

        if self.backend not in BACKENDS:
            fail("backend", f"must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.io not in IO_TYPES:
            fail("io", f"must be one of {', '.join(IO_TYPES)}, got {self.io!r}")
        if self.strategy not in STRATEGIES:
            fail("strategy", f"must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        for name in ("reuse", "seed", "samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "seed" else 1):
                fail(name, f"must be a {'non-negative' if name == 'seed' else 'positive'} integer, got {value!r}")
        if self.clock_ns is not None and not (isinstance(self.clock_ns, (int, float)) and self.clock_ns > 0):
            fail("clock_ns", f"must be a positive number of nanoseconds, got {self.clock_ns!r}")
        if self.input_shape is not None and not (
                len(self.input_shape) == 3 and all(isinstance(v, int) and v > 0 for v in self.input_shape)):
            fail("input_shape", f"must be three positive integers [H, W, C], got {self.input_shape!r}")
        for name, settings in self.layers.items():
            if settings.reuse is not None and (not isinstance(settings.reuse, int) or settings.reuse < 1):
                fail(f"layers.{name}.reuse", f"must be a positive integer, got {settings.reuse!r}")
            if settings.strategy is not None and settings.strategy not in STRATEGIES:
                fail(f"layers.{name}.strategy", f"must be one of {', '.join(STRATEGIES)}")
            unknown = set(settings.precision) - {"result", "accum"}
            if unknown:
                fail(f"layers.{name}.precision", f"unknown key {sorted(unknown)[0]!r}; expected result or accum")
        return self

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
            raise ConfigError(f"{where}: a build config is a mapping with at least 'model'")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown field '{unknown[0]}'; expected one of {', '.join(sorted(known))}")
        if "model" not in data:
            raise ConfigError(f"{where}: missing field 'model'")
        layers = data.get("layers") or {}
        for name, settings in layers.items():
            bad = sorted(set(settings or {}) - set(LAYER_KEYS))
            if bad:
                raise ConfigError(f"{where}: field 'layers.{name}': unknown key '{bad[0]}'; "
                                  f"expected {', '.join(LAYER_KEYS)}")
        return cls(**{**data, "layers": {n: s or {} for n, s in layers.items()}}).validate(where)

    @classmethod
    def load(cls, path) -> "BuildConfig":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: no such build config")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
        cfg = cls.from_dict(data, str(path))
        if cfg.weights and not Path(cfg.weights).is_absolute():  # relative to the config file
            cfg.weights = _relative_to_cwd(path.parent / cfg.weights)
        if Path(cfg.model).suffix and not Path(cfg.model).is_absolute():  # a spec file, not a built-in name
            cfg.model = _relative_to_cwd(path.parent / cfg.model)
        return cfg
