"""QKeras model -> hls4ml model -> a complete, movable HLS project folder.

``generate(config, out)`` is the whole step: the software model (trained checkpoint or seeded
weights), exact types for every layer (hw.hls.precision), hls4ml conversion with our extension,
branch FIFO depths (hw.hls.fifo), the bit-exact test bench with tb_data from the exact reference,
the model itself (keras/model.h5) and the resolved recipe (attendnets.yaml).
"""
from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from hw.hls import project as P
from hw.hls import testbench
from hw.boards import load_board
from hw.config import BuildConfig
from hw.hls.precision import CONV_LIKE, derive, hls_type

CANARY = "ap_fixed<3,2>"  # hls4ml's fallback type; no layer may end up with it
RESOLVED = "attendnets.yaml"
KERAS_FILE = "keras/model.h5"


@dataclass
class SoftwareModel:
    model: object
    images: np.ndarray
    labels: object
    provenance: dict


def software_model(cfg: BuildConfig) -> SoftwareModel:
    """The QKeras model and test-bench images: trained checkpoint and its validation images, or
    seeded (calibrated) weights and seeded synthetic images."""
    from qmodels.reference import synthetic_images

    if cfg.weights:
        from qmodels.data import sample_images
        from qmodels.train import load_checkpoint

        model, info = load_checkpoint(cfg.weights)
        shape = list(model.input_shape[1:])
        if cfg.input_shape and list(cfg.input_shape) != shape:
            raise ValueError(f"--input-shape {cfg.input_shape} differs from the checkpoint's {shape} ({cfg.weights})")
        images, labels, _ = sample_images(cfg.weights, cfg.samples)
        return SoftwareModel(model, np.asarray(images, np.float64), labels,
                             {"weights": "trained", "checkpoint": Path(cfg.weights).name,
                              "epoch": info.get("epoch"), "dataset": (info.get("dataset") or {}).get("name")})
    from qmodels.build import build_model

    model = build_model(cfg.model, input_shape=cfg.input_shape, classes=cfg.classes, seed=cfg.seed)
    images = synthetic_images(cfg.samples, model.input_shape[1:], seed=cfg.seed + 1)
    return SoftwareModel(model, images, None,
                         {"weights": "seeded", "seed": cfg.seed,
                          "note": "seeded, calibrated weights: not trained; use --weights CHECKPOINT for trained ones"})


def project_name(cfg: BuildConfig, model) -> str:
    name = cfg.project_name or model.name
    name = re.sub(r"\W", "_", name)
    return name if re.match(r"[A-Za-z_]", name) else f"m_{name}"


def _matrix(layer) -> tuple:
    """(n_in, n_out) of the matrix-vector product hls4ml's resource kernels compute for a layer."""
    if type(layer).__name__ == "QDense":
        return int(layer.kernel.shape[0]), int(layer.kernel.shape[1])
    kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
    return kh * kw * cin, cout


def valid_reuse(backend_name: str, layer, wanted: int) -> int:
    """hls4ml's closest valid reuse factor for a QConv2D/QDense under the resource strategy.

    hls4ml corrects an invalid one itself, but its pointwise-conv pass then rebuilds 1x1 convs
    from the configuration and puts the invalid one back (hls4ml #867), and the firmware aborts
    ("The current Reuse Factor is not allowed").  Writing the valid factor into the
    configuration makes every pass see the same, valid, value.
    """
    from hls4ml.backends import get_backend

    backend = get_backend(backend_name)
    n_in, n_out = _matrix(layer)
    if backend._validate_reuse_factor(n_in, n_out, wanted):
        return wanted
    return backend.get_closest_reuse_factor(backend.get_valid_reuse_factors(n_in, n_out), wanted)


def hls_config(model, types: dict, cfg: BuildConfig, trace: bool = False) -> dict:
    """hls4ml's configuration: every layer's types explicit (derived), reuse and strategy per layer."""
    strategy = cfg.strategy.capitalize()
    layers = {}
    for layer in model.layers:
        t = types[layer.name]
        precision = {"result": hls_type(*t["result"])}
        if "accum" in t:
            precision["accum"] = hls_type(t["accum"])
        override = cfg.layers.get(layer.name)
        entry = {"Precision": {**precision, **(override.precision if override else {})},
                 "ReuseFactor": (override.reuse if override and override.reuse else cfg.reuse),
                 "Strategy": (override.strategy.capitalize() if override and override.strategy else strategy),
                 "Trace": trace}
        if cfg.io == "parallel" and type(layer).__name__ == "QDepthwiseConv2D":
            entry["Strategy"] = "Latency"  # hls4ml 1.3 has no Resource depthwise in io_parallel
        if entry["Strategy"] == "Resource" and type(layer).__name__ in ("QConv2D", "QDense"):
            entry["ReuseFactor"] = valid_reuse(cfg.backend.capitalize(), layer, entry["ReuseFactor"])
        layers[layer.name] = entry
        if type(layer).__name__ in CONV_LIKE:
            # hls4ml adds '<name>_linear' after these; equal types let it remove that layer again
            layers[f"{layer.name}_linear"] = {"Precision": {"result": entry["Precision"]["result"]}}
    return {"Model": {"Precision": CANARY, "ReuseFactor": cfg.reuse, "Strategy": strategy},
            "LayerName": layers}


