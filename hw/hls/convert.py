"""QKeras model -> hls4ml model -> a complete, movable HLS project folder.

``generate(config, out)`` is the whole step: the software model (trained checkpoint or seeded
weights), exact types for every layer (hw.hls.precision), hls4ml conversion with our extension,
branch FIFO depths (hw.hls.fifo), the bit-exact test bench with tb_data from the exact reference,
the model itself (keras/model.h5) and the resolved recipe (attendnets.yaml).
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from qmodels.project_record import FILE as RESOLVED, ProjectRecord, ProjectRecordError
from hw.hls import project as P
from hw.hls import testbench
from hw.boards import load_board
from hw.config import BuildConfig, ConfigError
from hw.hls.hls4ml_reuse import RESOURCE_MATRIX, forced_strategy, setting_changes, valid_reuse
from hw.hls.fuse import fused_pairs, unfused_reasons
from hw.hls.layers.fuse_quantizer import CONFIG_KEY as FUSE_KEY
from hw.hls.precision import CONV_LIKE, derive, hls_type
from qmodels.reference import input_layer_names

CANARY = "ap_fixed<3,2>"  # hls4ml's fallback type; no layer may end up with it
KERAS_FILE = "keras/model.h5"
SPEC_FILE = "spec.yaml"  # a copy of the model's spec, so the project stands alone
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class ProjectFileError(ValueError):
    """A project file that is missing or unreadable; the message names the file."""


@dataclass
class SoftwareModel:
    model: object
    images: np.ndarray
    labels: object
    provenance: dict
    spec_text: Optional[str] = None   # the spec as the user wrote it (copied into the project)
    model_name: Optional[str] = None  # what the project records as 'model': a built-in name or SPEC_FILE


def software_model(cfg: BuildConfig) -> SoftwareModel:
    """The QKeras model and test-bench images: trained checkpoint and its validation images, or
    seeded (calibrated) weights and seeded synthetic images."""
    from qmodels.reference import synthetic_images

    if cfg.weights:
        return _trained(cfg)
    from qmodels.build import build_model

    spec, text = read_spec(cfg.model)
    model = build_model(spec, input_shape=cfg.input_shape, classes=cfg.classes, seed=cfg.seed)
    images = synthetic_images(cfg.samples, model.input_shape[1:], seed=cfg.seed + 1)
    return SoftwareModel(model, images, None,
                         {"weights": "seeded", "seed": cfg.seed,
                          "note": "seeded, calibrated weights: not trained; use --weights CHECKPOINT for trained ones"},
                         text, _recorded_name(cfg.model))


def read_spec(model: str) -> tuple:
    """(NetworkSpec, its YAML text) of a built-in name or a spec file."""
    from qmodels.spec import load_spec

    path = Path(model)
    if path.is_dir():
        raise ConfigError(f"model {model}: is a folder; expected a built-in model name or a spec .yaml file")
    try:
        spec = load_spec(model)
    except UnicodeDecodeError:
        raise ConfigError(f"model {model}: not a text file; expected a spec .yaml file") from None
    return spec, Path(spec.source).read_text()


def _recorded_name(model: str) -> str:
    from qmodels.spec import builtin_names

    return model if model in builtin_names() and not Path(model).exists() else SPEC_FILE


def _spec_key(spec) -> tuple:
    """What makes two specs the same network, whatever their names, input sizes and class counts."""
    return ([(type(s).__name__, dataclasses.asdict(s)) for s in spec.stages], dataclasses.asdict(spec.quantization))


def _trained(cfg: BuildConfig) -> SoftwareModel:
    """A checkpoint's model and validation images."""
    from qmodels.data import sample_images

    model, info = trained_model(cfg)
    images, labels, _ = sample_images(cfg.weights, cfg.samples)
    return SoftwareModel(model, np.asarray(images, np.float64), labels,
                         {"weights": "trained", "checkpoint": Path(cfg.weights).name,
                          "epoch": info.get("epoch"), "dataset": (info.get("dataset") or {}).get("name")},
                         yaml.safe_dump(info["spec"], sort_keys=False), _recorded_name(str(info["model"])))


