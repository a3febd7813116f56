"""Network specs: a network is data (a YAML file), validated before anything is built.

A spec lists stages, each a one-key mapping ``{kind: {field: value}}``; the classifier
(a linear dense layer with one output per class) is appended by the builder, so the same
spec serves any class count.  Every error names the file, the stage and the field.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

import yaml

from qmodels import strict_yaml

from qmodels.fixed import Fixed, realisable

SPEC_DIR = Path(__file__).parent / "specs"


class SpecError(ValueError):
    """An invalid spec; the message names the file, the stage and the field."""


@dataclass
class Conv:
    """Spatial or pointwise convolution (kernel 1); ``groups`` > 1 makes it grouped."""
    filters: int
    kernel: int = 3
    stride: int = 1
    groups: int = 1
    activation: str = "relu"


@dataclass
class DWConv:
    """Depthwise convolution; ``multiplier`` output channels per input channel."""
    kernel: int = 3
    stride: int = 1
    multiplier: int = 1
    activation: str = "relu"


@dataclass
class VAC:
    """Visual attention condenser (paper, figure 1): mix -> pool -> embed -> unpool -> attend -> mix.

    ``mix``: channels of V' = M(V); ``embed``: channels of the grouped 3x3 conv in E;
    ``groups``: its groups; ``out``: channels of M'(V'') (default: V's channels).
    """
    mix: int
    embed: int
    groups: int = 1
    out: Optional[int] = None
    per_channel_scale: bool = False


@dataclass
class PEPE:
    """Projection (1x1), expansion (depthwise kxk, channel multiplier), projection (1x1), expansion (1x1)."""
    project: int
    project2: int
    out: int
    multiplier: int = 2
    kernel: int = 3
    stride: int = 1


@dataclass
class Bottleneck:
    """MobileNet-V2 inverted residual: expand 1x1, depthwise 3x3, linear project 1x1, add when shapes match."""
    out: int
    expansion: int = 6
    stride: int = 1


@dataclass
class MaxPool:
    size: int = 2


@dataclass
class GlobalAvgPool:
    pass


@dataclass
class Dense:
    units: int
    activation: str = "relu"


STAGE_KINDS = {"conv": Conv, "dwconv": DWConv, "vac": VAC, "pepe": PEPE, "bottleneck": Bottleneck,
               "maxpool": MaxPool, "global_avg_pool": GlobalAvgPool, "dense": Dense}
ACTIVATIONS = ("relu", "linear")


@dataclass
class Quantization:
    """The fixed-point formats of a network (see qmodels/fixed.py and qmodels/README.md)."""
    input: str = "ufixed<8,0>"       # pixel p in 0..255 is p/256
    weight: str = "fixed<8,1>"       # quantized_bits(8,0,alpha=1)
    bias: str = "fixed<8,3>"         # quantized_bits(8,2,alpha=1)
    activation: str = "ufixed<8,2>"  # quantized_relu(8,2)
    linear: str = "fixed<8,3>"       # outputs without ReLU (projections, residual sums)
    attention: str = "fixed<8,4>"    # A, the expanded embedding fed to sigma
    sigmoid: str = "ufixed<8,0>"     # sigma table entries
    scale: str = "fixed<8,3>"        # S
    attended: str = "fixed<8,3>"     # V'' = F(V', A, S)

    def format(self, name: str) -> Fixed:
        return Fixed.parse(getattr(self, name))


# the quantizer that realises each format (qmodels.fixed.realisable), and whether it must be unsigned
FORMAT_KINDS = {"input": "bits", "weight": "weight", "bias": "weight", "activation": "relu", "linear": "bits",
                "attention": "bits", "sigmoid": "table", "scale": "bits", "attended": "bits"}
UNSIGNED_FORMATS = ("activation", "sigmoid", "input")


@dataclass
class NetworkSpec:
    name: str
    stages: list
    input_shape: tuple = (224, 224, 3)
    classes: int = 50
    description: str = ""
    quantization: Quantization = field(default_factory=Quantization)
    source: str = "<memory>"

    def with_shape(self, input_shape=None, classes=None) -> "NetworkSpec":
        spec = dataclasses.replace(self, input_shape=tuple(input_shape or self.input_shape),
                                   classes=int(classes or self.classes))
        validate(spec)
        return spec


def builtin_names() -> list:
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def load_spec(name_or_path) -> NetworkSpec:
    """A built-in name (``attendnet-a``) or the path of a YAML spec file."""
    if not str(name_or_path).strip():
        raise SpecError(f"empty model name: built-in models are {', '.join(builtin_names())}, or give the path of "
                        "a spec .yaml file")
    path = Path(name_or_path)
    if path.is_dir():
        raise SpecError(f"{path}: is a folder; expected a built-in model name or a spec .yaml file")
    if not path.suffix and not path.exists():
        path = SPEC_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SpecError(f"unknown model {str(name_or_path)!r}: built-in models are {', '.join(builtin_names())}, "
                            "or give the path of a spec .yaml file")
    if not path.exists():
        raise SpecError(f"{path}: no such spec file")
    try:
        data = strict_yaml.load(path)
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file; expected a spec .yaml file") from None
    return parse_spec(data, source=str(path))


def parse_spec(data, source: str = "<memory>") -> NetworkSpec:
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec is a mapping with 'name' and 'stages', got {type(data).__name__}")
    known = {"name", "stages", "input_shape", "classes", "description", "quantization"}
    _reject_unknown(data, known, f"{source}")
    for key in ("name", "stages"):
        if key not in data:
            raise SpecError(f"{source}: missing field '{key}'")
    if not isinstance(data["stages"], list) or not data["stages"]:
        raise SpecError(f"{source}: field 'stages' must be a non-empty list")
    stages = [_parse_stage(entry, i, source) for i, entry in enumerate(data["stages"])]
    quant = _parse_quantization(data.get("quantization") or {}, source)
    shape = data.get("input_shape", [224, 224, 3])
    if not (isinstance(shape, (list, tuple)) and len(shape) == 3 and all(_is_pos_int(v) for v in shape)):
        raise SpecError(f"{source}: field 'input_shape' must be three positive integers [H, W, C], got {shape!r}")
    _check_name(data["name"], source)
    spec = NetworkSpec(name=data["name"], stages=stages, input_shape=tuple(shape),
                       classes=data.get("classes", 50), description=str(data.get("description", "")),
                       quantization=quant, source=source)
    validate(spec)
    return spec


# a spec's name becomes the Keras model's, the top function's and the project files' names
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def _check_name(name, source: str) -> None:
    """Before anything is built or written: the name ends up in file names and C identifiers."""
    if not (isinstance(name, str) and NAME_RE.match(name)):
        shown = repr(name) if len(repr(name)) <= 80 else f"{repr(name)[:60]}... ({len(str(name))} characters)"
        raise SpecError(f"{source}: field 'name': expected 1 to 64 letters, digits, '_' or '-', starting with a "
                        f"letter, got {shown}")


def _is_pos_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _reject_unknown(mapping: dict, known, where: str):
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise SpecError(f"{where}: unknown field '{unknown[0]}'; expected one of {', '.join(sorted(known))}")


def _parse_stage(entry, index: int, source: str):
    where = f"{source}: stages[{index}]"
    if not (isinstance(entry, dict) and len(entry) == 1):
        raise SpecError(f"{where}: a stage is a one-key mapping like {{conv: {{filters: 32}}}}, got {entry!r}")
    kind, params = next(iter(entry.items()))
    if kind not in STAGE_KINDS:
        raise SpecError(f"{where}: unknown stage kind '{kind}'; expected one of {', '.join(STAGE_KINDS)}")
    params = params or {}
    where = f"{where} ({kind})"
    if not isinstance(params, dict):
        raise SpecError(f"{where}: fields must be a mapping, got {params!r}")
    cls = STAGE_KINDS[kind]
    _reject_unknown(params, [f.name for f in fields(cls)], where)
    for f in fields(cls):
        if f.name not in params:
            if f.default is dataclasses.MISSING:
                raise SpecError(f"{where}: missing field '{f.name}'")
            continue
        _check_field(where, f, params[f.name])
    return cls(**params)


def _check_field(where: str, f, value):
    if f.name == "activation":
        if value not in ACTIVATIONS:
            raise SpecError(f"{where}: field 'activation' must be one of {', '.join(ACTIVATIONS)}, got {value!r}")
    elif f.name == "per_channel_scale":
        if not isinstance(value, bool):
            raise SpecError(f"{where}: field 'per_channel_scale' must be true or false, got {value!r}")
    elif not (_is_pos_int(value) or (value is None and f.name == "out")):
        raise SpecError(f"{where}: field '{f.name}' must be a positive integer, got {value!r}")


def _parse_quantization(data, source: str) -> Quantization:
    where = f"{source}: quantization"
    if not isinstance(data, dict):
        raise SpecError(f"{where}: must be a mapping of format names to 'fixed<W,I>' strings")
    _reject_unknown(data, [f.name for f in fields(Quantization)], where)
    for key, value in data.items():
        try:
            fmt = Fixed.parse(value)
        except ValueError as err:
            raise SpecError(f"{where}: field '{key}': {err}") from None
        if key in UNSIGNED_FORMATS and fmt.signed:
            raise SpecError(f"{where}: field '{key}' must be unsigned (ufixed<W,I>), got {value!r}")
        problem = realisable(fmt, FORMAT_KINDS[key])
        if problem:
            raise SpecError(f"{where}: field '{key}': {problem}")
    return Quantization(**data)


def validate(spec: NetworkSpec) -> None:
    """Walk the stages with the tensor shape; raise SpecError at the first impossible stage."""
    if not _is_pos_int(spec.classes) or spec.classes > MAX_CLASSES:
        raise SpecError(f"{spec.source}: field 'classes' must be a positive integer up to {MAX_CLASSES}, "
                        f"got {spec.classes!r}")
    h, w, c = spec.input_shape
    if max(h, w) > 4096 or c > MAX_CHANNELS:
        raise SpecError(f"{spec.source}: field 'input_shape' must be at most [4096, 4096, {MAX_CHANNELS}], "
                        f"got {list(spec.input_shape)}")
    flat = False
    for i, stage in enumerate(spec.stages):
        kind = next(k for k, cls in STAGE_KINDS.items() if isinstance(stage, cls))
        where = f"{spec.source}: stages[{i}] ({kind})"
        if flat and kind != "dense":
            raise SpecError(f"{where}: only 'dense' stages may follow global_avg_pool or dense")
        if not flat and kind == "dense":
            raise SpecError(f"{where}: a dense stage needs a vector; put global_avg_pool before it")
        h, w, c, flat = _next_shape(stage, where, h, w, c, flat)
    _require(c * spec.classes <= MAX_WEIGHTS, spec.source, "classes", f"a classifier of {c * spec.classes:,} "
             f"weights on {c} channels; at most {MAX_WEIGHTS:,} per layer")
    if not flat:
        raise SpecError(f"{spec.source}: the stages must end in global_avg_pool (optionally followed by dense) "
                        "so the classifier sees a vector")


def _require(cond: bool, where: str, field_name: str, message: str):
    if not cond:
        raise SpecError(f"{where}: field '{field_name}': {message}")


def _spatial(where, h, w, kernel, stride):
    _require(kernel % 2 == 1, where, "kernel", f"must be odd ('same' padding), got {kernel}")
    _require(stride <= max(h, w, 2), where, "stride", f"{stride} is larger than the {h}x{w} input (only its first "
                                                      "pixel would be read); at most the input's larger side, or 2")
    return math.ceil(h / stride), math.ceil(w / stride)


# Bounds that keep a spec buildable on this machine, checked before TensorFlow allocates anything (a
# 10^9-filter conv is an out-of-memory error deep inside TensorFlow otherwise).
MAX_KERNEL = 31
MAX_CHANNELS = 4096        # any stage's channels, as the input's
MAX_FACTOR = 64            # depthwise multiplier, bottleneck expansion
MAX_WEIGHTS = 2 ** 24      # one layer's weights: 16 MiB at 8 bits, over 3x the on-chip memory of any board here
MAX_CLASSES = 100_000


def _largest_layer(stage, c) -> int:
    """The weight count of a stage's largest layer on c input channels."""
    if isinstance(stage, Conv):
        return stage.kernel ** 2 * (c // stage.groups) * stage.filters
    if isinstance(stage, DWConv):
        return stage.kernel ** 2 * c * stage.multiplier
    if isinstance(stage, VAC):
        return max(c * stage.mix, 9 * (stage.mix // stage.groups) * stage.embed, stage.embed * stage.mix,
                   stage.mix * (stage.out or c))
    if isinstance(stage, PEPE):
        return max(c * stage.project, stage.kernel ** 2 * stage.project * stage.multiplier,
                   stage.project * stage.multiplier * stage.project2, stage.project2 * stage.out)
    if isinstance(stage, Bottleneck):
        return max(c * c * stage.expansion, 9 * c * stage.expansion, c * stage.expansion * stage.out)
    if isinstance(stage, Dense):
        return c * stage.units
    return 0


def _check_size(stage, where, c) -> None:
    kernel = getattr(stage, "kernel", 1)
    _require(kernel <= MAX_KERNEL, where, "kernel", f"at most {MAX_KERNEL}, got {kernel}")
    for name in ("filters", "mix", "embed", "out", "project", "project2", "units"):
        value = getattr(stage, name, None)
        _require(value is None or value <= MAX_CHANNELS, where, name, f"at most {MAX_CHANNELS} channels, got {value}")
    for name in ("multiplier", "expansion"):
        value = getattr(stage, name, None)
        _require(value is None or value <= MAX_FACTOR, where, name, f"at most {MAX_FACTOR}, got {value}")
    weights = _largest_layer(stage, c)
    _require(weights <= MAX_WEIGHTS, where, next(f.name for f in fields(stage)) if fields(stage) else "size",
             f"a layer of {weights:,} weights on {c} input channels; at most {MAX_WEIGHTS:,} per layer")


def _next_shape(stage, where, h, w, c, flat):
    _check_size(stage, where, c)
    if isinstance(stage, Conv):
        _require(c % stage.groups == 0, where, "groups", f"{stage.groups} does not divide the {c} input channels")
        _require(stage.filters % stage.groups == 0, where, "groups",
                 f"{stage.groups} does not divide the {stage.filters} filters")
        h, w = _spatial(where, h, w, stage.kernel, stage.stride)
        return h, w, stage.filters, flat
    if isinstance(stage, DWConv):
        h, w = _spatial(where, h, w, stage.kernel, stage.stride)
        return h, w, c * stage.multiplier, flat
    if isinstance(stage, VAC):
        if min(h, w) < 2:
            raise SpecError(f"{where}: its input is {h}x{w}; a VAC pools 2x2 and needs at least 2x2 (a larger "
                            "'input_shape', or fewer strides before it)")
        _require(stage.mix % stage.groups == 0, where, "groups", f"{stage.groups} does not divide mix={stage.mix}")
        _require(stage.embed % stage.groups == 0, where, "groups", f"{stage.groups} does not divide embed={stage.embed}")
        return h, w, stage.out or c, flat
    if isinstance(stage, PEPE):
        h, w = _spatial(where, h, w, stage.kernel, stage.stride)
        return h, w, stage.out, flat
    if isinstance(stage, Bottleneck):
        h, w = _spatial(where, h, w, 3, stage.stride)
        return h, w, stage.out, flat
    if isinstance(stage, MaxPool):
        _require(h >= stage.size and w >= stage.size, where, "size",
                 f"{stage.size} is larger than the {h}x{w} input")
        return h // stage.size, w // stage.size, c, flat
    if isinstance(stage, GlobalAvgPool):
        return 1, 1, c, True
    return 1, 1, stage.units, True
