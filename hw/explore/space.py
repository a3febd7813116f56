"""The search space of ``attendnets explore``: AttendNet-style spec mappings (qmodels/spec.py) made
from a trial's parameters.

Every trial samples the same fixed set of parameters (all MAX_BLOCKS block slots, used or not), so
the sampler's model covers the whole space and no parameter appears or vanishes between trials.
What varies: the stem (filters, stride), the number of blocks (MIN_BLOCKS..MAX_BLOCKS) and the
kind of each (VAC or PEPE, in any order: placement), each block's widths, VAC groups and scalar or
per-channel scale, PEPE channel multiplier and stride, an optional 1x1 head, and the weight and
activation formats.  ``spec_from_params`` maps any parameter set to a valid spec: all widths are
multiples of 4, so every group count divides them, and a stride that would leave fewer than two
pixels (no room for a VAC's 2x2 pool) becomes 1.  It is a pure function, so a front member is
rebuilt from its parameters alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from qmodels.spec import parse_spec

MIN_BLOCKS, MAX_BLOCKS = 1, 5


@dataclass(frozen=True)
class Space:
    """The choices of each parameter; the default is the space of the issue's Fashion-MNIST search."""
    stem_filters: tuple = (8, 12, 16, 24, 32)
    stem_stride: tuple = (1, 2)
    blocks: tuple = (2, 5)                       # inclusive range
    kinds: tuple = ("vac", "pepe")
    widths: tuple = (8, 12, 16, 24, 32, 48)      # VAC mix/embed, PEPE project/project2
    outs: tuple = (16, 24, 32, 48, 64, 96)       # PEPE out
    groups: tuple = (1, 2, 4)
    multipliers: tuple = (1, 2)
    strides: tuple = (1, 2)
    head: tuple = (0, 64, 96, 128, 160)          # 1x1 conv before pooling; 0: none
    weight_bits: tuple = (4, 6, 8)
    activation_bits: tuple = (6, 8)
    input_shape: tuple = (32, 32, 1)
    classes: int = 10

    def __post_init__(self):
        low, high = self.blocks if len(self.blocks) == 2 else (0, -1)
        if not MIN_BLOCKS <= low <= high <= MAX_BLOCKS:
            raise ValueError(f"field 'blocks' must be [low, high] with {MIN_BLOCKS} <= low <= high <= {MAX_BLOCKS}, "
                             f"got {list(self.blocks)}")

    @classmethod
    def load(cls, path, **fixed) -> "Space":
        """A space from a YAML mapping of some of the fields above (--space FILE); ``fixed`` fields win."""
        import dataclasses

        import yaml

        from qmodels import strict_yaml

        where = f"--space {path}"
        try:
            data = strict_yaml.load(path)
        except (OSError, yaml.YAMLError) as err:
            raise ValueError(f"{where}: cannot read it: {err}") from None
        known = [f.name for f in dataclasses.fields(cls) if f.name not in (*fixed, "input_shape", "classes")]
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a mapping of {', '.join(known)}")
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{where}: unknown field '{key}'; expected one of {', '.join(known)}")
            if not (isinstance(value, list) and value and all(_valid_choice(key, v) for v in value)):
                raise ValueError(f"{where}: field '{key}' must be a non-empty list of {_CHOICE_RULES[key][1]}, "
                                 f"got {value!r}")
        try:
            return cls(**{k: tuple(v) for k, v in data.items()}, **fixed)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None

    def smallest(self) -> dict:
        """The parameters of the cheapest network of the space (fewest params and mult-adds)."""
        params = {"stem_filters": min(self.stem_filters), "stem_stride": max(self.stem_stride),
                  "blocks": self.blocks[0], "head": min(self.head), "weight_bits": min(self.weight_bits),
                  "activation_bits": min(self.activation_bits)}
        for i in range(MAX_BLOCKS):
            params.update({f"b{i}_kind": "pepe" if "pepe" in self.kinds else self.kinds[0],
                           f"b{i}_width": min(self.widths), f"b{i}_mid": min(self.widths),
                           f"b{i}_out": min(self.outs), f"b{i}_groups": max(self.groups),
                           f"b{i}_mult": min(self.multipliers), f"b{i}_stride": max(self.strides),
                           f"b{i}_pcs": False})
        return params


