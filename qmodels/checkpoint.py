"""Checkpoint directories of qmodels networks (the hardware side reads them).

* ``checkpoint.yaml``: format, model name, the spec embedded (with the trained input shape and
  classes), input_shape, classes, seed, epoch (completed, both phases), phase, metrics of the last
  epoch, dataset (name, class names, and for a folder its root and val path), preprocess,
  training options, ``float`` (the float network's epochs, weights file and top-1/top-5, when a
  float phase ran) and, once training ends, the final ``evaluation``;
* ``spec.yaml``: a copy of the embedded spec; ``weights.h5``: the Keras weights of the QKeras
  model (the float latent weights; its quantizers make them 8-bit in the forward pass);
* ``float_weights.h5``: the float network's weights at the end of the float phase;
* ``optimizer.npz``: optimizer state for resuming; ``metrics.csv``: one row per epoch;
* ``from_float`` (in checkpoint.yaml), when QAT started from another checkpoint's float network
  (``train --from-float``): that checkpoint's path as given and its model.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import yaml

from qmodels import spec as S
from qmodels import strict_yaml
from qmodels.build import build_model

FORMAT = "attendnets-checkpoint/1"
CHECKPOINT, SPEC_FILE, WEIGHTS, FLOAT_WEIGHTS, OPTIMIZER, METRICS = (
    "checkpoint.yaml", "spec.yaml", "weights.h5", "float_weights.h5", "optimizer.npz", "metrics.csv")
REQUIRED = ("format", "model", "spec", "input_shape", "classes", "epoch", "dataset")


class CheckpointError(ValueError):
    """A missing or malformed checkpoint; the message names the path."""


def spec_to_dict(spec: S.NetworkSpec) -> dict:
    """The YAML form ``spec.parse_spec`` reads back to an equal spec."""
    kinds = {cls: kind for kind, cls in S.STAGE_KINDS.items()}
    return {"name": spec.name, "description": spec.description, "input_shape": list(spec.input_shape),
            "classes": int(spec.classes), "quantization": dataclasses.asdict(spec.quantization),
            "stages": [{kinds[type(st)]: dataclasses.asdict(st)} for st in spec.stages]}


def read_info(ckpt_dir) -> dict:
    """checkpoint.yaml of a checkpoint directory, checked for the fields every reader needs."""
    ckpt_dir = Path(ckpt_dir).expanduser()
    path = ckpt_dir / CHECKPOINT
    if not ckpt_dir.is_dir():
        raise CheckpointError(f"{ckpt_dir}: no such checkpoint directory")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; {ckpt_dir} is not a checkpoint directory")
    try:
        info = strict_yaml.load(path)
    except yaml.YAMLError as err:
        raise CheckpointError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: expected a mapping, got {type(info).__name__}")
    for key in REQUIRED:
        if key not in info:
            raise CheckpointError(f"{path}: missing field '{key}'")
    if info["format"] != FORMAT:
        raise CheckpointError(f"{path}: field 'format' is {info['format']!r}, this version reads {FORMAT!r}")
    if not isinstance(info["dataset"], dict) or not isinstance(info["dataset"].get("class_names"), list):
        raise CheckpointError(f"{path}: field 'dataset' must be a mapping with a 'class_names' list")
    return info


def _model_with(ckpt_dir: Path, info: dict, file: str, what: str):
    spec = S.parse_spec(info["spec"], source=f"{ckpt_dir / CHECKPOINT}: spec")
    weights = ckpt_dir / file
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing (the {what} of checkpoint {ckpt_dir})")
    model = build_model(spec, seed=int(info.get("seed", 0)), calibrate=False)
    try:
        model.load_weights(str(weights))
    except (ValueError, OSError) as err:
        raise CheckpointError(f"{weights}: cannot load into {spec.name}: {err}") from None
    return model


def load_checkpoint(ckpt_dir):
    """(QKeras model with the trained weights, checkpoint.yaml as a dict).

    The model is rebuilt from the embedded spec (no calibration) and the weights are loaded.
    """
    ckpt_dir = Path(ckpt_dir).expanduser()
    info = read_info(ckpt_dir)
    return _model_with(ckpt_dir, info, str(info.get("weights", WEIGHTS)), "weights"), info


def atomic(path: Path, write) -> None:
    """Write to a sibling then rename, so a crash never leaves a half-written file.

    The sibling keeps the suffix but must not end in '.weights.h5': Keras would write its v3 format.
    """
    tmp = path.with_name(f"{path.stem}.partial{path.suffix}")
    write(tmp)
    tmp.replace(path)


def save_checkpoint(ckpt_dir, model, info: dict, optimizer=None, phase: str = "qat") -> None:
    """Weights, optimizer state and spec copy first, checkpoint.yaml last (it commits the epoch)."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    atomic(ckpt_dir / WEIGHTS, lambda p: model.save_weights(str(p), save_format="h5"))
    if optimizer is not None:
        state = {f"v{i:04d}": v.numpy() for i, v in enumerate(optimizer.variables)}
        atomic(ckpt_dir / OPTIMIZER, lambda p: np.savez(open(p, "wb"), phase=np.array(phase), **state))
    dump = lambda obj: yaml.safe_dump(obj, sort_keys=False, default_flow_style=None)  # noqa: E731
    atomic(ckpt_dir / SPEC_FILE, lambda p: p.write_text(dump(info["spec"])))
    atomic(ckpt_dir / CHECKPOINT, lambda p: p.write_text(dump({**info, "weights": WEIGHTS})))