def trained_model(cfg: BuildConfig) -> tuple:
    """(model, checkpoint info) of cfg.weights; a model, class count or input shape that disagrees
    with the checkpoint is an error."""
    from qmodels.spec import parse_spec
    from qmodels.train import load_checkpoint, read_info

    info = read_info(cfg.weights)
    held = parse_spec(info["spec"], source=f"{cfg.weights}: spec")
    if cfg.model is not None and _spec_key(read_spec(cfg.model)[0]) != _spec_key(held):
        raise ConfigError(f"model {cfg.model!r} conflicts with --weights {cfg.weights}, which holds a trained "
                          f"{held.name}; omit the model to use the checkpoint's")
    if cfg.classes is not None and cfg.classes != held.classes:
        raise ConfigError(f"classes {cfg.classes} (--classes) conflicts with --weights {cfg.weights}, trained for "
                          f"{held.classes} classes; omit --classes")
    if cfg.input_shape is not None and list(cfg.input_shape) != list(held.input_shape):
        raise ConfigError(f"input shape {','.join(map(str, cfg.input_shape))} (--input-shape) conflicts with "
                          f"--weights {cfg.weights}, trained at {','.join(map(str, held.input_shape))}; "
                          "omit --input-shape")
    return load_checkpoint(cfg.weights)


def check_layer_overrides(cfg: BuildConfig, model) -> None:
    """Every per-layer override must name a layer of the model: a misspelt one would be dropped silently."""
    names = [layer.name for layer in model.layers]
    for name in cfg.layers:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f"close names: {', '.join(close)}" if close else f"its layers: {', '.join(names)}"
            raise ConfigError(f"field 'layers.{name}': {model.name} has no layer of that name; {hint}")


def project_name(cfg: BuildConfig, model) -> str:
    name = cfg.project_name or model.name
    name = re.sub(r"\W", "_", name)
    return name if re.match(r"[A-Za-z_]", name) else f"m_{name}"


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
        forced = forced_strategy(layer, cfg.io)
        entry = {"Precision": {**precision, **(override.precision if override else {})},
                 "ReuseFactor": cfg.requested(layer.name, "reuse")[0],
                 "Strategy": (forced[0] if forced else cfg.requested(layer.name, "strategy")[0]).capitalize(),
                 "Trace": trace}
        if entry["Strategy"] == "Resource" and type(layer).__name__ in RESOURCE_MATRIX:
            entry["ReuseFactor"] = valid_reuse(cfg.backend.capitalize(), layer, entry["ReuseFactor"], cfg.io)
        if override and override.multiplier:
            from hw.hls.layers.dsp_route import check_multiplier  # imports hls4ml

            check_multiplier(layer, override.multiplier, types[input_layer_names(layer)[0]]["result"][0],
                             load_board(cfg.board).part)
            entry["Multiplier"] = override.multiplier  # hw/hls/layers/dsp_route.py, group_conv.py
        if override and (override.fold or 1) > 1 or override and (override.storage or "registers") != "registers":
            from hw.hls.layers import global_average  # imports hls4ml
            from hw.hls.layers.dsp_route import check_fold

            storage = override.storage or "registers"
            if type(layer).__name__ in global_average.KERAS_CLASSES:  # our folded one (layers/global_average.py)
                entry["Fold"] = global_average.check_config(layer, override.fold or 1, storage, cfg.io)
            else:
                check_fold(layer, override.fold or 1, entry["ReuseFactor"], override.multiplier or "lut", storage)
                entry.update(Fold=override.fold or 1, WeightStorage=storage)  # our grouped conv (layers/group_conv.py)
        layers[layer.name] = entry
        if type(layer).__name__ in CONV_LIKE:
            # hls4ml adds '<name>_linear' after these; equal types let it remove that layer again
            layers[f"{layer.name}_linear"] = {"Precision": {"result": entry["Precision"]["result"]}}
    for activation, producer in fused_pairs(model, cfg.fuse_activations).items():
        layers[activation][FUSE_KEY] = producer  # hw/hls/layers/fuse_quantizer.py removes it
    return {"Model": {"Precision": CANARY, "ReuseFactor": cfg.reuse, "Strategy": strategy},
            "LayerName": layers}


