"""Random valid networks and build recipes for the sweep (hw.sim.sweep).

``random_case(seed, index)`` is a pure function of its arguments: the same (seed, index) always
gives the same spec (a qmodels spec mapping, see qmodels/spec.py and qmodels/README.md) and the
same build options, so a failing case is reproduced from its two numbers or from the spec file
the sweep writes.  What varies:

  formats   each of the spec's nine formats, half the time: width 2..16, signed or unsigned
            where the field allows it (input, activation and sigmoid are unsigned), integer bits
            from the smallest QKeras builds (0 unsigned, 1 signed: quantized_bits(W, I-1) needs
            I-1 >= 0) up to 6, so scales below 1 (fixed<W,1>, ufixed<W,0>) and above 1 occur
  shapes    H, W in 5..20 independently (odd, non-square), 1..3 input channels
  stages    a stem conv (kernel 1/3/5, stride 1/2), one or two of vac (groups 1..mix, scalar or
            per-channel S), pepe, grouped conv, depthwise conv, bottleneck, max pool; global
            average pooling, sometimes a hidden dense layer
  classes   1..300 (1 and 300 each about one case in eight)
  build     io stream/parallel, backend vitis/vivado, latency or resource strategy, reuse 1..8,
            board zcu104 (DSP48E2) or pynq-z2 (DSP48E1), activations fused or not, and a multiplier
            policy (lut, dsp, packed, or a random valid choice per layer); with folds drawn, folds
            and ROMs on convolutions and, in io_stream, folded global averages and (on a board with
            URAM) weights in URAM loaded at run time
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_FORMATS = {"input": "ufixed<8,0>", "weight": "fixed<8,1>", "bias": "fixed<8,3>",
                   "activation": "ufixed<8,2>", "linear": "fixed<8,3>", "attention": "fixed<8,4>",
                   "sigmoid": "ufixed<8,0>", "scale": "fixed<8,3>", "attended": "fixed<8,3>"}
UNSIGNED_ONLY = ("input", "activation", "sigmoid")


def random_format(rng, field: str) -> str:
    width = int(rng.integers(2, 17))
    signed = field not in UNSIGNED_ONLY and (field != "scale" or rng.random() < 0.8)
    if field == "input":  # images are fractions of 1: more integer bits only waste width
        return f"ufixed<{width},0>"
    lowest = 1 if signed else 0
    integer = int(rng.integers(lowest, min(width, 6) + 1))
    return f"{'' if signed else 'u'}fixed<{width},{integer}>"


def random_formats(rng) -> dict:
    return {f: random_format(rng, f) for f in DEFAULT_FORMATS if rng.random() < 0.5}


def _divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


def _stage(rng, kind: str, h: int, w: int, c: int):
    """(stage mapping, new h, w, c) of one random stage of ``kind`` on an h x w x c tensor."""
    if kind == "vac":
        groups = int(rng.choice([1, 2, 4]))
        mix, embed = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
        if rng.random() < 0.2:  # groups = channels: a depthwise embedding
            groups = embed = mix
        return {"vac": {"mix": mix, "embed": embed, "groups": groups,
                        "per_channel_scale": bool(rng.random() < 0.5)}}, h, w, c
    stride = int(rng.choice([1, 2]))
    kernel = int(rng.choice([1, 3, 5]))
    nh, nw = math.ceil(h / stride), math.ceil(w / stride)
    if kind == "pepe":
        out = int(rng.integers(4, 13))
        return {"pepe": {"project": int(rng.integers(2, 9)), "project2": int(rng.integers(2, 9)), "out": out,
                         "multiplier": int(rng.integers(1, 3)), "kernel": int(rng.choice([3, 5])),
                         "stride": stride}}, nh, nw, out
    if kind == "conv":
        groups = int(rng.choice(_divisors(c)))
        filters = groups * int(rng.integers(1, 5))
        return {"conv": {"filters": filters, "kernel": kernel, "stride": stride, "groups": groups,
                         "activation": str(rng.choice(["relu", "linear"]))}}, nh, nw, filters
    if kind == "dwconv":
        multiplier = int(rng.integers(1, 3))
        return {"dwconv": {"kernel": kernel, "stride": stride, "multiplier": multiplier}}, nh, nw, c * multiplier
    if kind == "bottleneck":
        out = int(rng.choice([c, int(rng.integers(4, 13))]))
        return {"bottleneck": {"out": out, "expansion": int(rng.integers(2, 4)), "stride": stride}}, nh, nw, out
    return {"maxpool": {"size": 2}}, h // 2, w // 2, c


def _body(rng, h: int, w: int, c: int) -> list:
    stages = []
    for _ in range(int(rng.integers(1, 3))):
        kinds = ["vac", "pepe", "conv", "dwconv", "bottleneck"] + (["maxpool"] if min(h, w) >= 4 else [])
        if min(h, w) < 2:
            kinds.remove("vac")
        stage, h, w, c = _stage(rng, str(rng.choice(kinds)), h, w, c)
        stages.append(stage)
    return stages


def random_spec(rng, name: str) -> dict:
    h, w, c = int(rng.integers(5, 21)), int(rng.integers(5, 21)), int(rng.integers(1, 4))
    kernel, stride = int(rng.choice([1, 3, 5])), int(rng.choice([1, 2]))
    filters = int(rng.integers(4, 13))
    stages = [{"conv": {"filters": filters, "kernel": kernel, "stride": stride}}]
    stages += _body(rng, math.ceil(h / stride), math.ceil(w / stride), filters)
    stages.append({"global_avg_pool": {}})
    if rng.random() < 0.25:
        stages.append({"dense": {"units": int(rng.integers(4, 17))}})
    roll = rng.random()
    classes = 1 if roll < 0.12 else 300 if roll < 0.24 else int(rng.integers(2, 41))
    spec = {"name": name, "description": "random sweep case (hw.sim.sweep_cases)", "input_shape": [h, w, c],
            "classes": classes, "stages": stages}
    formats = random_formats(rng)
    if formats:
        spec["quantization"] = formats
    return spec


MULTIPLIER_POLICIES = ("lut", "dsp", "packed", "mixed")


def random_build(rng) -> dict:
    """BuildConfig fields of a case (besides model and seed), and its multiplier policy, which
    hw.sim.sweep resolves per layer once the model exists (``multipliers_for``)."""
    strategy = str(rng.choice(["latency", "resource"]))
    return {"io": str(rng.choice(["stream", "parallel"])), "backend": str(rng.choice(["vitis", "vivado"])),
            "strategy": strategy, "reuse": int(rng.integers(1, 9)) if strategy == "resource" else 1,
            "board": str(rng.choice(["zcu104", "pynq-z2"], p=[0.75, 0.25])),   # DSP48E2 and DSP48E1 packing
            "fuse_activations": bool(rng.random() < 0.8),
            "multipliers": str(rng.choice(MULTIPLIER_POLICIES, p=[0.4, 0.2, 0.2, 0.2])),
            "folds": bool(rng.random() < 0.4)}     # drawn last: the fields above stay as older sweeps drew them


def multipliers_for(model, policy: str, part: str, types: dict, seed: int, index: int) -> dict:
    """{layer: multiplier} for every layer that can take one under ``policy``: 'dsp' / 'packed'
    everywhere they are valid (packed falling back to dsp), 'mixed' a random valid choice per
    layer, 'lut' nothing (hls4ml's default).  Validity is generation's own check."""
    from hw.config import ConfigError
    from hw.hls.layers.dsp_route import check_multiplier
    from qmodels.reference import input_layer_names

    rng = np.random.default_rng([int(seed), int(index), 7])
    chosen = {}
    for layer in model.layers:
        valid = []
        for multiplier in ("dsp", "packed"):
            try:
                check_multiplier(layer, multiplier, types[input_layer_names(layer)[0]]["result"][0], part)
                valid.append(multiplier)
            except (ConfigError, IndexError, KeyError):
                continue
        if not valid or policy == "lut":
            continue
        if policy == "mixed":
            pick = str(rng.choice(["lut", *valid]))
        else:
            pick = policy if policy in valid else valid[0]
        if pick != "lut":
            chosen[layer.name] = pick
    return chosen


def folds_for(model, multipliers: dict, seed: int, index: int) -> dict:
    """{layer: (reuse, fold, storage)} for about two convolutions in three: a fold F from 2 to 8
    at R = F or 2F (so some steps take one clock and some two), with the weights as constants or
    in a ROM (bram, lutram: R / F taps a clock), that generation accepts with the layer's
    multiplier (group_conv.valid_folds); a ROM no fold fits falls back to constants."""
    from hw.config import STORAGES
    from hw.hls.layers.dsp_route import KERAS_CONVS
    from hw.hls.layers.group_conv import keras_geometry, valid_folds

    rng = np.random.default_rng([int(seed), int(index), 11])
    chosen = {}
    for layer in model.layers:
        if type(layer).__name__ not in KERAS_CONVS or rng.random() < 0.35:
            continue
        per_step, storage = int(rng.integers(1, 3)), str(rng.choice(STORAGES, p=[0.5, 0.3, 0.2]))
        geometry, multiplier = keras_geometry(layer), multipliers.get(layer.name, "lut")
        for storage in dict.fromkeys((storage, "registers")):
            folds = [f for f in range(2, 9) if f in valid_folds(geometry, f * per_step, multiplier, storage)]
            if folds:
                fold = int(rng.choice(folds))
                chosen[layer.name] = (fold * per_step, fold, storage)
                break
    return chosen


def gap_folds_for(model, io: str, seed: int, index: int) -> dict:
    """{layer: fold} for about half the global averages of an io_stream case: a fold F > 1 that
    divides the channels (hw/hls/ops/global_average.py), F = channels (one lane) one time in four.
    Its own random stream, so the convolutions' folds stay as older sweeps drew them."""
    from hw.hls.ops.global_average import IO, valid_folds

    if io != IO:       # a folded global average is an io_stream kernel (refused in io_parallel)
        return {}
    rng = np.random.default_rng([int(seed), int(index), 13])
    chosen = {}
    for layer in model.layers:
        if type(layer).__name__ != "GlobalAveragePooling2D" or rng.random() < 0.5:
            continue
        folds = valid_folds(int(layer.input_shape[-1]))[1:]
        if folds:
            chosen[layer.name] = folds[-1] if rng.random() < 0.25 else int(rng.choice(folds))
    return chosen


def stream_folds_for(model, conv_folds: dict, gap_folds: dict, seed: int, index: int) -> dict:
    """``gap_folds`` with, for about half the folded global averages read from a folded conv (through
    its fused activation), a fold sharing a factor with the conv's, so that the stream between them
    is folded too (hw/hls/ops/stream_fold.py: gcd of the two folds).  Its own random stream."""
    from hw.hls.ops.global_average import valid_folds
    from qmodels.reference import input_layer_names

    rng = np.random.default_rng([int(seed), int(index), 19])
    out = dict(gap_folds)
    for name in gap_folds:
        source = input_layer_names(model.get_layer(name))[0]
        if type(model.get_layer(source)).__name__ == "QActivation":      # the conv's activation, fused
            source = input_layer_names(model.get_layer(source))[0]
        conv_fold = conv_folds.get(source, (1, 1, None))[1]
        shared = [f for f in valid_folds(int(model.get_layer(name).input_shape[-1]))
                  if np.gcd(f, conv_fold) > 1]
        if shared and rng.random() < 0.5:
            out[name] = int(rng.choice(shared))
    return out


def loaded_storages_for(folds: dict, io: str, board: str, seed: int, index: int) -> dict:
    """``folds`` ({layer: (reuse, fold, storage)}) with about half its BRAM ROMs moved to URAM,
    loaded from the weight frame at run time, where the case can have it: io_stream on a board with
    URAM.  URAM takes the same folds as BRAM (R / F taps a clock); its own random stream, so the
    other choices stay as older sweeps drew them."""
    from hw.boards import load_board
    from hw.config import LOADED_STORAGES, loaded_storage_problem

    if loaded_storage_problem(LOADED_STORAGES[0], load_board(board), io):
        return folds
    rng = np.random.default_rng([int(seed), int(index), 17])
    return {name: (reuse, fold, LOADED_STORAGES[0] if storage == "bram" and rng.random() < 0.5 else storage)
            for name, (reuse, fold, storage) in folds.items()}


def random_case(seed: int, index: int) -> dict:
    """{"name", "spec", "build"} of case ``index`` of the sweep seeded with ``seed``."""
    rng = np.random.default_rng([int(seed), int(index)])
    name = f"sweep-s{seed}-c{index}"
    return {"name": name, "spec": random_spec(rng, name), "build": random_build(rng)}