def restore_optimizer(ckpt_dir: Path, optimizer, phase: str) -> bool:
    path = ckpt_dir / OPTIMIZER
    if not path.is_file():
        return False
    with np.load(path) as saved:
        if str(saved["phase"]) != phase:
            return False
        values = [saved[f"v{i:04d}"] for i in range(len(saved.files) - 1)]
    if [v.shape for v in values] != [tuple(v.shape) for v in optimizer.variables]:
        raise CheckpointError(f"{path}: optimizer state does not match the model; train again with --restart")
    for var, value in zip(optimizer.variables, values):
        var.assign(value)
    return True


def save_float_weights(ckpt_dir, model) -> str:
    """The float network's weights (held, at the end of the float phase, by the QKeras model)."""
    atomic(Path(ckpt_dir) / FLOAT_WEIGHTS, lambda p: model.save_weights(str(p), save_format="h5"))
    return FLOAT_WEIGHTS


def load_float_network(ckpt_dir, info: dict):
    """The float network of a checkpoint (a float twin holding float_weights.h5), or None without one."""
    from qmodels.float_twin import float_twin

    record = info.get("float")
    if not record:
        return None
    file = str(record.get("weights", FLOAT_WEIGHTS))
    return float_twin(_model_with(Path(ckpt_dir).expanduser(), info, file, "float network's weights"))


def _weight_shapes(model) -> list:
    return [(layer.name, [tuple(int(d) for d in w.shape) for w in layer.weights]) for layer in model.layers
            if layer.weights]


def _first_difference(there: list, here: list) -> "str | None":
    for (name_a, shapes_a), (name_b, shapes_b) in zip(there, here):
        if name_a != name_b:
            return f"weighted layer '{name_a}' there is '{name_b}' here"
        if shapes_a != shapes_b:
            return f"layer '{name_a}' has weights of shapes {shapes_a} there and {shapes_b} here"
    if len(there) != len(here):
        return f"{len(there)} weighted layers there, {len(here)} here"
    return None


def float_record(src_dir, info: dict) -> dict:
    """The ``float`` entry of checkpoint SRC_DIR's record INFO (CheckpointError: it has no float network)."""
    record = info.get("float") or {}
    if not record.get("epochs"):
        raise CheckpointError(f"{Path(src_dir) / CHECKPOINT}: holds no float network (it was trained with "
                              "--float-epochs 0), so QAT cannot start from one")
    return record


def load_float_into(src_dir, model) -> dict:
    """Put checkpoint SRC_DIR's float network weights into MODEL; return SRC_DIR's checkpoint.yaml.

    MODEL may come from another spec (other formats, say) but must have the same weighted layers,
    names and shapes; otherwise a CheckpointError names the first layer that differs.
    """
    src_dir = Path(src_dir).expanduser()
    info = read_info(src_dir)
    record = float_record(src_dir, info)
    source = _model_with(src_dir, info, str(record.get("weights", FLOAT_WEIGHTS)), "float network's weights")
    problem = _first_difference(_weight_shapes(source), _weight_shapes(model))
    if problem:
        raise CheckpointError(f"{src_dir}: its float network ({info['model']}) does not fit this run's network: "
                              f"{problem}")
    for layer in source.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return info
