"""Where a network's LUT floor goes: the LUTs it needs at every layer's cheapest setting (estimated).

``python -m hw.estimate.floor attendnet-b --board zcu104`` splits the least LUT the planner can
reach into what no reuse factor shares: per-pixel layers and FIFOs (fixed), and, for the layers
with a reuse factor at their cheapest option, the multiply-accumulate, the line buffers, the
rounding and saturation of every output channel (fused activations), and control.  When a plan
says "does not fit at any reuse factor", this says which part of the hardware to fold.
"""
from __future__ import annotations

import argparse

from hw.estimate import plan as P
from hw.estimate.stream_pricing import priced, stream_pricing
from hw.estimate.layers import CONTROL, LayerSetting, buffers, compute, estimate_layer, output_casts
from hw.estimate.network import coefficients, stream_cost
from hw.hls import ops


def lut_floor(design) -> dict:
    """{part: LUTs} of the cheapest-LUT configuration of ``design`` (all scaled as the estimate is),
    its streams folded as those settings allow (hw.estimate.source.fold_streams)."""
    from hw.estimate.source import fold_streams

    scales = coefficients()
    scale = scales["lut_scale"]
    pricing = stream_pricing(design)
    cheapest = {g.name: _cheapest(design, g, pricing, scales) for g in design.geoms if g.kind in P.TUNABLE}
    settings, streams = fold_streams(design.geoms, {**design.settings, **cheapest}, design.streams)
    floor = {"fifos": stream_cost(streams).lut}
    for g in design.geoms:
        setting = settings.get(g.name, LayerSetting())
        if g.kind not in P.TUNABLE:
            est = estimate_layer(g, setting, design.board.family, scales)
            floor[f"fixed {g.kind}"] = floor.get(f"fixed {g.kind}", 0.0) + est.cost.lut
            continue
        mac = compute(g, setting, design.board.family)[1]
        arithmetic = "multiply-accumulate" if ops.op(g.kind).matrix else f"{g.kind}, cheapest setting"
        parts = {arithmetic: mac.lut, "line buffers": buffers(g, setting).lut,
                 "output rounding/saturation": output_casts(g, setting) * g.accum_bits if g.fused else 0.0,
                 "control": CONTROL.lut}
        for name, lut in parts.items():
            floor[name] = floor.get(name, 0.0) + lut * scale
    return floor


def _cheapest(design, g, pricing: dict, scales: dict):
    """The layer's setting of fewest LUTs, priced as the planner prices it (its folded streams)."""
    lut, family = P.RESOURCES.index("lut"), design.board.family
    return min(P.layer_settings(g, family, P.weight_storages(design.board)),
               key=lambda s: priced(g, s, pricing, family, scales)[1][lut])


def main(argv=None) -> int:
    from hw.boards import board_names
    from hw.config import BuildConfig
    from hw.estimate.source import from_config

    parser = argparse.ArgumentParser(prog="python -m hw.estimate.floor", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="built-in model name or spec file")
    parser.add_argument("--board", default="zcu104", choices=board_names())
    args = parser.parse_args(argv)
    try:
        design = from_config(BuildConfig(model=args.model, board=args.board))
    except ValueError as err:  # SpecError, ConfigError, EstimateError: bad input, said in one line
        parser.error(str(err))
    floor = lut_floor(design)
    total = sum(floor.values())
    capacity = design.estimate().capacity["lut"]
    for name, lut in sorted(floor.items(), key=lambda kv: -kv[1]):
        print(f"{name:30s} {lut:10.0f}  {lut / total:6.1%}")
    print(f"{'LUT floor (estimated)':30s} {total:10.0f}  of {capacity} on {args.board} ({total / capacity:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
