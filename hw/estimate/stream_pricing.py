"""How the planner prices a layer's options when the streams around it may be folded
(hw/hls/ops/stream_fold.py): a stream's fold depends on the settings of both its ends, while the
planner (hw/estimate/plan.py) picks each layer's option on its own.  ``stream_pricing`` gives each
planned layer the input fold it assumes and the FIFO saving it is credited with; plan keeps a plan
priced so only when that plan's own estimate fits.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from hw.estimate.layers import estimate_layer
from hw.estimate.network import RESOURCES, stream_cost
from hw.estimate.source import fold_of
from hw.hls import ops
from hw.hls.ops import stream_fold as rules


def stream_pricing(design, around: dict = None) -> dict:
    """{layer: (in_fold(setting), saving(setting))}: how each tunable layer's options are priced with
    folded streams (hw/hls/ops/stream_fold.py), whose fold depends on both ends.  Each end assumes
    the other at its most foldable: a reader is priced as if its producer wrote a channel a word
    (a folded global average then needs no held word and no select; a folded conv stages its
    pixel), a producer's option is credited with its output FIFO narrowed to its fold, as if its
    reader took every step.  The plan's estimate folds the streams as generation will
    (``source.fold_streams``), and ``plan`` keeps a plan only when that estimate fits.  ``around``: the settings of a plan already made;
    each end then assumes the other at its fold there (a best response to its neighbours)."""
    by_name, in_folds, savings = {g.name: g for g in design.geoms}, {}, {}
    branches = rules.branch_layers({g.name: list(g.inputs) for g in design.geoms})
    for s in design.streams:
        producer, reader = by_name.get(s.producer), by_name.get(s.reader)
        if producer is None or reader is None:
            continue
        p_op, r_op, on_branch = ops.op(producer.kind), ops.op(reader.kind), reader.name in branches
        if around is None:                                                                   # the deepest folds
            most_written, most_read = producer.channels, reader.channels if r_op.folded or r_op.grouped_conv else 1
        else:
            most_written, most_read = fold_of(around, producer.name), fold_of(around, reader.name)
        if r_op.planned and rules.write_fold(p_op, most_written) > 1:
            in_folds[reader.name] = lambda st, r=reader, p_op=p_op, r_op=r_op, w=most_written, b=on_branch: (
                rules.fold_between(p_op, w, r_op, st.fold, r.in_pixels, b))
        if p_op.planned and rules.fold_between(p_op, most_written, r_op, most_read, reader.in_pixels, on_branch) > 1:
            savings[producer.name] = lambda st, r=reader, s=s, p_op=p_op, r_op=r_op, m=most_read, b=on_branch: (
                _narrowed(s, rules.fold_between(p_op, st.fold, r_op, m, r.in_pixels, b)))
    return {g.name: (in_folds.get(g.name, _whole), savings.get(g.name, _no_saving))
            for g in design.geoms if ops.op(g.kind).planned}


def _whole(setting) -> int:
    return 1


def _no_saving(setting) -> np.ndarray:
    return np.zeros(len(RESOURCES))


UNFOLDED = (_whole, _no_saving)      # a layer's pricing without folded streams


def priced(g, setting, pricing: dict, family: str, scales: dict) -> tuple:
    """(cycles, cost[RESOURCES]) of one option of layer ``g``, priced with the streams it lets be
    folded (``pricing``: ``stream_pricing``'s; UNFOLDED for a layer it leaves out)."""
    in_fold, saving = pricing.get(g.name, UNFOLDED)
    est = estimate_layer(g, replace(setting, in_fold=in_fold(setting)), family, scales)
    return est.cycles, np.array([getattr(est.cost, k) for k in RESOURCES]) - saving(setting)


def _narrowed(stream, fold: int) -> np.ndarray:
    """The resources a stream's FIFO frees when its word is C / ``fold`` channels."""
    if fold == 1:
        return _no_saving(None)
    whole, narrow = stream_cost([stream]), stream_cost([replace(stream, bits=stream.bits // fold, fold=fold)])
    return np.array([getattr(whole, k) - getattr(narrow, k) for k in RESOURCES])