def convert(model, cfg: BuildConfig, output_dir: Path, name: str, trace: bool = False, types: dict = None):
    """The hls4ml model, checked so that no layer kept hls4ml's fallback type; ``trace`` makes
    every layer's output available to hls4ml's ``trace`` (for finding a divergence); ``types``:
    ``derive(model)`` when the caller has it already."""
    import hls4ml

    from hw.hls.extension import register

    register()
    board = load_board(cfg.board)
    with warnings.catch_warnings():
        # hls4ml 1.3's pointwise pass re-sets 'strategy' only to change its capitalisation
        warnings.filterwarnings("ignore", message="Overriding attribute 'strategy'")
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, output_dir=str(output_dir), project_name=name, backend=cfg.backend.capitalize(),
            io_type=f"io_{cfg.io}", hls_config=hls_config(model, types or derive(model), cfg, trace),
            part=board.part, clock_period=cfg.clock_ns or board.clock_ns)
    untyped = sorted({layer.name for layer in hls_model.get_layers() for t in layer.types.values()
                      if str(t.precision) == CANARY.replace("ap_", "")})
    if untyped:
        raise RuntimeError(f"no exact type was derived for hls4ml layers {', '.join(untyped)}; "
                           "hw.hls.precision needs a rule for them")
    return hls_model


def output_lsb(hls_model) -> float:
    return 2.0 ** -int(hls_model.get_output_variables()[0].type.precision.fractional)


class Generated(tuple):
    """``(path, status)`` of ``generate``; ``installed`` tells what --force kept (hw.hls.project.Installed);
    ``model`` and ``types`` (derive(model)) are what the command's estimate prices (generation itself
    imports nothing of the later stages: hw.estimate.cli.generation_summary)."""

    def __new__(cls, path: Path, installed: P.Installed, model=None, types: dict = None):
        self = super().__new__(cls, (path, installed.status))
        self.installed = installed
        self.model, self.types = model, types
        return self


def design_notes(cfg: BuildConfig, model, types: dict, changes=()) -> None:
    """Warns (the project is written anyway: users may synthesize) for every layer whose reuse factor or
    strategy is not the one requested (``changes``, see hw.hls.hls4ml_reuse.setting_changes), and for
    layers where Keras' float32 model cannot be exact (``types``: derive(model), as the project was
    generated with)."""
    from hw.hls.precision import float32_inexact_layers

    for change in changes:
        warnings.warn(change.note())
    inexact = float32_inexact_layers(types)
    if inexact:
        names = ", ".join(f"{name} ({bits} bits)" for name, bits in inexact[:4])
        warnings.warn(f"{len(inexact)} layers accumulate more than float32's 24-bit significand ({names}"
                      f"{' ...' if len(inexact) > 4 else ''}): Keras' predict is not exact there; the C++ is "
                      "compared with the exact reference, and csim reports Keras' disagreement")