def convert(model, cfg: BuildConfig, output_dir: Path, name: str, trace: bool = False):
    """The hls4ml model, checked so that no layer kept hls4ml's fallback type; ``trace`` makes
    every layer's output available to hls4ml's ``trace`` (for finding a divergence)."""
    import hls4ml

    import hw

    hw.register()
    board = load_board(cfg.board)
    with warnings.catch_warnings():
        # hls4ml 1.3's pointwise pass re-sets 'strategy' only to change its capitalisation
        warnings.filterwarnings("ignore", message="Overriding attribute 'strategy'")
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, output_dir=str(output_dir), project_name=name, backend=cfg.backend.capitalize(),
            io_type=f"io_{cfg.io}", hls_config=hls_config(model, derive(model), cfg, trace), part=board.part,
            clock_period=cfg.clock_ns or board.clock_ns)
    untyped = sorted({layer.name for layer in hls_model.get_layers() for t in layer.types.values()
                      if str(t.precision) == CANARY.replace("ap_", "")})
    if untyped:
        raise RuntimeError(f"no exact type was derived for hls4ml layers {', '.join(untyped)}; "
                           "hw.hls.precision needs a rule for them")
    return hls_model


def output_lsb(hls_model) -> float:
    return 2.0 ** -int(hls_model.get_output_variables()[0].type.precision.fractional)


def generate(cfg: BuildConfig, out, force: bool = False) -> tuple:
    """Write the project for ``cfg`` to ``out``; returns (path, 'created'|'unchanged'|'replaced')."""
    from qmodels.reference import Reference

    out = Path(out)
    cfg.validate()
    board = load_board(cfg.board)  # fail on a bad board before minutes of model building
    sw = software_model(cfg)
    name = project_name(cfg, sw.model)
    staging = P.staging_dir(out)
    try:
        hls_model = convert(sw.model, cfg, staging, name)
        depths = apply_fifo_depths(hls_model, sw.model) if cfg.io == "stream" else {}
        hls_model.write()
        drop_hls4ml_leftovers(staging)
        expected = Reference(sw.model).run(sw.images)
        testbench.write_tb_data(staging, sw.images, expected, sw.labels)
        (staging / f"{name}_test.cpp").write_text(testbench.render(hls_model, name, output_lsb(hls_model)))
        from hw.vendor.axi import write_accelerator  # AXI-Stream top, bridge, accelerator.yaml, vendor Tcl
        write_accelerator(staging, hls_model, name, board, cfg)
        (staging / KERAS_FILE).parent.mkdir(exist_ok=True)
        with warnings.catch_warnings():  # HDF5 on purpose: QKeras models do not load from .keras
            warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")
            sw.model.save(staging / KERAS_FILE)
        resolved = resolved_config(cfg, board, sw, hls_model, name, depths)
        (staging / RESOLVED).write_text(yaml.safe_dump(resolved, sort_keys=False))
        P.assert_relocatable(staging, str(staging.resolve()), str(out.resolve()))
        P.write_manifest(staging)
        return out, P.install(staging, out, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def drop_hls4ml_leftovers(project: Path) -> None:
    """Files of hls4ml's in-Python flow that a movable, reproducible project cannot carry:
    its config dump and model copy (absolute paths; attendnets.yaml and keras/model.h5 replace
    them) and build_lib.sh (a random library stamp on every write; hw.sim.csim builds the library)."""
    for leftover in ("hls4ml_config.yml", "keras_model.keras", "build_lib.sh"):
        (project / leftover).unlink(missing_ok=True)


def apply_fifo_depths(hls_model, model) -> dict:
    """Branch FIFO depths from the layer geometry (hw.hls.fifo) instead of hls4ml's whole tensor."""
    from hw.hls.fifo import hls_stream_depths

    depths = hls_stream_depths(hls_model, model)
    for name, depth in depths.items():
        hls_model.output_vars[name].pragma = ("stream", int(depth))
    return depths


def resolved_config(cfg: BuildConfig, board, sw: SoftwareModel, hls_model, name: str, depths: dict) -> dict:
    layers = {layer.name: {"class": layer.class_name, "reuse_factor": layer.get_attr("reuse_factor"),
                           "strategy": layer.get_attr("strategy"),
                           "types": {k: str(t.precision) for k, t in layer.types.items()}}
              for layer in hls_model.get_layers()}
    io = {"input_type": str(hls_model.get_input_variables()[0].type.precision),
          "output_type": str(hls_model.get_output_variables()[0].type.precision)}
    return {"attendnets_project": 1, "project_name": name, "io": io, "build": cfg.to_dict(),
            "board": {"name": board.name, "part": board.part, "clock_ns": cfg.clock_ns or board.clock_ns},
            "software_model": {**sw.provenance, "file": KERAS_FILE,
                               "input_shape": [int(v) for v in sw.model.input_shape[1:]],
                               "classes": int(sw.model.output_shape[-1])},
            "testbench": {"samples": int(len(sw.images)), "output_lsb": output_lsb(hls_model),
                          "labels": sw.labels is not None},
            "fifo_depths": {k: int(v) for k, v in depths.items()}, "layers": layers}


def load_resolved(project) -> dict:
    path = Path(project) / RESOLVED
    if not path.exists():
        raise FileNotFoundError(f"{project}: not an attendnets project (no {RESOLVED}); run 'attendnets generate'")
    return yaml.safe_load(path.read_text())