_CHOICE_RULES = {
    "stem_filters": (lambda v: _positive(v), "positive integers"),
    "stem_stride": (lambda v: v in (1, 2), "strides 1 or 2"),
    "blocks": (lambda v: isinstance(v, int) and MIN_BLOCKS <= v <= MAX_BLOCKS,
               f"two block counts [low, high] within {MIN_BLOCKS}..{MAX_BLOCKS}"),
    "kinds": (lambda v: v in ("vac", "pepe"), "'vac' or 'pepe'"),
    "widths": (lambda v: _positive(v) and v % 4 == 0, "positive multiples of 4 (every group count divides them)"),
    "outs": (lambda v: _positive(v), "positive integers"),
    "groups": (lambda v: v in (1, 2, 4), "group counts 1, 2 or 4"),
    "multipliers": (lambda v: _positive(v), "positive integers"),
    "strides": (lambda v: v in (1, 2), "strides 1 or 2"),
    "head": (lambda v: isinstance(v, int) and v >= 0, "integers >= 0 (0: no head conv)"),
    "weight_bits": (lambda v: isinstance(v, int) and 2 <= v <= 16, "widths 2..16"),
    "activation_bits": (lambda v: isinstance(v, int) and 4 <= v <= 16, "widths 4..16"),
}


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _valid_choice(key: str, value) -> bool:
    return not isinstance(value, bool) and _CHOICE_RULES[key][0](value)


def sample(trial, space: Space) -> dict:
    """Ask the trial for every parameter of the space (a parameter set for spec_from_params)."""
    pick = trial.suggest_categorical
    params = {"stem_filters": pick("stem_filters", space.stem_filters),
              "stem_stride": pick("stem_stride", space.stem_stride),
              "blocks": trial.suggest_int("blocks", *space.blocks), "head": pick("head", space.head),
              "weight_bits": pick("weight_bits", space.weight_bits),
              "activation_bits": pick("activation_bits", space.activation_bits)}
    for i in range(MAX_BLOCKS):
        for key, options in (("kind", space.kinds), ("width", space.widths), ("mid", space.widths),
                             ("out", space.outs), ("groups", space.groups), ("mult", space.multipliers),
                             ("stride", space.strides), ("pcs", (False, True))):
            params[f"b{i}_{key}"] = pick(f"b{i}_{key}", options)
    return params


def _block(params: dict, i: int, h: int) -> tuple:
    """(stage mapping, spatial size after it) of block slot i on an h x h tensor."""
    p = {k[len(f"b{i}_"):]: v for k, v in params.items() if k.startswith(f"b{i}_")}
    if p["kind"] == "vac":
        return {"vac": {"mix": p["width"], "embed": p["width"], "groups": p["groups"],
                        "per_channel_scale": bool(p["pcs"])}}, h
    stride = p["stride"] if math.ceil(h / p["stride"]) >= 2 else 1
    return {"pepe": {"project": p["width"], "project2": p["mid"], "out": p["out"], "multiplier": p["mult"],
                     "stride": stride}}, math.ceil(h / stride)


def spec_from_params(params: dict, space: Space, name: str) -> dict:
    """The spec mapping (qmodels.spec.parse_spec's input) of a parameter set; validated."""
    h = math.ceil(space.input_shape[0] / params["stem_stride"])
    stages = [{"conv": {"filters": params["stem_filters"], "kernel": 3, "stride": params["stem_stride"]}}]
    for i in range(params["blocks"]):
        stage, h = _block(params, i, h)
        stages.append(stage)
    if params["head"]:
        stages.append({"conv": {"filters": params["head"], "kernel": 1}})
    stages.append({"global_avg_pool": {}})
    wb, ab = params["weight_bits"], params["activation_bits"]
    spec = {"name": name, "description": f"found by attendnets explore ({_describe(stages)})",
            "input_shape": list(space.input_shape), "classes": space.classes, "stages": stages,
            "quantization": {"weight": f"fixed<{wb},1>", "activation": f"ufixed<{ab},2>",
                             "linear": f"fixed<{ab},3>", "attended": f"fixed<{ab},3>"}}
    parse_spec(spec, source=f"explore: {name}")  # a SpecError here is a bug of this module
    return spec


def _describe(stages: list) -> str:
    kinds = [next(iter(s)) for s in stages]
    return f"{kinds.count('vac')} VAC, {kinds.count('pepe')} PEPE: " + " ".join(kinds[1:-1])