def generate(cfg: BuildConfig, out, force: bool = False) -> Generated:
    """Write the project for ``cfg`` to ``out``; returns (path, 'created'|'unchanged'|'replaced').

    Built in a staging folder next to ``out`` and moved into place whole: an error or Ctrl-C
    leaves ``out`` as it was and no staging folder behind."""
    from qmodels.reference import Reference

    out = Path(out)
    cfg.validate()
    board = load_board(cfg.board)  # fail on a bad board before minutes of model building
    P.check_replaceable(out, None, force)  # and on a refusal, or a folder we cannot write in
    staging = P.staging_dir(out)
    try:
        sw = software_model(cfg)
        with cfg.naming_source():  # the recipe's layers meet the model here
            check_layer_overrides(cfg, sw.model)
            name = project_name(cfg, sw.model)
            types = derive(sw.model)
            hls_model = convert(sw.model, cfg, staging, name, types=types)
        depths = apply_fifo_depths(hls_model, sw.model) if cfg.io == "stream" else {}
        hls_model.write()
        drop_hls4ml_leftovers(staging)
        expected = Reference(sw.model).run(sw.images)
        testbench.write_tb_data(staging, sw.images, expected, sw.labels)
        (staging / f"{name}_test.cpp").write_text(testbench.render(hls_model, name, output_lsb(hls_model)))
        from hw.hls.accelerator import write_accelerator  # AXI-Stream top, bridge, accelerator.yaml, vendor Tcl
        write_accelerator(staging, hls_model, name, board, cfg)
        (staging / KERAS_FILE).parent.mkdir(exist_ok=True)
        with warnings.catch_warnings():  # HDF5 on purpose: QKeras models do not load from .keras
            warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")
            sw.model.save(staging / KERAS_FILE)
        if sw.spec_text is not None:
            (staging / SPEC_FILE).write_text(sw.spec_text)
        resolved = resolved_config(cfg, board, sw, hls_model, name, depths)
        ProjectRecord.from_dict(resolved, staging / RESOLVED).save(staging)
        P.assert_relocatable(staging, str(staging.resolve()), str(out.resolve()))
        P.write_manifest(staging)
        design_notes(cfg, sw.model, types, setting_changes(sw.model, hls_model, cfg))
        return Generated(out, P.install(staging, out, force), sw.model, types)
    finally:
        with P.deferred_interrupt():  # a second Ctrl-C must not stop the clean-up half-way
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
                           **({"multiplier": layer.get_attr("multiplier")} if layer.get_attr("multiplier") else {}),
                           **({"fold": layer.get_attr("fold")} if (layer.get_attr("fold") or 1) > 1 else {}),
                           **({"stream_fold": layer.get_attr("stream_fold")} if layer.get_attr("stream_fold") else {}),
                           **({"storage": layer.get_attr("weight_storage")}
                              if layer.get_attr("weight_storage") not in (None, "registers") else {}),
                           "types": {k: str(t.precision) for k, t in layer.types.items()}}
              for layer in hls_model.get_layers()}
    io = {"input_type": str(hls_model.get_input_variables()[0].type.precision),
          "output_type": str(hls_model.get_output_variables()[0].type.precision)}
    build = cfg.to_dict()  # what the model really is, not what was asked (a checkpoint decides)
    build.update(model=sw.model_name or cfg.model, input_shape=[int(v) for v in sw.model.input_shape[1:]],
                 classes=int(sw.model.output_shape[-1]))
    return {"attendnets_project": 1, "project_name": name, "io": io, "build": build,
            "board": {"name": board.name, "part": board.part, "clock_ns": cfg.clock_ns or board.clock_ns},
            "software_model": {**sw.provenance, "file": KERAS_FILE,
                               **({"spec": SPEC_FILE} if sw.spec_text is not None else {}),
                               "input_shape": [int(v) for v in sw.model.input_shape[1:]],
                               "classes": int(sw.model.output_shape[-1])},
            "testbench": {"samples": int(len(sw.images)), "output_lsb": output_lsb(hls_model),
                          "labels": sw.labels is not None},
            "fifo_depths": {k: int(v) for k, v in depths.items()}, "layers": layers,
            "fused_activations": fused_activations(hls_model, sw.model, cfg)}


def fused_activations(hls_model, model, cfg: BuildConfig) -> dict:
    """{'fused': {activation: producer}, 'kept': {activation: why}}, as the hls4ml model has them;
    a disagreement with hw.hls.fuse's rule is a bug, and generation stops on it."""
    fused = {layer.get_attr("fused_activation"): layer.name for layer in hls_model.get_layers()
             if layer.get_attr("fused_activation")}
    expected = fused_pairs(model, cfg.fuse_activations)
    if fused != expected:
        raise RuntimeError(f"hls4ml fused {sorted(fused)} but hw.hls.fuse expected {sorted(expected)}")
    kept = unfused_reasons(model) if cfg.fuse_activations else {a: "fuse_activations is false" for a in
                                                                  fused_pairs(model)}
    return {"fused": fused, "kept": kept}


def load_resolved(project) -> dict:
    """attendnets.yaml of a project (qmodels.project_record: the one record, checked on load), its build
    config checked as a recipe, and keras/model.h5 checked for being an HDF5 file at all, so a damaged
    project fails naming the file and the field, not deep inside."""
    project = Path(project)
    try:
        record = ProjectRecord.load(project)
    except ProjectRecordError as err:
        raise ProjectFileError(str(err)) from None
    BuildConfig.from_dict(record.build, f"{project / RESOLVED}: build")
    _check_hdf5(project / KERAS_FILE)
    return record.to_dict()


def _check_hdf5(path: Path) -> None:
    if not path.is_file():
        raise ProjectFileError(f"{path}: missing (the project's software model); generate the project again")
    with path.open("rb") as f:
        if f.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
            raise ProjectFileError(f"{path}: corrupt, not an HDF5 file; generate the project again")


def load_project_model(project):
    """keras/model.h5 of a project; a damaged file fails naming it."""
    from qmodels.build import load_model

    path = Path(project) / KERAS_FILE
    _check_hdf5(path)
    try:
        return load_model(path)
    except Exception as err:  # h5py and Keras raise OSError, ValueError, KeyError... for a damaged file
        raise ProjectFileError(f"{path}: cannot be loaded ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                               "generate the project again") from None
