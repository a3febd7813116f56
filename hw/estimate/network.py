"""A whole io_stream pipeline: every layer, its FIFOs, totals, interval, latency, fps, fit on a board.

``estimate_network(geoms, settings, board, clock_ns, fifos)`` is the one entry point; ``fifos`` is a
list of ``Stream`` (a project's depths from attendnets.yaml, or the depths generation would write).
All figures are estimated: post-synthesis (Vivado) resources, HLS cycles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qmodels import strict_yaml

from hw.estimate import RESOURCES  # noqa: F401 (re-exported: the resources of an Estimate)
from hw.estimate import costs as C
from hw.estimate.layers import LayerEstimate, LayerSetting, estimate_layer

UNSCALED = {"lut_scale": 1.0, "ff_scale": 1.0}
# Written by hw.estimate.calibration_fit (which prices its designs with this module), read here
ERRORS_FILE = Path(__file__).with_name("calibration_errors.yaml")


def load_errors() -> dict:
    """The measured calibration errors (ERRORS_FILE); {} when it has not been written."""
    return strict_yaml.load(ERRORS_FILE) if ERRORS_FILE.exists() else {}


def coefficients() -> dict:
    """The LUT and FF scales fitted by hw.estimate.calibration_fit (calibration_errors.yaml)."""
    return {**UNSCALED, **load_errors().get("coefficients", {})}


@dataclass
class Stream:
    """One hls::stream between two processes: ``count`` FIFOs of depth x bits each.  ``producer`` and
    ``reader`` name its two processes where it has one reader (a stream that may be folded,
    hw/hls/ops/stream_fold.py); ``fold``: words a pixel takes (``bits`` is a word's)."""
    name: str
    depth: int
    bits: int
    count: int = 1
    producer: str = None
    reader: str = None
    fold: int = 1


@dataclass
class Estimate:
    board: str
    family: str
    clock_ns: float
    layers: list
    fifo_cost: C.Cost
    streams: list
    capacity: dict                      # the board's {dsp, lut, ff, bram18, uram}
    macs: int
    source: str = "estimated"
    notes: list = field(default_factory=list)
    multipliers: dict = field(default_factory=dict)   # what the board can multiply per clock (multiply_capacity)

    @property
    def totals(self) -> dict:
        total = self.fifo_cost
        for layer in self.layers:
            total = total + layer.cost
        return {k: round(v) for k, v in total.as_dict().items()}

    @property
    def utilization(self) -> dict:
        totals = self.totals
        return {k: (totals[k] / self.capacity[k] if self.capacity[k] else (0.0 if totals[k] == 0 else float("inf")))
                for k in RESOURCES}

    def over(self, budget: float = 1.0) -> dict:
        """{resource: amount over budget x capacity} for every resource that does not fit."""
        totals = self.totals
        return {k: totals[k] - budget * self.capacity[k] for k in RESOURCES if totals[k] > budget * self.capacity[k]}

    @property
    def fits(self) -> bool:
        return not self.over(1.0)

    @property
    def bottleneck(self) -> LayerEstimate:
        return max(self.layers, key=lambda layer: (layer.cycles, layer.name))

    @property
    def interval_cycles(self) -> int:
        """Dataflow: a new image every (slowest process) + 1 clocks."""
        return self.bottleneck.cycles + 1

    @property
    def latency_cycles(self) -> int:
        """The slowest process, plus the time the last pixel spends in every other process."""
        slow = self.bottleneck
        rest = sum(layer.cycles if layer.iterations <= 1 else layer.depth for layer in self.layers if layer is not slow)
        return slow.cycles + rest

    @property
    def fps(self) -> float:
        return 1e9 / (self.clock_ns * self.interval_cycles)

    @property
    def physical_limit_fps(self) -> float:
        """Every multiplier the board can hold busy every clock: (DSPs x products per DSP + LUT
        multipliers) x clock / mult-adds (``multiply_capacity``); no plan can exceed it."""
        per_clock = self.multipliers.get("per_clock", self.capacity["dsp"])
        return per_clock * 1e9 / self.clock_ns / self.macs if self.macs else float("inf")

    def as_dict(self) -> dict:
        over = self.over(1.0)
        return {"board": self.board, "source": self.source, "clock_ns": self.clock_ns, "totals": self.totals,
                "capacity": self.capacity, "utilization": {k: round(v, 4) for k, v in self.utilization.items()},
                "fits": self.fits, "short": {k: round(v) for k, v in over.items()},
                "bottleneck": self.bottleneck.name, "latency_cycles": self.latency_cycles,
                "interval_cycles": self.interval_cycles, "fps": round(self.fps, 2), "macs": self.macs,
                "physical_limit_fps": round(self.physical_limit_fps, 2), "multiply_capacity": self.multipliers,
                "ratio_to_physical_limit": round(self.fps / self.physical_limit_fps, 4),
                "fifos": {"count": sum(s.count for s in self.streams), **{k: round(v, 1) for k, v in
                                                                            self.fifo_cost.as_dict().items()}},
                "layers": [layer.as_dict() for layer in self.layers], "notes": self.notes}


def board_capacity(board) -> dict:
    r = board.resources
    return {"dsp": r["dsp"], "lut": r["lut"], "ff": r["ff"], "bram18": 2 * r["bram36"], "uram": r["uram"]}


def stream_cost(streams: list) -> C.Cost:
    total = C.Cost()
    for s in streams:
        total = total + C.fifo(s.depth, s.bits).scaled(s.count)
    return total


def multiply_capacity(geoms: list, board, scales: dict) -> dict:
    """Products the whole board could make per clock for this network: every DSP busy (two
    products each where the narrowest operands pack exactly on its DSP, nnet_dsp_pack.h) plus
    every LUT spent on fabric multipliers at the estimator's own price for them (lut_multiplier,
    scaled as the layers are).  The narrowest operands give the most multipliers: an upper bound."""
    from hw.estimate.reuse import dsp_family
    from hw.hls.ops.group_conv import packing_exact

    cap = board_capacity(board)
    matrix = [g for g in geoms if g.macs]
    if not matrix:
        return {"dsp": cap["dsp"], "per_dsp": 1, "lut": 0, "per_clock": cap["dsp"]}
    g = min(matrix, key=lambda g: (g.data_bits * g.weight_bits, not g.data_signed))
    per_dsp = 2 if packing_exact(dsp_family(board.family), g.data_bits, g.data_signed, g.weight_bits) else 1
    lut_mults = int(cap["lut"] // (C.lut_multiplier(g.data_bits, g.weight_bits) * scales["lut_scale"]))
    return {"dsp": cap["dsp"], "per_dsp": per_dsp, "lut": lut_mults, "operands": [g.data_bits, g.weight_bits],
            "per_clock": cap["dsp"] * per_dsp + lut_mults}


def estimate_network(geoms: list, settings: dict, board, clock_ns: float, streams: list,
                     scales: dict = None) -> Estimate:
    """``settings``: {layer name: LayerSetting}; layers not named get LayerSetting().  ``scales``:
    the LUT/FF scales (default: the fitted ones)."""
    k = {**UNSCALED, **(scales if scales is not None else coefficients())}
    layers = []
    for g in geoms:
        layers.append(estimate_layer(g, settings.get(g.name, LayerSetting()), board.family, k))
    return Estimate(board.name, board.family, clock_ns, layers, stream_cost(streams), streams,
                    board_capacity(board), sum(g.macs for g in geoms),
                    multipliers=multiply_capacity(geoms, board, k))
