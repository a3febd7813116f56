"""Where an estimate's inputs come from: a model and a build recipe, or a generated project.

``from_config(cfg)`` builds the model with the seeded, calibrated weights generation gives it (the
constant products of a layer at reuse 1 cost what their weights' digits cost, so a plan must price
the weights the project will hold; no hls4ml, no g++) and applies the recipe's reuse factors and
strategies the way generation would (hls4ml's closest valid factor for the Resource strategy).
``from_project(dir)`` reads ``attendnets.yaml`` (every layer's reuse, strategy and types, the FIFO
depths, board, clock) and ``keras/model.h5``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from hw.estimate import geometry
from hw.estimate.layers import LayerSetting
from hw.estimate.network import Stream, estimate_network
from hw.estimate.reuse import closest, in_our_kernel, valid_reuse_factors
from hw.hls import ops

CHAIN_DEPTH = 2
RESOLVED = "attendnets.yaml"
KERAS_FILE = "keras/model.h5"


class EstimateError(ValueError):
    """Bad input to the estimator (not a project, unknown layer, bad board); the message says which."""


@dataclass
class Design:
    """Everything the estimator needs; ``settings`` and ``streams`` can be replaced (the planner does)."""
    name: str
    geoms: list
    settings: dict
    streams: list
    board: object
    clock_ns: float
    source: str

    def estimate(self, settings: dict = None):
        settings, streams = fold_streams(self.geoms, settings or self.settings, self.streams)
        est = estimate_network(self.geoms, settings, self.board, self.clock_ns, streams)
        est.notes.append(f"source: {self.source}")
        return est


def fold_streams(geoms: list, settings: dict, streams: list) -> tuple:
    """(settings, streams) with every stream that has one reader folded as its two ends allow
    (hw/hls/ops/stream_fold.py, as generation folds it): a word of C / F channels, and the reader's
    ``in_fold``.  A project's streams come folded as generated (``fold`` set, no reader named)."""
    from hw.hls.ops import stream_fold as rules

    by_name, settings, out = {g.name: g for g in geoms}, dict(settings), []
    branches = rules.branch_layers({g.name: list(g.inputs) for g in geoms})
    for s in streams:
        producer, reader = by_name.get(s.producer), by_name.get(s.reader)
        if producer is None or reader is None or s.fold != 1:
            out.append(s)
            continue
        fold = rules.fold_between(ops.op(producer.kind), fold_of(settings, producer.name), ops.op(reader.kind),
                                  fold_of(settings, reader.name), reader.in_pixels, reader.name in branches)
        out.append(replace(s, bits=s.bits // fold, fold=fold))
        settings[reader.name] = replace(settings.get(reader.name, LayerSetting()), in_fold=fold)
    return settings, out


def fold_of(settings: dict, name: str) -> int:
    """The fold of layer ``name`` in ``settings`` (1 when it has no setting)."""
    setting = settings.get(name)
    return setting.fold if setting is not None else 1


def _width(type_text: str) -> int:
    from qmodels.hls_types import FormatError, parse_type  # the one reader of type strings

    try:
        return parse_type(type_text).width
    except FormatError as err:
        raise EstimateError(f"cannot read a bit width: {err}") from None


def streams_for(geoms: list, model) -> list:
    """The FIFOs generation writes (hw.hls.fifo: branch copies deep enough, every other stream 2)."""
    from hw.hls.fifo import tensor_fifo_depths

    depths = tensor_fifo_depths(model)
    by_name = {g.name: g for g in geoms}
    streams, readers = [], {}
    for g in geoms:
        for src in g.inputs:
            readers[src] = readers.get(src, 0) + 1
    for name, count in readers.items():   # a fork: hls4ml's Clone reads the producer's own stream
        if count > 1 and name in by_name:
            streams.append(Stream(name, CHAIN_DEPTH, by_name[name].channels * by_name[name].result_bits))
    for g in geoms:
        for src in g.inputs:
            producer = by_name.get(src)
            if producer is None:      # the image port: not an internal FIFO
                continue
            key = (src, g.name if not g.name.startswith("zp2d_") else g.name[len("zp2d_"):])
            depth = depths.get(key, CHAIN_DEPTH)
            sole = readers[src] == 1      # a fork's copies are Clone's, whole pixels
            streams.append(Stream(f"{src}->{g.name}", int(depth), producer.channels * producer.result_bits,
                                  producer=src if sole else None, reader=g.name if sole else None))
    return streams


def _setting(g, reuse: int, strategy: str, multiplier: str = None, fold: int = None,
             storage: str = None) -> LayerSetting:
    """Only hls4ml's matrix layers have a strategy; our layers and the per-pixel ones ignore it,
    and only matrix layers and our grouped conv / attention take a reuse factor.  A conv with
    packed DSP products, a fold or its weights in a ROM runs our grouped conv
    (hw/hls/layers/dsp_route.py): latency-like, any reuse factor."""
    multiplier, fold, storage = multiplier or "lut", int(fold or 1), storage or "registers"
    if in_our_kernel(g, multiplier, fold, storage):
        return LayerSetting(reuse, "latency", multiplier, fold, storage)
    if ops.op(g.kind).folded:        # a fold and nothing else (hw/hls/ops/global_average.py)
        return LayerSetting(1, "latency", "lut", fold)
    kernel = ops.op(g.kind).reuse     # whose kernel computes it (hw.hls.ops)
    if kernel == ops.HLS4ML_MATRIX:
        return LayerSetting(reuse, "resource" if strategy.lower() == "resource" else "latency", multiplier)
    return LayerSetting(reuse if kernel == ops.OURS else 1, "latency", multiplier)


def settings_for(geoms: list, cfg) -> dict:
    """Per-layer settings as generation resolves a recipe (a BuildConfig): defaults, per-layer
    overrides, and hls4ml's closest valid reuse factor for the Resource strategy."""
    out = {}
    for g in geoms:
        rf, st = cfg.requested(g.name, "reuse")[0], cfg.requested(g.name, "strategy")[0]
        override = cfg.layers.get(g.name)
        s = _setting(g, rf, st, *(getattr(override, key, None) for key in ("multiplier", "fold", "storage")))
        if s.strategy == "resource":     # hls4ml's kernel: our grouped conv takes every factor
            s.reuse = closest(valid_reuse_factors(g, "resource"), s.reuse)
        out[g.name] = s
    return out


def from_config(cfg, model=None, types: dict | None = None) -> Design:
    """A design from a BuildConfig (hw.config) without generating it: the model as generation builds
    it (seeded and calibrated, or the checkpoint's weights), unless given; ``types`` as
    hw.hls.precision.derive(model) gives, when the caller has them already."""
    from hw.boards import load_board
    from qmodels.build import build_model

    board = load_board(cfg.board)
    if model is None and cfg.weights:  # a trained network is priced with its own weights, as it is generated
        from hw.hls.convert import trained_model

        model = trained_model(cfg)[0]
    elif model is None:
        model = build_model(cfg.model, input_shape=cfg.input_shape, classes=cfg.classes, seed=cfg.seed)
    from hw.hls.fuse import fused_pairs

    pairs = fused_pairs(model, cfg.fuse_activations)
    unfused = geometry.from_model(model, types)
    geoms = geometry.fuse(unfused, pairs)
    settings = settings_for(geoms, cfg)
    return Design(model.name, geoms, settings, fused_streams(streams_for(unfused, model), pairs), board,
                  float(cfg.clock_ns or board.clock_ns), f"model {cfg.model} (not generated)")


def fused_streams(streams: list, pairs: dict) -> list:
    """The FIFOs once each activation of ``pairs`` is fused into its producer: the stream from the
    producer into the activation is gone, and the activation's own streams leave the producer."""
    out = []
    for s in streams:
        src, _, dst = s.name.partition("->")
        if dst in pairs:
            continue
        if not dst:
            out.append(s)
            continue
        producer = pairs.get(s.producer, s.producer)
        out.append(Stream(f"{pairs.get(src, src)}->{dst}", s.depth, s.bits, s.count, producer, s.reader))
    return out


def load_project(project) -> tuple:
    """(resolved config, Keras model) of a generated project, with one clear error otherwise."""
    from qmodels.project_record import ProjectRecord, ProjectRecordError

    project = Path(project)
    resolved = project / RESOLVED
    try:
        config = ProjectRecord.load(project).to_dict()   # checked once, there: file and field named
    except ProjectRecordError as err:
        raise EstimateError(str(err)) from None
    io = (config.get("build") or {}).get("io", "stream")
    if io != "stream":
        raise EstimateError(f"{resolved}: build.io is {io!r}; the estimator models io_stream projects only")
    keras_file = project / config.get("software_model", {}).get("file", KERAS_FILE)
    if not keras_file.exists():
        raise EstimateError(f"{project}: missing {keras_file.name} (the project's model); regenerate the project")
    from hw.hls.convert import load_project_model  # names the file when it is damaged

    return config, load_project_model(project)


def from_project(project) -> Design:
    from hw.boards import load_board

    config, model = load_project(project)
    board = load_board(config["board"]["name"])
    pairs = (config.get("fused_activations") or {}).get("fused") or {}
    geoms = geometry.fuse(geometry.from_model(model), pairs)
    layers = config["layers"]
    settings = {}
    for g in geoms:
        entry = layers.get(g.name) or {}
        types = entry.get("types", {})
        if "result_t" in types:
            g.result_bits = _width(types["result_t"])
        if "accum_t" in types:
            g.accum_bits = _width(types["accum_t"])
        strategy = str(entry.get("strategy") or "latency").lower()
        settings[g.name] = _setting(g, int(entry.get("reuse_factor") or 1), strategy, entry.get("multiplier"),
                                    entry.get("fold"), entry.get("storage"))
    folds = _stream_folds(layers, {g.name: g for g in geoms})
    for g in geoms:      # a reader of a folded stream reads its pixels in that many words
        for src in g.inputs:
            if folds.get(src, 1) > 1:
                settings[g.name] = replace(settings[g.name], in_fold=folds[src])
    return Design(model.name, geoms, settings, project_streams(geoms, config["fifo_depths"], pairs, folds), board,
                  float(config["board"]["clock_ns"]), f"project {Path(project).name} ({RESOLVED})")


def _stream_folds(layers: dict, by_name: dict) -> dict:
    """{producer: F} of the streams generation folded (``layers.NAME.stream_fold``), each checked:
    a word holds C / F of its producer's C channels, so F must divide C."""
    folds = {name: int(entry["stream_fold"]) for name, entry in layers.items() if entry.get("stream_fold")}
    for name, fold in folds.items():
        producer = by_name.get(name)
        if producer is None or producer.channels % fold:
            raise EstimateError(f"{RESOLVED}: layers.{name}.stream_fold is {fold}; expected a divisor of the "
                                + (f"{producer.channels} channels of {name}" if producer else
                                   "channels of a layer the model has (no such layer)"))
    return folds


def project_streams(geoms: list, depths: dict, pairs: dict = None, folds: dict = None) -> list:
    """The project's FIFOs at their written depths; each hls4ml variable named after its producer
    (``X_cpyN``: a copy of X made by hls4ml's Clone; X may be an activation fused into its
    producer, ``pairs``), its word C / F channels where generation folded it (``folds``: {producer: F})."""
    by_name = {g.name: g for g in geoms}
    pairs, folds = pairs or {}, folds or {}
    streams = []
    for var, depth in depths.items():
        base = re.sub(r"_cpy\d+$", "", var)
        producer = by_name.get(pairs.get(base, base))
        if producer is None:
            raise EstimateError(f"fifo_depths: stream {var!r} has no producer among the model's layers")
        fold = folds.get(producer.name, 1) if base == var else 1
        streams.append(Stream(var, int(depth), producer.channels * producer.result_bits // fold, fold=fold))
    return streams
